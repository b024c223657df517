// The lifecycle routes' edges: bad bodies, wrong passwords counted as failed logins, mail turned off in production, and the development mail log.
import bcrypt from 'bcrypt';
import request from 'supertest';
import { buildTestApp } from '../helpers/build-app';
import { bearer, expectError, login, PASSWORD, register, registerAndLogin } from '../helpers/fixtures';

describe('account lifecycle: bad input', () => {
  const { app } = buildTestApp();
  afterAll(() => app.services.mailer.close());

  it.each([
    ['/password/forgot', {}, 'email'],
    ['/password/forgot', { email: 'not an address' }, 'email'],
    ['/password/reset', { new_password: 'a brand new passphrase 42' }, 'token'],
    ['/password/reset', { token: 'x'.repeat(600), new_password: 'a brand new passphrase 42' }, 'token'],
    ['/password/reset', { token: 'abc', new_password: 'short' }, 'new_password'],
    ['/password/reset', { token: 'abc', new_password: 'password123' }, 'new_password'],
    ['/email/verify', { token: 42 }, 'token'],
    ['/email/verify', { token: 'abc', extra: true }, 'extra'],
  ])('POST %s with %j is 400 invalid_request naming %s', async (path, body, field) => {
    const res = await request(app).post(path).send(body);
    const error = expectError(res, 400, 'invalid_request');
    expect(error.details?.map((d) => d.path)).toContain(field);
  });

  it('refuses an unknown reset or verification token with 400 invalid_grant', async () => {
    const unknown = 'A'.repeat(43);
    expectError(await request(app).post('/password/reset').send({ token: unknown, new_password: 'a brand new passphrase 42' }), 400, 'invalid_grant');
    expectError(await request(app).post('/email/verify').send({ token: unknown }), 400, 'invalid_grant');
  });

  it('asks for a Bearer token on the signed-in routes', async () => {
    for (const res of [
      await request(app).post('/password/change').send({ current_password: PASSWORD, new_password: 'a brand new passphrase 42' }),
      await request(app).post('/email/verify/resend'),
      await request(app).delete('/profile').send({ password: PASSWORD }),
    ]) {
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="auth"');
    }
  });

  it('validates the signed-in bodies and changes nothing', async () => {
    const { email, tokens } = await registerAndLogin(app);
    const change = await request(app).post('/password/change').set(...bearer(tokens.access_token)).send({ current_password: PASSWORD, new_password: 'short' });
    expect(expectError(change, 400, 'invalid_request').details?.map((d) => d.path)).toEqual(['new_password']);
    const remove = await request(app).delete('/profile').set(...bearer(tokens.access_token)).send({});
    expect(expectError(remove, 400, 'invalid_request').details?.map((d) => d.path)).toEqual(['password']);
    const resend = await request(app).post('/email/verify/resend').set(...bearer(tokens.access_token)).send({ email });
    expect(expectError(resend, 400, 'invalid_request').details?.map((d) => d.path)).toEqual(['email']);
    expect((await request(app).get('/profile').set(...bearer(tokens.access_token))).status).toBe(200);
    await login(app, email, PASSWORD);
  });

  it('answers other methods with 405 and an Allow header', async () => {
    const res = await request(app).get('/password/forgot');
    expectError(res, 405, 'method_not_allowed');
    expect(res.headers.allow).toBe('POST');
    expect((await request(app).put('/profile')).headers.allow).toBe('GET, HEAD, DELETE');
  });
});

