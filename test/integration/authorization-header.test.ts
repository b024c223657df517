// Every shape of Authorization header on GET /profile, and the exact RFC 6750 challenge each one earns.
import { once } from 'node:events';
import { connect, type AddressInfo } from 'node:net';
import request from 'supertest';
import { buildTestApp, type TestApp } from '../helpers/build-app';
import { expectError, registerAndLogin } from '../helpers/fixtures';
import { expectNoInternals } from '../helpers/no-leak';
import { rawRequest } from '../helpers/raw-http';

const REALM_ONLY = 'Bearer realm="auth"';
const MALFORMED_DESCRIPTION = 'The Authorization header must be "Bearer" followed by one token.';
const MALFORMED_CHALLENGE =
  'Bearer realm="auth", error="invalid_request", error_description="The Authorization header must be Bearer followed by one token."';
const challenge = (description: string) => `Bearer realm="auth", error="invalid_request", error_description="${description}"`;

let world: TestApp;
let token: string;
let email: string;

beforeAll(async () => {
  world = buildTestApp();
  const account = await registerAndLogin(world.app);
  token = account.tokens.access_token;
  email = account.email;
});

function profile(authorization?: string, path = '/profile') {
  const req = request(world.app).get(path);
  return authorization === undefined ? req : req.set('Authorization', authorization);
}

describe('no Bearer credentials at all', () => {
  it('answers a request without Authorization by 401 unauthorized with the realm-only challenge', async () => {
    const res = await profile();
    expectError(res, 401, 'unauthorized');
    expect(res.headers['www-authenticate']).toBe(REALM_ONLY);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it.each(['Basic xyz', `Basic ${Buffer.from('user:pass').toString('base64')}`, `Token ${'a'.repeat(20)}`, 'Bearerx abc'])(
    'answers the scheme in %j by 401 unauthorized with the realm-only challenge',
    async (authorization) => {
      const res = await profile(authorization);
      expectError(res, 401, 'unauthorized');
      expect(res.headers['www-authenticate']).toBe(REALM_ONLY);
    },
  );
});

describe('Bearer headers that break RFC 6750 grammar', () => {
  it.each([
    ['"Bearer" alone', 'Bearer'],
    ['"Bearer " with a trailing space', 'Bearer '],
    ['two tokens', 'Bearer a b'],
    ['a token with a quote', 'Bearer tok"en'],
    ['a token with a comma', 'Bearer tok,en'],
    ['a token padded in the middle', 'Bearer ab=cd'],
    ['a valid token followed by another word', () => `Bearer ${token} extra`],
  ] as [string, string | (() => string)][])('answers %s by 400 invalid_request with the error challenge', async (_what, value) => {
    const res = await profile(typeof value === 'function' ? value() : value);
    const body = expectError(res, 400, 'invalid_request');
    expect(body.error_description).toBe(MALFORMED_DESCRIPTION);
    expect(res.headers['www-authenticate']).toBe(MALFORMED_CHALLENGE);
    expectNoInternals(res);
  });

  it('answers a token longer than 8 kB by 400 invalid_request', async () => {
    const res = await profile(`Bearer ${'a'.repeat(8 * 1024 + 1)}`);
    const body = expectError(res, 400, 'invalid_request');
    expect(body.error_description).toBe(MALFORMED_DESCRIPTION);
    expect(res.headers['www-authenticate']).toBe(MALFORMED_CHALLENGE);
  });

  it('still reads a token of exactly 8 kB (and finds it invalid: 401, not 400)', async () => {
    const res = await profile(`Bearer ${'a'.repeat(8 * 1024)}`);
    expect(expectError(res, 401, 'invalid_token').error_description).toBe('token invalid');
  });

  it('answers two Authorization headers by 400 invalid_request, even when both carry the valid token', async () => {
    const description = 'Send exactly one Authorization header.';
    for (const second of [`Bearer ${token}`, 'Basic xyz']) {
      const res = await rawRequest(world.app, {
        method: 'GET',
        path: '/profile',
        headers: [
          ['Authorization', `Bearer ${token}`],
          ['Authorization', second],
        ],
      });
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.body).toEqual({ error: 'invalid_request', error_description: description });
      expect(res.headers['www-authenticate']).toBe(challenge(description));
    }
  });
});

/** Sends header lines exactly as written (node:http's client merges names that differ only in case). */
async function rawHeaderLines(app: TestApp['app'], lines: string[]): Promise<{ status: number; text: string }> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    socket.end(['GET /profile HTTP/1.1', 'Host: localhost', 'Connection: close', ...lines, '', ''].join('\r\n'));
    const chunks: Buffer[] = [];
    for await (const chunk of socket) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return { status: Number(text.slice(9, 12)), text };
  } finally {
    server.close();
  }
}

describe('Authorization header names in any letter case', () => {
  it('treats "authorization" and "AUTHORIZATION" as a second Authorization header: 400 invalid_request', async () => {
    const res = await rawHeaderLines(world.app, [`Authorization: Bearer ${token}`, `AUTHORIZATION: Bearer ${token}`]);
    expect(res.status).toBe(400);
    expect(res.text).toContain('"error":"invalid_request","error_description":"Send exactly one Authorization header."');
  });

  it('accepts one header named "authorization" in lower case', async () => {
    const res = await rawHeaderLines(world.app, [`authorization: Bearer ${token}`]);
    expect(res.status).toBe(200);
    expect(res.text).toContain('"user":{');
  });
});

describe('tokens in the query string', () => {
  const description = 'Send the access token in the Authorization header, not the query string.';

  it('refuses ?access_token= by 400 invalid_request even alongside a valid Authorization header', async () => {
    const res = await profile(`Bearer ${token}`, `/profile?access_token=${token}`);
    const body = expectError(res, 400, 'invalid_request');
    expect(body.error_description).toBe(description);
    expect(res.headers['www-authenticate']).toBe(challenge(description));
  });

  it('refuses ?access_token= by 400 invalid_request without an Authorization header', async () => {
    const res = await profile(undefined, `/profile?access_token=${token}`);
    const body = expectError(res, 400, 'invalid_request');
    expect(body.error_description).toBe(description);
    expect(res.headers['www-authenticate']).toBe(challenge(description));
  });

  it('refuses an empty ?access_token= as well', async () => {
    const res = await profile(`Bearer ${token}`, '/profile?access_token=');
    expectError(res, 400, 'invalid_request');
  });
});

describe('well-formed Bearer headers', () => {
  it.each([
    ['the canonical "Bearer"', (t: string) => `Bearer ${t}`],
    ['a lower-case "bearer" (the scheme is case-insensitive)', (t: string) => `bearer ${t}`],
    ['an upper-case "BEARER"', (t: string) => `BEARER ${t}`],
  ])('accepts %s with a valid token', async (_what, build) => {
    const res = await profile(build(token));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(res.body.user.email).toBe(email);
  });

  it('answers a well-formed token that is not ours by 401 invalid_token "token invalid"', async () => {
    const res = await profile('Bearer abc.def.ghi');
    const body = expectError(res, 401, 'invalid_token');
    expect(body.error_description).toBe('token invalid');
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="auth", error="invalid_token", error_description="token invalid"',
    );
  });

  it('answers a valid token with its signature altered by 401 invalid_token "token invalid"', async () => {
    const [header, payload, signature] = token.split('.');
    const altered = `${header}.${payload}.${signature!.startsWith('A') ? 'B' : 'A'}${signature!.slice(1)}`;
    const res = await profile(`Bearer ${altered}`);
    expect(expectError(res, 401, 'invalid_token').error_description).toBe('token invalid');
  });
});
