// GET /sessions and DELETE /sessions/:id: a user sees and ends their own live sessions, and only theirs.
import request from 'supertest';
import type { AuthApp } from '../../src/app';
import { buildTestApp } from '../helpers/build-app';
import { bearer, decodeJwt, expectError, login, registerAndLogin, type TokenResponseBody } from '../helpers/fixtures';

const REVOKED = 'Bearer realm="auth", error="invalid_token", error_description="token revoked"';
const LOOPBACK = /^(::ffff:)?127\.0\.0\.1$|^::1$/;

const sidOf = (tokens: TokenResponseBody) => decodeJwt(tokens.access_token).payload.sid as string;
const iso = (ms: number) => new Date(ms).toISOString();

function listSessions(app: AuthApp, tokens: TokenResponseBody) {
  return request(app).get('/sessions').set(...bearer(tokens.access_token));
}

function endSession(app: AuthApp, tokens: TokenResponseBody, id: string) {
  return request(app).delete(`/sessions/${encodeURIComponent(id)}`).set(...bearer(tokens.access_token));
}

async function expectRevoked(app: AuthApp, tokens: TokenResponseBody) {
  const res = await request(app).get('/profile').set(...bearer(tokens.access_token));
  expect(expectError(res, 401, 'invalid_token').error_description).toBe('token revoked');
  expect(res.headers['www-authenticate']).toBe(REVOKED);
  expectError(await request(app).post('/refresh').send({ refresh_token: tokens.refresh_token }), 401, 'invalid_grant');
}

/** A user with a phone session and, a minute later, a laptop session; and a stranger's session. */
async function setup() {
  const built = buildTestApp();
  const { app, clock } = built;
  const { email, tokens: phone } = await registerAndLogin(app);
  const phoneAt = clock.now();
  clock.advanceSeconds(60);
  const laptop = await login(app, email, undefined, 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0');
  const laptopAt = clock.now();
  const { tokens: stranger } = await registerAndLogin(app);
  return { ...built, email, phone, phoneAt, laptop, laptopAt, stranger };
}

describe('GET /sessions', () => {
  it("lists the caller's live sessions, oldest first, with only the caller's marked current", async () => {
    const { app, phone, phoneAt, laptop, laptopAt } = await setup();
    const res = await listSessions(app, laptop);

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({
      sessions: [
        {
          id: sidOf(phone),
          created_at: iso(phoneAt),
          last_used_at: iso(phoneAt),
          expires_at: iso(phoneAt + 604800_000),
          user_agent: 'jest',
          ip: expect.stringMatching(LOOPBACK),
          current: false,
        },
        {
          id: sidOf(laptop),
          created_at: iso(laptopAt),
          last_used_at: iso(laptopAt),
          expires_at: iso(laptopAt + 604800_000),
          user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0',
          ip: expect.stringMatching(LOOPBACK),
          current: true,
        },
      ],
    });
  });

  it("leaves out other users' sessions and ended sessions", async () => {
    const { app, email, phone, laptop, stranger } = await setup();
    const ended = await login(app, email);
    expect((await request(app).post('/logout').send({ refresh_token: ended.refresh_token })).status).toBe(204);

    const ids = (await listSessions(app, phone)).body.sessions.map((s: { id: string }) => s.id);
    expect(ids).toEqual([sidOf(phone), sidOf(laptop)]);
    const theirs = (await listSessions(app, stranger)).body.sessions.map((s: { id: string }) => s.id);
    expect(theirs).toEqual([sidOf(stranger)]);
  });

  it('moves last_used_at when the session refreshes, and keeps expires_at', async () => {
    const { app, clock, phone, phoneAt } = await setup();
    clock.advanceSeconds(300);
    const rotated = await request(app).post('/refresh').send({ refresh_token: phone.refresh_token });
    expect(rotated.status).toBe(200);

    const mine = (await listSessions(app, rotated.body)).body.sessions[0];
    expect(mine).toMatchObject({
      id: sidOf(phone),
      created_at: iso(phoneAt),
      last_used_at: iso(clock.now()),
      expires_at: iso(phoneAt + 604800_000),
      current: true,
    });
  });

  it('needs a Bearer access token', async () => {
    const { app } = buildTestApp();
    const res = await request(app).get('/sessions');
    expectError(res, 401, 'unauthorized');
    expect(res.headers['www-authenticate']).toBe('Bearer realm="auth"');
  });
});

describe('DELETE /sessions/:id', () => {
  it('ends one of the caller\'s other sessions: its tokens are rejected, the caller\'s still work', async () => {
    const { app, phone, laptop } = await setup();
    const res = await endSession(app, laptop, sidOf(phone));

    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    await expectRevoked(app, phone);
    const left = (await listSessions(app, laptop)).body.sessions.map((s: { id: string }) => s.id);
    expect(left).toEqual([sidOf(laptop)]);
  });

  it('ends the current session too', async () => {
    const { app, phone, laptop } = await setup();
    expect((await endSession(app, laptop, sidOf(laptop))).status).toBe(204);

    await expectRevoked(app, laptop);
    expect((await listSessions(app, phone)).status).toBe(200);
  });

  it("answers 404 not_found for another user's session and leaves it alive", async () => {
    const { app, laptop, stranger } = await setup();
    const res = await endSession(app, laptop, sidOf(stranger));

    expectError(res, 404, 'not_found');
    expect((await listSessions(app, stranger)).status).toBe(200);
    expect((await request(app).post('/refresh').send({ refresh_token: stranger.refresh_token })).status).toBe(200);
  });

  it('answers 404 not_found for an unknown or already ended session', async () => {
    const { app, phone, laptop } = await setup();
    expectError(await endSession(app, laptop, 'no-such-session'), 404, 'not_found');
    expect((await endSession(app, laptop, sidOf(phone))).status).toBe(204);
    expectError(await endSession(app, laptop, sidOf(phone)), 404, 'not_found');
  });

  it('needs a Bearer access token of a live session', async () => {
    const { app, phone, laptop } = await setup();
    expect((await endSession(app, laptop, sidOf(laptop))).status).toBe(204);

    const res = await endSession(app, laptop, sidOf(phone));
    expectError(res, 401, 'invalid_token');
    expect(res.headers['www-authenticate']).toBe(REVOKED);
    expect((await listSessions(app, phone)).status).toBe(200);
  });
});
