// The happy path a first-time user walks: register, log in, read the profile, refresh, log out.
import request from 'supertest';
import { buildTestApp } from '../helpers/build-app';
import { bearer, expectError, registerAndLogin } from '../helpers/fixtures';

describe('the quick-start journey', () => {
  it('registers, logs in, reads the profile, refreshes and logs out', async () => {
    const { app } = buildTestApp();
    const { email, tokens } = await registerAndLogin(app);

    const profile = await request(app).get('/profile').set(...bearer(tokens.access_token));
    expect(profile.status).toBe(200);
    expect(profile.body.user.email).toBe(email);

    const refreshed = await request(app).post('/refresh').send({ refresh_token: tokens.refresh_token });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).not.toBe(tokens.refresh_token);

    const logout = await request(app).post('/logout').send({ refresh_token: refreshed.body.refresh_token });
    expect(logout.status).toBe(204);

    const after = await request(app).get('/profile').set(...bearer(refreshed.body.access_token));
    expectError(after, 401, 'invalid_token');
    expect(after.headers['www-authenticate']).toBe(
      'Bearer realm="auth", error="invalid_token", error_description="token revoked"',
    );
  });
});
