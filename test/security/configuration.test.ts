// Attacks on configuration: the real process (src/server.ts) refuses to start in production on missing, short, equal, placeholder or well-known secrets: non-zero exit, never a listening socket, never the value in its output.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { acceptsConnections, freePort, killStartedChildren, requestJson, ROOT, spawnTs, type Exit } from '../helpers/child-process';

// Once, not per storage backend like the other attack suites: the process refuses its configuration
// before it opens any store, and the two controls that start it never touch one.
const STRONG = {
  JWT_SECRET: 'cfg-Rk7vQ2zW9xN4mB8tY3uL6hJ1cF5dG0sA-access',
  JWT_REFRESH_SECRET: 'cfg-Lq3nE8rT1yU6iO9pA2sD4fG7hJ0kZ5xC-refresh',
};
const STRONG_CLIENT_SECRET = 'cfg-Pw5eR9tY2uI7oA3sD8fG1hJ6kL4zX0cV-client';

/** The values .env.example ships, read from the file itself so the test follows it. */
function examplePlaceholders(): { JWT_SECRET: string; JWT_REFRESH_SECRET: string } {
  const text = readFileSync(path.join(ROOT, '.env.example'), 'utf8');
  const value = (name: string) => new RegExp(`^${name}=(.+)$`, 'm').exec(text)![1]!.trim();
  return { JWT_SECRET: value('JWT_SECRET'), JWT_REFRESH_SECRET: value('JWT_REFRESH_SECRET') };
}

interface Attempt {
  exit: Exit;
  /** Whether anything accepted a connection on the port at any moment of the process's life. */
  listened: boolean;
  output: string;
  stderr: string;
}

/**
 * Starts src/server.ts with only `env` (every other configuration variable blank, no .env file
 * unless `env` points DOTENV_CONFIG_PATH at one), and knocks on its port until it exits.
 */
