// The README's 5 s start-up limit, timed: in production the real process exits 5 s after it began waiting on a Redis that accepts the connection and never answers.
import net from 'node:net';
import { acceptsConnections, freePort, killStartedChildren, spawnTs } from '../helpers/child-process';

afterAll(() => killStartedChildren());

/** A "Redis" that accepts connections and reads everything, answering nothing: a hung server or a silent network. */
async function silentRedis(): Promise<{ port: number; firstConnection: () => number | null; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let first: number | null = null;
  const server = net.createServer((socket) => {
    first ??= performance.now();
    sockets.add(socket);
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    firstConnection: () => first,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('starting in production against a Redis that never answers (README: "cannot reach Redis within 5 s at start-up exits")', () => {
  it('exits with code 1 and one line naming REDIS_URL, 5 s (4.8–7 s) after its first connection to Redis, never having listened', async () => {
    const redis = await silentRedis();
    try {
      const port = await freePort();
      const child = spawnTs('src/server.ts', {
        isolateConfig: true,
        env: {
          NODE_ENV: 'production',
          PORT: String(port),
          HOST: '127.0.0.1',
          JWT_SECRET: 'silent-Rk7vQ2zW9xN4mB8tY3uL6hJ1cF5dG0sA-access',
          JWT_REFRESH_SECRET: 'silent-Lq3nE8rT1yU6iO9pA2sD4fG7hJ0kZ5xC-refresh',
          // Production refuses Redis without a key for the TOTP secrets it would hold.
          MFA_ENCRYPTION_KEY: 'q1Z0mC8yH3vKp7tW2sR9xL4bN6dF5gJ0aE1uI8oY3Tk=',
          REDIS_URL: `redis://:silent-redis-password@127.0.0.1:${redis.port}`,
        },
      });
      const exit = await child.waitForExit(30_000);
      const exitedAt = performance.now();

      expect(exit).toEqual({ code: 1, signal: null });
      expect(child.stderr()).toMatch(new RegExp(`^Start-up failed: cannot reach Redis at redis://127\\.0\\.0\\.1:${redis.port} \\(REDIS_URL\\)`, 'm'));
      expect(child.stdout() + child.stderr()).not.toContain('silent-redis-password');
      expect(child.stdout()).not.toMatch(/listening/);
      await expect(acceptsConnections(port)).resolves.toBe(false);
      // The wait starts just before the first connection (4.8 s leaves room for that); above 5 s,
      // the slack is the close and the process exit on a busy two-core machine.
      const waited = exitedAt - redis.firstConnection()!;
      expect({ ms: Math.round(waited), within: waited >= 4800 && waited <= 7000 }).toEqual({ ms: expect.any(Number), within: true });
    } finally {
      await redis.close();
    }
  }, 40_000);
});