describe('account lifecycle: wrong passwords count as failed logins', () => {
  it('locks /login, /password/change and DELETE /profile together after LOGIN_RATE_LIMIT_MAX wrong passwords', async () => {
    const { app } = buildTestApp({ env: { LOGIN_RATE_LIMIT_MAX: '3' } });
    const { email, tokens } = await registerAndLogin(app);
    const auth = bearer(tokens.access_token);
    expectError(await request(app).post('/password/change').set(...auth).send({ current_password: 'wrong password 1', new_password: 'a brand new passphrase 42' }), 401, 'invalid_credentials');
    expectError(await request(app).delete('/profile').set(...auth).send({ password: 'wrong password 2' }), 401, 'invalid_credentials');
    expectError(await request(app).post('/login').send({ email, password: 'wrong password 3' }), 401, 'invalid_credentials');
    const limited = await request(app).post('/password/change').set(...auth).send({ current_password: PASSWORD, new_password: 'a brand new passphrase 42' });
    expectError(limited, 429, 'rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expectError(await request(app).post('/login').send({ email, password: PASSWORD }), 429, 'rate_limited');
    expectError(await request(app).delete('/profile').set(...auth).send({ password: PASSWORD }), 429, 'rate_limited');
    // Nothing changed: the session and the password still stand.
    expect((await request(app).get('/profile').set(...auth)).status).toBe(200);
    await app.services.mailer.close();
  });
});

describe('account lifecycle: mail off in production', () => {
  const { app } = buildTestApp({ env: { NODE_ENV: 'production' } });
  afterAll(() => app.services.mailer.close());

  it.each([
    ['/password/forgot', { email: 'ann@example.com' }],
    ['/password/reset', { token: 'A'.repeat(43), new_password: 'a brand new passphrase 42' }],
    ['/email/verify', { token: 'A'.repeat(43) }],
  ])('answers POST %s with 501 not_configured without SMTP_URL', async (path, body) => {
    expectError(await request(app).post(path).send(body), 501, 'not_configured');
  });

  it('answers the resend with 501 too, and still lets users change their password', async () => {
    const { email, tokens } = await registerAndLogin(app);
    expectError(await request(app).post('/email/verify/resend').set(...bearer(tokens.access_token)), 501, 'not_configured');
    const changed = await request(app).post('/password/change').set(...bearer(tokens.access_token)).send({ current_password: PASSWORD, new_password: 'a brand new passphrase 42' });
    expect(changed.status).toBe(200);
    await login(app, email, 'a brand new passphrase 42');
  });
});

describe('account lifecycle: the development mail log', () => {
  it('writes each mail to the log with its link when there is no SMTP_URL, so a reset works on a laptop', async () => {
    const { app, logs } = buildTestApp({ env: { APP_URL: 'http://localhost:5173' } });
    const { email } = await register(app);
    expect((await request(app).post('/password/forgot').send({ email })).status).toBe(202);
    await app.services.background.idle();
    await app.services.mailer.idle();
    const line = logs.map((text) => JSON.parse(text) as { mail?: { to?: string; link?: string } }).find((entry) => entry.mail?.link?.includes('/reset-password?token='));
    expect(line?.mail?.to).toBe(email);
    const token = new URL(line!.mail!.link!).searchParams.get('token')!;
    expect((await request(app).post('/password/reset').send({ token, new_password: 'a brand new passphrase 42' })).status).toBe(204);
    await login(app, email, 'a brand new passphrase 42');
    await app.services.mailer.close();
  });
});

describe('account lifecycle: provisioned accounts', () => {
  it('counts a USERS_FILE address as verified, so REQUIRE_EMAIL_VERIFICATION never locks out a provisioned admin', async () => {
    const { app } = buildTestApp({ env: { REQUIRE_EMAIL_VERIFICATION: 'true' } });
    const passwordHash = await bcrypt.hash(PASSWORD, 10);
    await app.services.accounts.provision({ email: 'ops@example.com', passwordHash, role: 'admin' });
    const tokens = await login(app, 'ops@example.com');
    expect(tokens.user).toMatchObject({ email: 'ops@example.com', role: 'admin', email_verified: true });
    await app.services.mailer.close();
  });
});

describe('account lifecycle: password changes per account', () => {
  it('allows LOGIN_RATE_LIMIT_MAX changes per account in the window, right or wrong, so a stolen session cannot void reset links in a loop', async () => {
    const { app } = buildTestApp({ env: { LOGIN_RATE_LIMIT_MAX: '2' } });
    const { tokens } = await registerAndLogin(app);
    const first = await request(app).post('/password/change').set(...bearer(tokens.access_token)).send({ current_password: PASSWORD, new_password: 'second passphrase here' });
    expect(first.status).toBe(200);
    const second = await request(app).post('/password/change').set(...bearer(first.body.access_token)).send({ current_password: 'second passphrase here', new_password: 'third passphrase here' });
    expect(second.status).toBe(200);
    const third = await request(app).post('/password/change').set(...bearer(second.body.access_token)).send({ current_password: 'third passphrase here', new_password: 'fourth passphrase here' });
    expectError(third, 429, 'rate_limited');
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
    // The refused change changed nothing.
    expect((await request(app).get('/profile').set(...bearer(second.body.access_token))).status).toBe(200);
    await app.services.mailer.close();
  });
});
