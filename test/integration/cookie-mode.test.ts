// Cookie mode (X-Token-Mode: cookie): the refresh token in a __Host- HttpOnly cookie, used only with the header, never one of two, cleared on logout.
import request from 'supertest';
import type { AuthApp } from '../../src/app';
import { buildTestApp } from '../helpers/build-app';
import { bearer, decodeJwt, expectError, login, PASSWORD, register } from '../helpers/fixtures';
import { rawRequest } from '../helpers/raw-http';

const COOKIE = '__Host-refresh_token';

interface SetCookie {
  name: string;
  value: string;
  attributes: Record<string, string | true>;
}

/** The Set-Cookie headers of a response, each split into name, value and attributes. */
function setCookies(res: request.Response): SetCookie[] {
  const raw = res.headers['set-cookie'] as unknown as string[] | undefined;
  return (raw ?? []).map((line) => {
    const [pair, ...rest] = line.split(/;\s*/);
    const separator = pair!.indexOf('=');
    const attributes: Record<string, string | true> = {};
    for (const part of rest) {
      const at = part.indexOf('=');
      if (at === -1) attributes[part] = true;
      else attributes[part.slice(0, at)] = part.slice(at + 1);
    }
    return { name: pair!.slice(0, separator), value: pair!.slice(separator + 1), attributes };
  });
}

/** The one __Host-refresh_token cookie of a response, with exactly the contract's attributes (no Domain). */
function expectRefreshCookie(res: request.Response, maxAge: number): string {
  const cookies = setCookies(res);
  expect(cookies.map((cookie) => cookie.name)).toEqual([COOKIE]);
  const [cookie] = cookies;
  expect(cookie!.attributes).toEqual({
    'Max-Age': String(maxAge),
    Path: '/',
    Expires: expect.stringMatching(/ GMT$/),
    HttpOnly: true,
    Secure: true,
    SameSite: 'Strict',
  });
  expect(Number.isNaN(Date.parse(cookie!.attributes.Expires as string))).toBe(false);
  return cookie!.value;
}

function cookieLogin(app: AuthApp, email: string) {
  return request(app).post('/login').set('X-Token-Mode', 'cookie').send({ email, password: PASSWORD });
}

function cookieRefresh(app: AuthApp, token: string) {
  return request(app).post('/refresh').set('X-Token-Mode', 'cookie').set('Cookie', `${COOKIE}=${token}`);
}

async function setup() {
  const world = buildTestApp();
  const account = await register(world.app);
  const res = await cookieLogin(world.app, account.email);
  expect(res.status).toBe(200);
  return { ...world, ...account, res, cookie: expectRefreshCookie(res, res.body.refresh_expires_in) };
}

