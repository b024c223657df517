// POST /introspect (RFC 7662): HTTP Basic clients only, form or JSON body, {"active": false} for any token not in use.
import request from 'supertest';
import { buildTestApp } from '../helpers/build-app';
import { bearer, decodeJwt, expectError, registerAndLogin } from '../helpers/fixtures';
import { forgeAccessToken } from '../helpers/forge';
import { rawRequest } from '../helpers/raw-http';

const CLIENT = { id: 'notes-service', secret: 'intro-Zp4mQ8vB2nX6cW1rT9yK3hL7jF5dS0gA' };
const OTHER_CLIENT = { id: 'billing', secret: 'intro-Hq2wE4rT6yU8iO0pA1sD3fG5hJ7kL9zX' };
const ENV = { INTROSPECTION_CLIENTS: `${CLIENT.id}:${CLIENT.secret}, ${OTHER_CLIENT.id}:${OTHER_CLIENT.secret}` };

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

function expectBasicChallenge(res: request.Response): void {
  const body = expectError(res, 401, 'unauthorized');
  expect(body.error_description).toBe('Client authentication failed.');
  expect(res.headers['www-authenticate']).toBe('Basic realm="auth"');
  expect(res.headers['cache-control']).toBe('no-store');
}

describe('POST /introspect', () => {
  const world = buildTestApp({ env: ENV });
  const { app } = world;

  function introspect() {
    return request(app).post('/introspect').set('Authorization', basic(CLIENT.id, CLIENT.secret));
  }

  it('answers active with the claims for a live access token sent form-encoded, as RFC 7662 does', async () => {
    const { tokens } = await registerAndLogin(app);
    const { payload } = decodeJwt(tokens.access_token);
    const res = await introspect().type('form').send({ token: tokens.access_token });

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({
      active: true,
      token_type: 'Bearer',
      iss: 'auth-server',
      aud: 'api',
      sub: tokens.user.id,
      sid: payload.sid,
      jti: payload.jti,
      role: 'user',
      iat: payload.iat,
      exp: tokens.expires_at,
    });
  });

  it('takes a JSON body too, and ignores token_type_hint and unknown parameters', async () => {
    const { tokens } = await registerAndLogin(app);
    const res = await introspect().send({ token: tokens.access_token, token_type_hint: 'refresh_token', extra: 1 });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ active: true, sub: tokens.user.id });
  });

  it('answers {"active": false} for a token whose session has ended (logout)', async () => {
    const { tokens } = await registerAndLogin(app);
    expect((await request(app).post('/logout').set(...bearer(tokens.access_token))).status).toBe(204);

    const res = await introspect().type('form').send({ token: tokens.access_token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ active: false });
  });

  it('answers {"active": false} for an expired access token', async () => {
    const own = buildTestApp({ env: ENV });
    const { tokens } = await registerAndLogin(own.app);
    own.clock.advanceSeconds(900);

    const res = await request(own.app)
      .post('/introspect')
      .set('Authorization', basic(CLIENT.id, CLIENT.secret))
      .type('form')
      .send({ token: tokens.access_token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ active: false });
  });

  it.each([
    ['a refresh token', (t: { access_token: string; refresh_token: string }) => t.refresh_token],
    ['a tampered token', (t: { access_token: string }) => `${t.access_token.slice(0, -4)}AAAA`],
    ['a token for another audience', (t: { access_token: string }) => {
      const { header, payload } = decodeJwt(t.access_token);
      return forgeAccessToken({ ...payload, aud: 'billing' }, String(header.kid));
    }],
    ['something that is no JWT', () => 'not-a-token'],
  ])('answers {"active": false} for %s', async (_name, pick) => {
    const { tokens } = await registerAndLogin(app);
    const res = await introspect().type('form').send({ token: pick(tokens) });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ active: false });
  });

  it('lets every listed client in', async () => {
    const { tokens } = await registerAndLogin(app);
    const res = await request(app)
      .post('/introspect')
      .set('Authorization', basic(OTHER_CLIENT.id, OTHER_CLIENT.secret))
      .type('form')
      .send({ token: tokens.access_token });
    expect(res.status).toBe(200);
    expect(res.body.active).toBe(true);
  });

  it.each([
    ['no Authorization header', undefined],
    ['a wrong secret', basic(CLIENT.id, `${CLIENT.secret}x`)],
    ["another client's secret", basic(CLIENT.id, OTHER_CLIENT.secret)],
    ['an unknown client', basic('stranger', CLIENT.secret)],
    ['a Bearer access token instead of client credentials', 'Bearer abc.def.ghi'],
    ['Basic credentials without a colon', `Basic ${Buffer.from('notes-service').toString('base64')}`],
    ['Basic with no credentials', 'Basic'],
  ])('answers 401 with a Basic challenge for %s', async (_name, authorization) => {
    const { tokens } = await registerAndLogin(app);
    const req = request(app).post('/introspect').type('form');
    if (authorization !== undefined) req.set('Authorization', authorization);
    const res = await req.send({ token: tokens.access_token });

    expectBasicChallenge(res);
    expect(res.body).not.toHaveProperty('active');
  });

  it('answers 401 to everyone when INTROSPECTION_CLIENTS is not set', async () => {
    const bare = buildTestApp();
    const { tokens } = await registerAndLogin(bare.app);
    const res = await request(bare.app)
      .post('/introspect')
      .set('Authorization', basic(CLIENT.id, CLIENT.secret))
      .type('form')
      .send({ token: tokens.access_token });
    expectBasicChallenge(res);
  });

  it('answers 400 to two Authorization headers', async () => {
    const res = await rawRequest(app, {
      method: 'POST',
      path: '/introspect',
      headers: [
        ['Authorization', basic(CLIENT.id, CLIENT.secret)],
        ['Authorization', basic(OTHER_CLIENT.id, OTHER_CLIENT.secret)],
        ['Content-Type', 'application/x-www-form-urlencoded'],
      ],
      body: 'token=abc',
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: 'Send exactly one Authorization header.' });
  });

  it('answers 400 with details when the token is missing', async () => {
    const res = await introspect().type('form').send({ token_type_hint: 'access_token' });
    const body = expectError(res, 400, 'invalid_request');
    expect(body.details).toEqual([{ path: 'token', message: 'is required' }]);
  });

  it('answers 415 to a body that is neither form-encoded nor JSON', async () => {
    const res = await introspect().set('Content-Type', 'text/plain').send('token=abc');
    const body = expectError(res, 415, 'unsupported_media_type');
    expect(body.error_description).toBe(
      'The request body must be application/x-www-form-urlencoded or application/json.',
    );
  });

  it('answers 413 to a form body over 10 kB', async () => {
    const res = await introspect().type('form').send(`token=${'a'.repeat(11 * 1024)}`);
    expectError(res, 413, 'payload_too_large');
  });

  it('answers 405 with Allow to another method', async () => {
    const res = await request(app).get('/introspect');
    expectError(res, 405, 'method_not_allowed');
    expect(res.headers.allow).toBe('POST');
  });

  it('still answers 415 to form bodies on every other route', async () => {
    const res = await request(app).post('/login').type('form').send({ email: 'a@example.com', password: 'x' });
    expectError(res, 415, 'unsupported_media_type');
  });
});
