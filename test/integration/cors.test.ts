// CORS for SPAs on other origins: preflights of every call an SPA makes, Vary: Origin, readable errors.
import request from 'supertest';
import type { AuthApp } from '../../src/app';
import { buildTestApp } from '../helpers/build-app';
import { expectError, PASSWORD, register } from '../helpers/fixtures';

const SPA = 'https://app.example.com';
const FOREIGN = 'https://evil.example.com';

function preflight(app: AuthApp, path: string, origin: string, method: string, headers: string) {
  return request(app)
    .options(path)
    .set('Origin', origin)
    .set('Access-Control-Request-Method', method)
    .set('Access-Control-Request-Headers', headers);
}

const list = (value: string | undefined) => (value ?? '').toLowerCase().split(/\s*,\s*/).filter(Boolean);

describe('preflights from a configured origin', () => {
  const { app } = buildTestApp({ env: { CORS_ORIGINS: SPA } });

  it.each([
    ['/login', 'POST', 'content-type,x-token-mode'],
    ['/refresh', 'POST', 'x-token-mode'],
    ['/logout', 'POST', 'content-type,x-token-mode'],
    ['/profile', 'GET', 'authorization'],
    ['/sessions', 'GET', 'authorization'],
    ['/sessions/some-id', 'DELETE', 'authorization'],
  ])('allows %s %s with %s, credentials, and caches the answer for 10 minutes', async (path, method, headers) => {
    const res = await preflight(app, path, SPA, method, headers);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(res.headers['access-control-allow-origin']).toBe(SPA);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(list(res.headers['access-control-allow-methods'])).toContain(method.toLowerCase());
    expect(list(res.headers['access-control-allow-headers'])).toEqual(expect.arrayContaining(headers.split(',')));
    expect(res.headers['access-control-max-age']).toBe('600');
    expect(list(res.headers['vary'])).toContain('origin');
  });

  it('never allows a wildcard, and does not list a method or header the API does not take', async () => {
    const res = await preflight(app, '/profile', SPA, 'PUT', 'x-custom');
    expect(res.headers['access-control-allow-origin']).toBe(SPA);
    expect(list(res.headers['access-control-allow-methods'])).not.toContain('put');
    expect(list(res.headers['access-control-allow-headers'])).not.toContain('x-custom');
    expect(list(res.headers['access-control-allow-headers'])).not.toContain('*');
  });
});

describe('answers to a configured origin', () => {
  const { app } = buildTestApp({ env: { CORS_ORIGINS: SPA } });

  it('lets the SPA read a 401 and its WWW-Authenticate challenge (what tells it to refresh)', async () => {
    const res = await request(app).get('/profile').set('Origin', SPA).set('Authorization', 'Bearer not.a.token');
    expectError(res, 401, 'invalid_token');
    expect(res.headers['access-control-allow-origin']).toBe(SPA);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(list(res.headers['access-control-expose-headers'])).toEqual(
      expect.arrayContaining(['www-authenticate', 'retry-after', 'ratelimit', 'ratelimit-policy']),
    );
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="auth", error="invalid_token"/);
  });

  it('sets the refresh cookie on a cookie-mode login with credentials allowed, so the browser keeps it', async () => {
    const { email } = await register(app);
    const res = await request(app)
      .post('/login')
      .set('Origin', SPA)
      .set('X-Token-Mode', 'cookie')
      .send({ email, password: PASSWORD });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(SPA);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(res.headers['set-cookie']).toEqual([expect.stringMatching(/^__Host-refresh_token=.+; HttpOnly; Secure; SameSite=Strict$/)]);
    expect(res.body.refresh_token).toBeUndefined();
  });
});

describe('Vary: Origin', () => {
  const { app } = buildTestApp({ env: { CORS_ORIGINS: SPA } });

  it.each([
    ['an allowed answer', () => request(app).get('/health').set('Origin', SPA)],
    ['a refused answer', () => request(app).get('/health').set('Origin', FOREIGN)],
    ['an answer to no Origin', () => request(app).get('/health')],
    ['a refused preflight', () => preflight(app, '/refresh', FOREIGN, 'POST', 'x-token-mode')],
    ['an error', () => request(app).get('/nope').set('Origin', FOREIGN)],
  ])('is on %s once CORS_ORIGINS is set, so no shared cache serves one origin the answer meant for another', async (_what, send) => {
    const res = await send();
    expect(list(res.headers['vary']).filter((name) => name === 'origin')).toEqual(['origin']);
  });

  it('gives a refused preflight no CORS header at all', async () => {
    const res = await preflight(app, '/refresh', FOREIGN, 'POST', 'x-token-mode');
    expect(Object.keys(res.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
  });

  it('is left out when no origin is configured: then no answer depends on Origin', async () => {
    const { app: closed } = buildTestApp();
    const res = await request(closed).get('/health').set('Origin', SPA);
    expect(res.headers['vary']).toBeUndefined();
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});