describe('logging in with X-Token-Mode: cookie', () => {
  it('sets the __Host-refresh_token cookie HttpOnly; Secure; SameSite=Strict; Path=/, without Domain, with Max-Age = refresh_expires_in', async () => {
    const { res, cookie } = await setup();
    expect(res.body.refresh_expires_in).toBe(7 * 24 * 3600);
    expect(setCookies(res)[0]!.attributes['Max-Age']).toBe('604800');
    expect(decodeJwt(cookie).header.typ).toBe('rt+jwt');
    expect(decodeJwt(cookie).payload.sid).toBe(decodeJwt(res.body.access_token).payload.sid);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('leaves refresh_token out of the body and keeps everything else', async () => {
    const { res, cookie } = await setup();
    expect(Object.keys(res.body).sort()).toEqual(['access_token', 'expires_at', 'expires_in', 'refresh_expires_in', 'token_type', 'user']);
    expect(res.text).not.toContain(cookie);
  });

  it('takes the header value case-insensitively', async () => {
    const { app, email } = await setup();
    const res = await request(app).post('/login').set('X-Token-Mode', ' Cookie ').send({ email, password: PASSWORD });
    expect(res.body.refresh_token).toBeUndefined();
    expectRefreshCookie(res, res.body.refresh_expires_in);
  });

  it('sets no cookie without the header', async () => {
    const { app, email } = await setup();
    const res = await request(app).post('/login').send({ email, password: PASSWORD });
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(res.body.refresh_token).toEqual(expect.any(String));
  });
});

describe('refreshing with the cookie', () => {
  it('rotates the cookie: a new token, the remaining lifetime as Max-Age, and none in the body', async () => {
    const { app, clock, cookie } = await setup();
    clock.advanceSeconds(60);
    const res = await cookieRefresh(app, cookie);
    expect(res.status).toBe(200);
    expect(res.body.refresh_expires_in).toBe(604800 - 60);
    const next = expectRefreshCookie(res, 604800 - 60);
    expect(next).not.toBe(cookie);
    expect(res.body.refresh_token).toBeUndefined();
    expect((await request(app).get('/profile').set(...bearer(res.body.access_token))).status).toBe(200);

    const again = await cookieRefresh(app, next);
    expect(again.status).toBe(200);
    expect(expectRefreshCookie(again, 604800 - 60)).not.toBe(next);
  });

  it('treats the rotated-out cookie as reuse after the grace window', async () => {
    const { app, clock, cookie } = await setup();
    const rotated = await cookieRefresh(app, cookie);
    expect(rotated.status).toBe(200);
    clock.advanceSeconds(11);
    const res = await cookieRefresh(app, cookie);
    expectError(res, 401, 'invalid_grant');
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('moves a body refresh token into the cookie when /refresh asks for cookie mode', async () => {
    const { app, email } = await setup();
    const tokens = await login(app, email);
    const res = await request(app).post('/refresh').set('X-Token-Mode', 'cookie').send({ refresh_token: tokens.refresh_token });
    expect(res.status).toBe(200);
    expect(res.body.refresh_token).toBeUndefined();
    expectRefreshCookie(res, res.body.refresh_expires_in);
  });

  it('ignores the cookie without the header: 401 invalid_grant, and the cookie is not used up', async () => {
    const { app, cookie } = await setup();
    for (const mode of [undefined, 'body', 'cookies']) {
      const req = request(app).post('/refresh').set('Cookie', `${COOKIE}=${cookie}`);
      const res = await (mode ? req.set('X-Token-Mode', mode) : req);
      expect(expectError(res, 401, 'invalid_grant').error_description).toBe('A refresh token is required.');
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    expect((await cookieRefresh(app, cookie)).status).toBe(200);
  });

  it('answers cookie mode without a cookie by 401 invalid_grant', async () => {
    const { app } = await setup();
    const res = await request(app).post('/refresh').set('X-Token-Mode', 'cookie');
    expectError(res, 401, 'invalid_grant');
  });
});

describe('logging out in cookie mode', () => {
  it('clears the cookie with Max-Age=0, and the old cookie no longer refreshes', async () => {
    const { app, res: loginRes, cookie } = await setup();
    const res = await request(app).post('/logout').set('X-Token-Mode', 'cookie').set('Cookie', `${COOKIE}=${cookie}`);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    const cleared = setCookies(res);
    expect(cleared).toHaveLength(1);
    expect(cleared[0]).toEqual({
      name: COOKIE,
      value: '',
      attributes: {
        'Max-Age': '0',
        Path: '/',
        Expires: expect.stringMatching(/ GMT$/),
        HttpOnly: true,
        Secure: true,
        SameSite: 'Strict',
      },
    });
    // Max-Age=0 rules; Expires, if a client reads it instead, is not in the future either.
    expect(Date.parse(cleared[0]!.attributes.Expires as string)).toBeLessThanOrEqual(Date.now());

    expectError(await cookieRefresh(app, cookie), 401, 'invalid_grant');
    const profile = await request(app).get('/profile').set(...bearer(loginRes.body.access_token));
    expect(expectError(profile, 401, 'invalid_token').error_description).toBe('token revoked');
  });

  it('ignores the cookie on /logout without the header: 401 unauthorized, the session stays live', async () => {
    const { app, res: loginRes, cookie } = await setup();
    const res = await request(app).post('/logout').set('Cookie', `${COOKIE}=${cookie}`);
    expectError(res, 401, 'unauthorized');
    expect(res.headers['www-authenticate']).toBe('Bearer realm="auth"');
    expect(res.headers['set-cookie']).toBeUndefined();
    expect((await request(app).get('/profile').set(...bearer(loginRes.body.access_token))).status).toBe(200);
  });
});

describe('cookie tossing: only the one __Host-refresh_token cookie is read', () => {
  const refused = { error: 'invalid_grant', error_description: 'The request carries more than one refresh cookie.' };

  /** A second user's refresh cookie: what a sibling subdomain would plant beside the victim's own. */
  async function plantedCookie(app: AuthApp): Promise<string> {
    const other = await register(app);
    const res = await cookieLogin(app, other.email);
    return expectRefreshCookie(res, res.body.refresh_expires_in);
  }

  it.each([
    ['/refresh', 'planted first'],
    ['/refresh', 'planted last'],
    ['/logout', 'planted first'],
    ['/logout', 'planted last'],
  ])('refuses %s with two refresh cookies (%s): 401 invalid_grant, no cookie set, neither session touched', async (route, order) => {
    const { app, res: loginRes, cookie } = await setup();
    const planted = await plantedCookie(app);
    const pair = order === 'planted first' ? [planted, cookie] : [cookie, planted];
    const res = await request(app).post(route).set('X-Token-Mode', 'cookie').set('Cookie', pair.map((value) => `${COOKIE}=${value}`).join('; '));
    expect(expectError(res, 401, 'invalid_grant')).toEqual(refused);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="auth"');
    expect(res.headers['set-cookie']).toBeUndefined();
    // The refusal used up nothing and ended nothing: each cookie alone still refreshes.
    expect((await request(app).get('/profile').set(...bearer(loginRes.body.access_token))).status).toBe(200);
    expect((await cookieRefresh(app, cookie)).status).toBe(200);
    expect((await cookieRefresh(app, planted)).status).toBe(200);
  });

  it('refuses two refresh cookies sent in two Cookie headers', async () => {
    const { app, cookie } = await setup();
    const planted = await plantedCookie(app);
    const res = await rawRequest(app, {
      method: 'POST',
      path: '/refresh',
      headers: [['X-Token-Mode', 'cookie'], ['Cookie', `${COOKIE}=${cookie}`], ['Cookie', `theme=dark; ${COOKIE}=${planted}`]],
    });
    expect({ status: res.status, body: res.body, cookie: res.headers['set-cookie'] }).toEqual({ status: 401, body: refused, cookie: undefined });
  });

  it('refuses two refresh cookies even beside a refresh token in the body', async () => {
    const { app, email, cookie } = await setup();
    const tokens = await login(app, email);
    const res = await request(app)
      .post('/refresh')
      .set('X-Token-Mode', 'cookie')
      .set('Cookie', `${COOKIE}=${cookie}; ${COOKIE}=${cookie}`)
      .send({ refresh_token: tokens.refresh_token });
    expect(expectError(res, 401, 'invalid_grant')).toEqual(refused);
  });

  it('reads the one refresh cookie among others, and ignores cookies that only look like it', async () => {
    const { app, cookie } = await setup();
    const lookalikes = [`refresh_token=${cookie}`, `__host-refresh_token=${cookie}`, `__Secure-refresh_token=${cookie}`, `__Host-refresh_token_=${cookie}`];
    const res = await request(app)
      .post('/refresh')
      .set('X-Token-Mode', 'cookie')
      .set('Cookie', `theme=dark; ${COOKIE}=${cookie}; ${lookalikes.join('; ')}`);
    expect(res.status).toBe(200);
    expectRefreshCookie(res, res.body.refresh_expires_in);
  });

  it.each([
    ['the old name, refresh_token', (token: string) => `refresh_token=${token}`],
    ['another case, __host-refresh_token', (token: string) => `__host-refresh_token=${token}`],
    // String#trim() would make this name ours; a browser never treated it as a __Host- cookie.
    ['a name behind a no-break space', (token: string) => `\u00a0${COOKIE}=${token}`],
  ])('does not take the refresh token from %s', async (_what, cookieFor) => {
    const { app, cookie } = await setup();
    const res = await rawRequest(app, { method: 'POST', path: '/refresh', headers: [['X-Token-Mode', 'cookie'], ['Cookie', cookieFor(cookie)]] });
    expect({ status: res.status, body: res.body }).toEqual({
      status: 401,
      body: { error: 'invalid_grant', error_description: 'A refresh token is required.' },
    });
    expect((await cookieRefresh(app, cookie)).status).toBe(200);
  });
});
