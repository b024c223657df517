// The example's own tests, as its authors would write them: supertest against the app, the auth server imported by its package name.
const request = require('supertest');
const { buildApp } = require('./app');

const ENV = {
  NODE_ENV: 'test',
  JWT_SECRET: 'example-access-secret-4f9c2a7e1b8d6035-a1b2c3d4e5f6',
  JWT_REFRESH_SECRET: 'example-refresh-secret-0e8d7c6b5a49-f6e5d4c3b2a1',
  BCRYPT_COST: '10',
  LOG_LEVEL: 'silent',
};
const PASSWORD = 'correct horse battery staple';

let app;
let close;

beforeAll(async () => {
  ({ app, close } = await buildApp(ENV));
});
afterAll(() => close());

async function signIn(email) {
  expect((await request(app).post('/auth/register').send({ email, password: PASSWORD })).status).toBe(201);
  const login = await request(app).post('/auth/login').send({ email, password: PASSWORD });
  expect(login.status).toBe(200);
  return login.body;
}

test('a user signs in under /auth and keeps notes in the app', async () => {
  const { access_token: token } = await signIn('ada@example.com');
  const created = await request(app).post('/notes').set('Authorization', `Bearer ${token}`).send({ text: 'first' });
  expect(created.status).toBe(201);
  const listed = await request(app).get('/notes').set('Authorization', `Bearer ${token}`);
  expect(listed.status).toBe(200);
  expect(listed.body).toEqual({ notes: [{ id: 1, text: 'first' }] });
});

test("the app's routes refuse a request without a token, with the RFC 6750 challenge", async () => {
  const res = await request(app).get('/notes');
  expect(res.status).toBe(401);
  expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
  expect(res.body.error).toBe('unauthorized');
});

test('a logged-out token stops working on the app at once', async () => {
  const { access_token: token } = await signIn('grace@example.com');
  expect((await request(app).post('/auth/logout').set('Authorization', `Bearer ${token}`).send({})).status).toBe(204);
  const res = await request(app).get('/notes').set('Authorization', `Bearer ${token}`);
  expect(res.status).toBe(401);
  expect(res.body.error).toBe('invalid_token');
});

test('a user is refused the admin route with 403', async () => {
  const { access_token: token } = await signIn('linus@example.com');
  const res = await request(app).get('/stats').set('Authorization', `Bearer ${token}`);
  expect(res.status).toBe(403);
  expect(res.body.error).toBe('insufficient_scope');
});

test('the refresh token rotates under /auth', async () => {
  const { refresh_token: first } = await signIn('barbara@example.com');
  const rotated = await request(app).post('/auth/refresh').send({ refresh_token: first });
  expect(rotated.status).toBe(200);
  expect(rotated.body.refresh_token).not.toBe(first);
});

test('an unknown path under /auth is the auth server\'s JSON 404', async () => {
  const res = await request(app).get('/auth/nothing-here');
  expect(res.status).toBe(404);
  expect(res.body.error).toBe('not_found');
});
