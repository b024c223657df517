// bcrypt runs off the event loop: while a login's password comparison is under way, other requests are answered.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { buildTestApp } from '../helpers/build-app';
import { eventually } from '../helpers/eventually';
import { PASSWORD, register } from '../helpers/fixtures';

describe('password hashing and the event loop', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it('answers GET /health while a login at bcrypt cost 13 is still comparing its password', async () => {
    // Cost 13 takes a few hundred milliseconds: a wide window, even on a loaded machine.
    const { app } = buildTestApp({ env: { BCRYPT_COST: '13', PASSWORD_HASH_CONCURRENCY: '1' } });
    const { email } = await register(app);
    server = createServer(app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    let loginAnswered = false;
    const login = request(base)
      .post('/login')
      .send({ email, password: PASSWORD })
      .then((res) => ((loginAnswered = true), res));
    // A synchronous bcrypt would hold the slot and give it back within one turn of the loop: never seen here.
    await eventually(() => app.services.hashGate.active === 1);

    const health = await request(base).get('/health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    expect(loginAnswered).toBe(false);

    const res = await login;
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('Bearer');
  });
});