async function start(env: Record<string, string>, options: { isolate?: boolean } = {}): Promise<Attempt> {
  const port = await freePort();
  const child = spawnTs('src/server.ts', { isolateConfig: options.isolate ?? true, env: { PORT: String(port), HOST: '127.0.0.1', ...env } });
  let exited = false;
  const exit = child.waitForExit(20_000).finally(() => {
    exited = true;
  });
  let listened = false;
  while (!exited) {
    if (await acceptsConnections(port, 100)) listened = true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  listened ||= await acceptsConnections(port, 200);
  return { exit: await exit, listened, output: child.stdout() + child.stderr(), stderr: child.stderr() };
}

/** Refused: a non-zero exit, never a listening socket, each variable named, none of the values shown. */
function expectRefused(attempt: Attempt, variables: string[], values: string[]): void {
  expect({ code: attempt.exit.code, signal: attempt.exit.signal, listened: attempt.listened }).toEqual({ code: 1, signal: null, listened: false });
  expect(attempt.stderr).toMatch(/^Invalid configuration:/);
  for (const name of variables) expect(attempt.stderr).toMatch(new RegExp(`^  - ${name}: `, 'm'));
  for (const value of values) expect(attempt.output).not.toContain(value);
  expect(attempt.output).not.toMatch(/listening/);
}

afterAll(() => killStartedChildren());

it('starts and listens with strong, distinct secrets in production (the control: every refusal below is the configuration)', async () => {
  const port = await freePort();
  const child = spawnTs('src/server.ts', { isolateConfig: true, env: { PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'production', ...STRONG } });
  await child.waitForOutput(/"msg":"listening on /);
  expect((await requestJson(port, 'GET', '/health')).status).toBe(200);
  killStartedChildren();
});

describe('production refuses to start', () => {
  const placeholders = examplePlaceholders();
  const cases: [string, Record<string, string>, string[]][] = [
    ['both secrets missing', {}, ['JWT_SECRET', 'JWT_REFRESH_SECRET']],
    ['JWT_SECRET missing', { JWT_REFRESH_SECRET: STRONG.JWT_REFRESH_SECRET }, ['JWT_SECRET']],
    ['JWT_REFRESH_SECRET missing', { JWT_SECRET: STRONG.JWT_SECRET }, ['JWT_REFRESH_SECRET']],
    ['a 31-byte JWT_SECRET', { ...STRONG, JWT_SECRET: 'Zq8wX3vB7nM2kL5jH9gF4dS1aP6oI0u' }, ['JWT_SECRET']],
    ['a 31-byte JWT_REFRESH_SECRET', { ...STRONG, JWT_REFRESH_SECRET: 'Yt5rE2wQ9pO6iU3yT8rE1wQ4aS7dF0g' }, ['JWT_REFRESH_SECRET']],
    ['two equal secrets', { JWT_SECRET: STRONG.JWT_SECRET, JWT_REFRESH_SECRET: STRONG.JWT_SECRET }, ['JWT_REFRESH_SECRET']],
    ['the placeholders of .env.example', placeholders, ['JWT_SECRET', 'JWT_REFRESH_SECRET']],
    ['a well-known secret from tutorials', { ...STRONG, JWT_SECRET: 'your-super-secret-jwt-token-with-at-least-32-characters-long' }, ['JWT_SECRET']],
    ['a well-known secret in upper case', { ...STRONG, JWT_REFRESH_SECRET: 'YOUR-SUPER-SECRET-JWT-TOKEN-WITH-AT-LEAST-32-CHARACTERS-LONG' }, ['JWT_REFRESH_SECRET']],
    ["jwt.io's sample secret", { ...STRONG, JWT_SECRET: 'a-string-secret-at-least-256-bits-long' }, ['JWT_SECRET']],
    ['one character 64 times', { ...STRONG, JWT_SECRET: 'x'.repeat(64) }, ['JWT_SECRET']],
    ['a short pattern repeated', { ...STRONG, JWT_SECRET: '0123456789abcdef'.repeat(4) }, ['JWT_SECRET']],
    ['40 spaces', { ...STRONG, JWT_REFRESH_SECRET: ' '.repeat(40) }, ['JWT_REFRESH_SECRET']],
    ['a weak verify-only key', { ...STRONG, JWT_VERIFY_SECRETS: 'old:changeme' }, ['JWT_VERIFY_SECRETS']],
    ['a weak introspection client secret', { ...STRONG, INTROSPECTION_CLIENTS: 'notes:secret' }, ['INTROSPECTION_CLIENTS']],
    ['an introspection client secret equal to JWT_SECRET', { ...STRONG, INTROSPECTION_CLIENTS: `notes:${STRONG.JWT_SECRET}` }, ['INTROSPECTION_CLIENTS']],
    ['TRUST_PROXY=true (any client picks its address)', { ...STRONG, TRUST_PROXY: 'true' }, ['TRUST_PROXY']],
    ['ES256 without a private key', { ...STRONG, JWT_ALGORITHM: 'ES256' }, ['JWT_PRIVATE_KEY']],
  ];

  it.each(cases)('on %s', async (_what, env, variables) => {
    const attempt = await start({ NODE_ENV: 'production', ...env });
    // Every secret given must stay out of the output (the strong ones too); other values may be named.
    const values = Object.entries(env)
      .filter(([name, value]) => /SECRET|CLIENTS/.test(name) && value.trim().length > 0)
      .map(([, value]) => value);
    expectRefused(attempt, variables, values);
  });

  it('on a weak secret that comes from a .env file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'auth-env-'));
    try {
      const file = path.join(dir, '.env');
      writeFileSync(file, `NODE_ENV=production\nJWT_SECRET=shhhhh\nJWT_REFRESH_SECRET=${STRONG.JWT_REFRESH_SECRET}\n`);
      expectRefused(await start({ DOTENV_CONFIG_PATH: file }, { isolate: false }), ['JWT_SECRET'], ['shhhhh']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(['Production', 'prod', 'PRODUCTION '])('on NODE_ENV=%j rather than fall back to development with random secrets', async (nodeEnv) => {
    expectRefused(await start({ NODE_ENV: nodeEnv }), ['NODE_ENV'], []);
  });
});

it('starts with a strong introspection client in production (so its refusals above were about the secret)', async () => {
  const port = await freePort();
  const child = spawnTs('src/server.ts', {
    isolateConfig: true,
    env: { PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'production', ...STRONG, INTROSPECTION_CLIENTS: `notes:${STRONG_CLIENT_SECRET}` },
  });
  await child.waitForOutput(/"msg":"listening on /);
  expect(child.stdout() + child.stderr()).not.toContain(STRONG_CLIENT_SECRET);
  killStartedChildren();
});
