// POST /refresh: rotation, the grace window, reuse detection, concurrent refreshes and the absolute session lifetime.
import request from 'supertest';
import type { AuthApp } from '../../src/app';
import { buildTestApp } from '../helpers/build-app';
import { bearer, decodeJwt, expectError, login, registerAndLogin, type TokenResponseBody } from '../helpers/fixtures';

const WEEK = 604800;
const REVOKED = 'Bearer realm="auth", error="invalid_token", error_description="token revoked"';

function refresh(app: AuthApp, refreshToken: string) {
  return request(app).post('/refresh').send({ refresh_token: refreshToken });
}

async function refreshed(app: AuthApp, refreshToken: string): Promise<TokenResponseBody> {
  const res = await refresh(app, refreshToken);
  expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: expect.anything() });
  return res.body as TokenResponseBody;
}

function profile(app: AuthApp, accessToken: string) {
  return request(app).get('/profile').set(...bearer(accessToken));
}

async function expectRevoked(app: AuthApp, accessToken: string) {
  const res = await profile(app, accessToken);
  const body = expectError(res, 401, 'invalid_token');
  expect(body.error_description).toBe('token revoked');
  expect(res.headers['www-authenticate']).toBe(REVOKED);
}

describe('POST /refresh', () => {
  it('rotates: a new TokenResponse with a different refresh token and a working access token', async () => {
    const { app, clock } = buildTestApp();
    const { user, tokens } = await registerAndLogin(app);
    clock.advanceSeconds(60);
    const res = await refresh(app, tokens.refresh_token);

    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const now = Math.floor(clock.now() / 1000);
    expect(res.body).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 900,
      expires_at: now + 900,
      refresh_token: expect.any(String),
      refresh_expires_in: WEEK - 60,
      user,
    });
    expect(res.body.refresh_token).not.toBe(tokens.refresh_token);
    expect(res.body.access_token).not.toBe(tokens.access_token);
    expect(decodeJwt(res.body.refresh_token).payload.sid).toBe(decodeJwt(tokens.refresh_token).payload.sid);
    expect((await profile(app, res.body.access_token)).status).toBe(200);
  });

  it('refuses the rotated-out token once the grace window has passed', async () => {
    const { app, clock } = buildTestApp();
    const { tokens } = await registerAndLogin(app);
    await refreshed(app, tokens.refresh_token);
    clock.advanceSeconds(11);

    expectError(await refresh(app, tokens.refresh_token), 401, 'invalid_grant');
  });

  it('refuses the rotated-out token at once when REFRESH_REUSE_GRACE is 0', async () => {
    const { app } = buildTestApp({ env: { REFRESH_REUSE_GRACE: '0' } });
    const { tokens } = await registerAndLogin(app);
    await refreshed(app, tokens.refresh_token);

    expectError(await refresh(app, tokens.refresh_token), 401, 'invalid_grant');
  });

  it('answers a replay within the grace window with the identical successor and a fresh access token', async () => {
    const { app, clock } = buildTestApp();
    const { tokens } = await registerAndLogin(app);
    const first = await refreshed(app, tokens.refresh_token);
    clock.advanceSeconds(9);
    const replay = await refreshed(app, tokens.refresh_token);

    expect(replay.refresh_token).toBe(first.refresh_token);
    expect(replay.access_token).not.toBe(first.access_token);
    expect(replay.refresh_expires_in).toBe(first.refresh_expires_in - 9);
    expect((await profile(app, replay.access_token)).status).toBe(200);
    expect((await profile(app, first.access_token)).status).toBe(200);
    // The session goes on: the successor rotates as usual.
    const next = await refreshed(app, first.refresh_token);
    expect((await profile(app, next.access_token)).status).toBe(200);
  });

  it('treats a token two rotations old as reuse even within the grace window, and ends the session', async () => {
    const { app, clock } = buildTestApp();
    const { tokens } = await registerAndLogin(app);
    const first = await refreshed(app, tokens.refresh_token);
    clock.advanceSeconds(1);
    const second = await refreshed(app, first.refresh_token);
    clock.advanceSeconds(1);

    expectError(await refresh(app, tokens.refresh_token), 401, 'invalid_grant');
    await expectRevoked(app, second.access_token);
    expectError(await refresh(app, second.refresh_token), 401, 'invalid_grant');
  });

  it("rejects a refresh token reused after rotation and ends the session, not the user's others", async () => {
    const { app, clock } = buildTestApp();
    const { email, tokens } = await registerAndLogin(app);
    const other = await login(app, email);
    const successor = await refreshed(app, tokens.refresh_token);
    clock.advanceSeconds(11);

    expectError(await refresh(app, tokens.refresh_token), 401, 'invalid_grant');
    await expectRevoked(app, successor.access_token);
    await expectRevoked(app, tokens.access_token);
    expectError(await refresh(app, successor.refresh_token), 401, 'invalid_grant');
    expect((await profile(app, other.access_token)).status).toBe(200);
    expect((await refresh(app, other.refresh_token)).status).toBe(200);
  });

  it('gives 20 parallel refreshes with one token exactly one successor, and the session stays usable', async () => {
    const { app } = buildTestApp();
    const { tokens } = await registerAndLogin(app);
    const answers = await Promise.all(Array.from({ length: 20 }, () => refresh(app, tokens.refresh_token)));

    expect(answers.map((res) => res.status)).toEqual(Array(20).fill(200));
    const successors = new Set(answers.map((res) => res.body.refresh_token as string));
    expect(successors.size).toBe(1);
    const [successor] = [...successors];
    expect(successor).not.toBe(tokens.refresh_token);
    for (const res of answers) expect((await profile(app, res.body.access_token)).status).toBe(200);
    const next = await refreshed(app, successor!);
    expect((await profile(app, next.access_token)).status).toBe(200);
  });

  it('never extends the session past login plus REFRESH_TOKEN_TTL, however often it rotates', async () => {
    const { app, clock } = buildTestApp();
    const { tokens } = await registerAndLogin(app);
    const sessionEnd = Math.floor(clock.now() / 1000) + WEEK;
    let current = tokens;
    let elapsed = 0;
    for (const step of [2 * 86400, 2 * 86400, 2 * 86400, 86400 - 100]) {
      clock.advanceSeconds(step);
      elapsed += step;
      current = await refreshed(app, current.refresh_token);
      expect(current.refresh_expires_in).toBe(WEEK - elapsed);
      expect(decodeJwt(current.refresh_token).payload.exp).toBe(sessionEnd);
      expect(decodeJwt(current.access_token).payload.exp as number).toBeLessThanOrEqual(sessionEnd);
    }
    // 100 s before the end the access token is cut short to the session's end.
    expect(current.expires_in).toBe(100);
    expect(current.expires_at).toBe(sessionEnd);
    expect(decodeJwt(current.access_token).payload.exp).toBe(sessionEnd);

    clock.advanceSeconds(100);
    expectError(await refresh(app, current.refresh_token), 401, 'invalid_grant');
    const late = await profile(app, current.access_token);
    expectError(late, 401, 'invalid_token');
  });

  it('answers 401 "token expired" to an expired access token, after which a refresh gives a working one', async () => {
    const { app, clock } = buildTestApp();
    const { tokens } = await registerAndLogin(app);
    clock.advanceSeconds(899);
    expect((await profile(app, tokens.access_token)).status).toBe(200);
    clock.advanceSeconds(1);

    const expired = await profile(app, tokens.access_token);
    const body = expectError(expired, 401, 'invalid_token');
    expect(body.error_description).toBe('token expired');
    expect(expired.headers['www-authenticate']).toBe(
      'Bearer realm="auth", error="invalid_token", error_description="token expired"',
    );
    const next = await refreshed(app, tokens.refresh_token);
    expect((await profile(app, next.access_token)).status).toBe(200);
  });

  it('answers 401 invalid_grant without a refresh token, or with one that is not ours', async () => {
    const { app } = buildTestApp();
    const { tokens } = await registerAndLogin(app);
    const [head, payload] = tokens.refresh_token.split('.');

    expectError(await request(app).post('/refresh').send({}), 401, 'invalid_grant');
    expectError(await request(app).post('/refresh'), 401, 'invalid_grant');
    expectError(await refresh(app, 'not-a-token'), 401, 'invalid_grant');
    expectError(await refresh(app, `${head}.${payload}.${'A'.repeat(43)}`), 401, 'invalid_grant');
  });
});

