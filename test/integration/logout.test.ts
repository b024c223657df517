// POST /logout: scopes local/others/global, the credentials it takes, idempotency, and immediate revocation.
import request from 'supertest';
import type { AuthApp } from '../../src/app';
import { buildTestApp } from '../helpers/build-app';
import { bearer, expectError, login, PASSWORD, registerAndLogin, type TokenResponseBody } from '../helpers/fixtures';

const REVOKED = 'Bearer realm="auth", error="invalid_token", error_description="token revoked"';

function logout(app: AuthApp, body: Record<string, unknown>, accessToken?: string) {
  const req = request(app).post('/logout');
  if (accessToken) req.set(...bearer(accessToken));
  return req.send(body);
}

async function isLive(app: AuthApp, tokens: TokenResponseBody): Promise<boolean> {
  const res = await request(app).get('/profile').set(...bearer(tokens.access_token));
  return res.status === 200;
}

/** Which of these sessions still work, in order. */
function liveness(app: AuthApp, sessions: TokenResponseBody[]): Promise<boolean[]> {
  return Promise.all(sessions.map((tokens) => isLive(app, tokens)));
}

/** Three sessions of one user, and one session of somebody else. */
async function setup() {
  const built = buildTestApp();
  const { app } = built;
  const { email, tokens: a } = await registerAndLogin(app);
  const b = await login(app, email);
  const c = await login(app, email);
  const { tokens: stranger } = await registerAndLogin(app);
  return { ...built, a, b, c, stranger };
}

function expectNoContent(res: request.Response) {
  expect(res.status).toBe(204);
  expect(res.text).toBe('');
  expect(res.headers['cache-control']).toBe('no-store');
}

