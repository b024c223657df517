// Real users and real tokens, made through the HTTP API the way a client would.
import request from 'supertest';
import type { AuthApp } from '../../src/app';

let counter = 0;

/** A fresh, valid email for each call. */
export function uniqueEmail(prefix = 'user'): string {
  counter += 1;
  return `${prefix}${counter}.${process.pid}@example.com`;
}

export const PASSWORD = 'correct horse battery staple';

export interface TokenResponseBody {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  expires_at: number;
  refresh_token: string;
  refresh_expires_in: number;
  user: { id: string; email: string; role: 'user' | 'admin'; created_at: string; email_verified: boolean; mfa_enabled: boolean };
}

export async function register(app: AuthApp, email = uniqueEmail(), password = PASSWORD) {
  const res = await request(app).post('/register').send({ email, password });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { email, password, user: res.body.user as TokenResponseBody['user'] };
}

export async function login(app: AuthApp, email: string, password = PASSWORD, userAgent = 'jest'): Promise<TokenResponseBody> {
  const res = await request(app).post('/login').set('User-Agent', userAgent).send({ email, password });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as TokenResponseBody;
}

/** Registers a new user and logs them in. */
export async function registerAndLogin(app: AuthApp) {
  const account = await register(app);
  const tokens = await login(app, account.email, account.password);
  return { ...account, tokens };
}

/** An admin, created through the account service (registration only ever makes users). */
export async function adminAndLogin(app: AuthApp) {
  const email = uniqueEmail('admin');
  await app.services.accounts.register(email, PASSWORD, 'admin');
  return { email, tokens: await login(app, email) };
}

export function bearer(token: string): [string, string] {
  return ['Authorization', `Bearer ${token}`];
}

/** Decodes a JWT's header and payload without checking anything (to assert on claims). */
export function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header, payload] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header!, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')),
  };
}

/** Asserts the contract's error shape and returns the body. */
export function expectError(res: request.Response, status: number, code: string) {
  expect({ status: res.status, error: res.body?.error }).toEqual({ status, error: code });
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(typeof res.body.error_description).toBe('string');
  return res.body as { error: string; error_description: string; details?: { path: string; message: string }[] };
}