describe('SESSION_IDLE_TIMEOUT', () => {
  const IDLE_SEC = 3600;

  it('ends a session not refreshed for the timeout: its refresh is 401 invalid_grant, and it leaves the session list', async () => {
    const { app, clock } = buildTestApp({ env: { SESSION_IDLE_TIMEOUT: '1h' } });
    const { email, tokens } = await registerAndLogin(app);
    clock.advanceSeconds(IDLE_SEC);
    const other = await login(app, email);

    const listed = await request(app).get('/sessions').set(...bearer(other.access_token));
    expect(listed.status).toBe(200);
    expect(listed.body.sessions).toHaveLength(1);
    const res = await refresh(app, tokens.refresh_token);
    const body = expectError(res, 401, 'invalid_grant');
    expect(body.error_description).toBe('The session has ended after a period of inactivity; log in again.');
    // Ended, not merely refused: the same token stays refused, now as a session that has ended.
    expect(expectError(await refresh(app, tokens.refresh_token), 401, 'invalid_grant').error_description).toBe(
      'The session has ended; log in again.',
    );
  });

  it('keeps a session refreshed within the timeout, each refresh starting its idle time again', async () => {
    const { app, clock } = buildTestApp({ env: { SESSION_IDLE_TIMEOUT: '1h' } });
    const { tokens } = await registerAndLogin(app);
    let current = tokens;
    for (let i = 0; i < 3; i += 1) {
      clock.advanceSeconds(IDLE_SEC - 1);
      current = await refreshed(app, current.refresh_token);
    }
    expect((await profile(app, current.access_token)).status).toBe(200);
  });

  it('is off by default: a session idle for six days still refreshes', async () => {
    const { app, clock } = buildTestApp();
    const { tokens } = await registerAndLogin(app);
    clock.advanceSeconds(6 * 86_400);
    await refreshed(app, tokens.refresh_token);
  });
});