describe('POST /logout', () => {
  it('ends only the presented session by default (scope local)', async () => {
    const { app, a, b, c, stranger } = await setup();
    expectNoContent(await logout(app, { refresh_token: a.refresh_token }));

    expect(await liveness(app, [a, b, c, stranger])).toEqual([false, true, true, true]);
    expectError(await request(app).post('/refresh').send({ refresh_token: a.refresh_token }), 401, 'invalid_grant');
  });

  it('with scope "others" ends every other session of the user and keeps this one', async () => {
    const { app, a, b, c, stranger } = await setup();
    expectNoContent(await logout(app, { refresh_token: a.refresh_token, scope: 'others' }));

    expect(await liveness(app, [a, b, c, stranger])).toEqual([true, false, false, true]);
    expect((await request(app).post('/refresh').send({ refresh_token: a.refresh_token })).status).toBe(200);
  });

  it('with scope "global" ends every session of the user and nobody else\'s', async () => {
    const { app, a, b, c, stranger } = await setup();
    expectNoContent(await logout(app, { refresh_token: b.refresh_token, scope: 'global' }));

    expect(await liveness(app, [a, b, c, stranger])).toEqual([false, false, false, true]);
  });

  it('rejects the refresh token and every access token of the session at once', async () => {
    const { app, a } = await setup();
    const refreshed = await request(app).post('/refresh').send({ refresh_token: a.refresh_token });
    const rotated = refreshed.body as TokenResponseBody;
    expectNoContent(await logout(app, { refresh_token: rotated.refresh_token }));

    for (const accessToken of [a.access_token, rotated.access_token]) {
      const res = await request(app).get('/sessions').set(...bearer(accessToken));
      expect(expectError(res, 401, 'invalid_token').error_description).toBe('token revoked');
      expect(res.headers['www-authenticate']).toBe(REVOKED);
    }
    for (const refreshToken of [rotated.refresh_token, a.refresh_token]) {
      expectError(await request(app).post('/refresh').send({ refresh_token: refreshToken }), 401, 'invalid_grant');
    }
  });

  it('logs out with only a Bearer access token, in any scope', async () => {
    const { app, a, b, c, stranger } = await setup();
    expectNoContent(await logout(app, {}, a.access_token));
    expect(await liveness(app, [a, b, c, stranger])).toEqual([false, true, true, true]);
    expectError(await request(app).post('/refresh').send({ refresh_token: a.refresh_token }), 401, 'invalid_grant');

    expectNoContent(await logout(app, { scope: 'others' }, b.access_token));
    expect(await liveness(app, [b, c, stranger])).toEqual([true, false, true]);
  });

  it('accepts a refresh token and an access token of the same session together', async () => {
    const { app, a, b } = await setup();
    expectNoContent(await logout(app, { refresh_token: a.refresh_token }, a.access_token));
    expect(await liveness(app, [a, b])).toEqual([false, true]);
  });

  it('refuses a refresh token and an access token of different sessions with 400, ending neither', async () => {
    const { app, a, b } = await setup();
    const res = await logout(app, { refresh_token: a.refresh_token, scope: 'global' }, b.access_token);

    expectError(res, 400, 'invalid_request');
    expect(await liveness(app, [a, b])).toEqual([true, true]);
  });

  it('is idempotent: logging out an ended session again answers 204', async () => {
    const { app, a } = await setup();
    expectNoContent(await logout(app, { refresh_token: a.refresh_token }));
    expectNoContent(await logout(app, { refresh_token: a.refresh_token }));
    expectNoContent(await logout(app, {}, a.access_token));
  });

  it('answers 204 and changes nothing for a token of an ended session, even in scope others or global', async () => {
    const { app, a, b, c } = await setup();
    expectNoContent(await logout(app, { refresh_token: a.refresh_token }));

    expectNoContent(await logout(app, { refresh_token: a.refresh_token, scope: 'global' }));
    expectNoContent(await logout(app, { scope: 'others' }, a.access_token));
    expect(await liveness(app, [b, c])).toEqual([true, true]);
  });

  it('answers 204 to a genuine refresh token whose session has expired, and ends no newer session', async () => {
    const { app, clock, a } = await setup();
    clock.advanceSeconds(604800);
    const fresh = await login(app, a.user.email);
    expectNoContent(await logout(app, { refresh_token: a.refresh_token, scope: 'global' }));
    expect(await isLive(app, fresh)).toBe(true);
  });

  it('answers 401 unauthorized with the realm-only challenge when given no credential', async () => {
    const { app, a } = await setup();
    for (const res of [
      await request(app).post('/logout'),
      await logout(app, {}),
      await logout(app, { scope: 'global' }),
    ]) {
      expectError(res, 401, 'unauthorized');
      expect(res.headers['www-authenticate']).toBe('Bearer realm="auth"');
    }
    expect(await isLive(app, a)).toBe(true);
  });

  it('answers 401 "token expired" to an expired access token and ends nothing', async () => {
    const { app, clock, a } = await setup();
    clock.advanceSeconds(900);
    const res = await logout(app, {}, a.access_token);

    expect(expectError(res, 401, 'invalid_token').error_description).toBe('token expired');
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="auth", error="invalid_token", error_description="token expired"',
    );
    expect((await request(app).post('/refresh').send({ refresh_token: a.refresh_token })).status).toBe(200);
  });

  it('answers 401 invalid_grant to a refresh token that is not ours', async () => {
    const { app, a } = await setup();
    expectError(await logout(app, { refresh_token: a.access_token }), 401, 'invalid_grant');
    expect(await isLive(app, a)).toBe(true);
  });

  it('refuses an unknown scope with 400 naming the field', async () => {
    const { app, a } = await setup();
    const res = await logout(app, { refresh_token: a.refresh_token, scope: 'everything' });
    const body = expectError(res, 400, 'invalid_request');
    expect(body.details).toEqual([{ path: 'scope', message: expect.any(String) }]);
    expect(await isLive(app, a)).toBe(true);
  });

  describe('in cookie mode', () => {
    async function cookieLogin(app: AuthApp, email: string) {
      const res = await request(app).post('/login').set('X-Token-Mode', 'cookie').send({ email, password: PASSWORD });
      const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
      const cookie = cookies.find((line) => line.startsWith('__Host-refresh_token='))!;
      return { tokens: res.body as TokenResponseBody, cookie: cookie.split(';')[0]! };
    }

    it('ends the session from the cookie and clears it with Max-Age=0', async () => {
      const { app } = buildTestApp();
      const { email } = await registerAndLogin(app);
      const { tokens, cookie } = await cookieLogin(app, email);
      const res = await request(app).post('/logout').set('X-Token-Mode', 'cookie').set('Cookie', cookie);

      expectNoContent(res);
      const cleared = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
      expect(cleared).toEqual([expect.stringMatching(/^__Host-refresh_token=;.*Max-Age=0/)]);
      expect(await isLive(app, tokens)).toBe(false);
    });

    it('ignores the cookie without the X-Token-Mode header', async () => {
      const { app } = buildTestApp();
      const { email } = await registerAndLogin(app);
      const { tokens, cookie } = await cookieLogin(app, email);
      const res = await request(app).post('/logout').set('Cookie', cookie);

      expectError(res, 401, 'unauthorized');
      expect(await isLive(app, tokens)).toBe(true);
    });
  });
});

describe('POST /logout with a rotated-out refresh token', () => {
  it('treats it as reuse: ends that session only, even with scope "global", and logs the replay', async () => {
    const { app, clock, logs, a, b, c, stranger } = await setup();
    const rotated = await request(app).post('/refresh').send({ refresh_token: a.refresh_token });
    expect(rotated.status).toBe(200);
    clock.advanceSeconds(11);

    expectNoContent(await logout(app, { refresh_token: a.refresh_token, scope: 'global' }));

    const rotatedTokens = rotated.body as TokenResponseBody;
    expect(await liveness(app, [rotatedTokens, b, c, stranger])).toEqual([false, true, true, true]);
    expect(logs.some((line) => line.includes('refresh token reuse detected at logout'))).toBe(true);
  });

  it('within the grace window still acts for its session, as its successor would', async () => {
    const { app, clock, a, b, c } = await setup();
    const rotated = await request(app).post('/refresh').send({ refresh_token: a.refresh_token });
    clock.advanceSeconds(5);

    expectNoContent(await logout(app, { refresh_token: a.refresh_token, scope: 'others' }));

    expect(await liveness(app, [rotated.body as TokenResponseBody, b, c])).toEqual([true, false, false]);
  });
});
