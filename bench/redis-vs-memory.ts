// Measures GET /profile and POST /refresh throughput with memory vs Redis stores, and the cross-instance revocation delay.
//
//   npm run build && node_modules/.bin/tsx bench/redis-vs-memory.ts
//
// Servers run as their own processes (`node dist/server.js`; the per-request-lookup variant runs
// bench/bench-server.ts under tsx, compared with the same script in its default mode, on /profile
// and on GET /bench/verify, a route that runs verifyToken and nothing else); autocannon
// runs here. Redis: REDIS_URL, else redis://127.0.0.1:6379. Keys go under a fresh prefix, deleted
// at the end. BENCH_DURATION (seconds per run, default 10), BENCH_CONNECTIONS (default 50) and
// BENCH_ROUNDS (default 3; runs are interleaved and the median is shown) tune the load.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { systemClock } from '../src/lib/clock';
import { randomId } from '../src/lib/random-id';
import { createRedisStores } from '../src/stores/redis';
import { registerUser } from './lib/accounts';
import { revocationDelay } from './lib/revocation';

const ROOT = path.resolve(__dirname, '..');
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `bench:${randomId()}:`;
const PASSWORD = 'correct horse battery staple';
const REVOCATION_ROUNDS = 200;
/** Reads Redis's CPU counters between runs. */
const redisInfo = new Redis(REDIS_URL, { lazyConnect: true });

const SERVER_ENV = {
  NODE_ENV: 'production',
  JWT_SECRET: 'bench-Kp3vQ9zR7wX2mN8bT4yL6hJ1cF5dG0sA-access',
  JWT_REFRESH_SECRET: 'bench-Wq8nE2rT6yU1iO4pA7sD9fG3hJ5kL0zX-refresh',
  // Production refuses Redis stores without a key for the TOTP secrets kept there.
  MFA_ENCRYPTION_KEY: '3f9a1c7e5b2d84f06a1e9c3b7d5f2a8e4c6b0d9f1a3e5c7b9d2f4a6c8e0b1d3f',
  BCRYPT_COST: '10',
  LOG_LEVEL: 'warn',
  // The bench hammers one address and logs one user in many times at once: lift the limits out of the way.
  RATE_LIMIT_MAX: '1000000',
  REFRESH_RATE_LIMIT_MAX: '1000000',
  LOGIN_RATE_LIMIT_MAX: '1000000',
  // sessionsFor() opens 50 sessions at once from one address: more logins than the default
  // hashing queue (32) admits, and than one address's share of it (4).
  PASSWORD_HASH_QUEUE: '1000',
  PASSWORD_HASH_QUEUE_PER_ADDRESS: '1000',
};

interface Server {
  name: string;
  port: number;
  proc: ChildProcess;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function call(port: number, method: string, urlPath: string, body?: unknown, accessToken?: string) {
  return new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {};
    if (payload !== undefined) headers['Content-Type'] = 'application/json';
    if (accessToken) headers.Authorization = `Bearer ${accessToken}`;
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

async function start(name: string, command: string[], env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const proc = spawn(command[0]!, command.slice(1), {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...SERVER_ENV, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode}`);
    const up = await call(port, 'GET', '/ready').then((res) => res.status === 200, () => false);
    if (up) return { name, port, proc };
    if (Date.now() > deadline) throw new Error(`${name} did not become ready`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stop(server: Server): Promise<void> {
  if (server.proc.exitCode !== null) return;
  const exited = new Promise((resolve) => server.proc.once('exit', resolve));
  server.proc.kill('SIGTERM');
  await exited;
}

let users = 0;
/** Registers a user and opens `sessions` sessions for it (bcrypt cost 10, so in parallel). */
async function sessionsFor(port: number, sessions: number): Promise<{ access_token: string; refresh_token: string }[]> {
  users += 1;
  const email = `bench${users}.${process.pid}@example.com`;
  const registered = await call(port, 'POST', '/register', { email, password: PASSWORD });
  if (registered.status !== 201) throw new Error(`register failed: ${registered.status}`);
  return Promise.all(
    Array.from({ length: sessions }, async () => {
      const res = await call(port, 'POST', '/login', { email, password: PASSWORD });
      if (res.status !== 200) throw new Error(`login failed: ${res.status}`);
      return res.body as { access_token: string; refresh_token: string };
    }),
  );
}

interface Throughput {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU time per request in the server process, and in Redis (µs): steadier than req/s on a busy machine. */
  serverCpuUs: number;
  redisCpuUs: number;
}

/** User + system CPU seconds of a process so far (Linux /proc; clock ticks are 1/100 s). */
function processCpu(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** User + system CPU seconds Redis has used so far, from INFO (works for a remote Redis too). */
async function redisCpu(client: Redis): Promise<number> {
  const info = await client.info('cpu');
  const read = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return read('used_cpu_user') + read('used_cpu_sys');
}

/** Runs autocannon against `server` and adds the CPU each side spent per request. */
async function measure(server: Server, options: autocannon.Options): Promise<Throughput> {
  const [serverBefore, redisBefore] = [processCpu(server.proc.pid!), await redisCpu(redisInfo)];
  const result = await autocannon(options);
  const [serverAfter, redisAfter] = [processCpu(server.proc.pid!), await redisCpu(redisInfo)];
  const requests = Math.max(1, result.requests.total);
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.non2xx + result.errors + result.timeouts,
    serverCpuUs: Math.round(((serverAfter - serverBefore) * 1e6) / requests),
    redisCpuUs: Math.round(((redisAfter - redisBefore) * 1e6) / requests),
  };
}

async function benchProtected(server: Server, route: string): Promise<Throughput> {
  const [tokens] = await sessionsFor(server.port, 1);
  return measure(server, {
    url: `http://127.0.0.1:${server.port}${route}`,
    connections: CONNECTIONS,
    duration: DURATION,
    headers: { Authorization: `Bearer ${tokens!.access_token}` },
  });
}

/**
 * Each connection refreshes its own session's chain, presenting the token its last refresh
 * returned (autocannon resets a request's context every round, so the chain lives per client).
 */
async function benchRefresh(server: Server): Promise<Throughput> {
  const pool = (await sessionsFor(server.port, CONNECTIONS)).map((tokens) => tokens.refresh_token);
  return measure(server, {
    url: `http://127.0.0.1:${server.port}/refresh`,
    method: 'POST',
    connections: CONNECTIONS,
    duration: DURATION,
    headers: { 'Content-Type': 'application/json' },
    body: '{}',
    setupClient: (client) => {
      const chunks: Buffer[] = [];
      client.setBody(JSON.stringify({ refresh_token: pool.pop() }));
      client.on('body', (chunk) => chunks.push(chunk));
      client.on('response', (status) => {
        const text = Buffer.concat(chunks.splice(0)).toString('utf8');
        if (status === 200) client.setBody(JSON.stringify({ refresh_token: (JSON.parse(text) as { refresh_token: string }).refresh_token }));
      });
    },
  });
}

/**
 * The revocation check alone, in this process: the local copy (a Set lookup) against one Redis
 * round trip, one at a time (latency) and 50 at a time (how many a client can do per second).
 */
async function checkCost() {
  const stores = createRedisStores({ url: REDIS_URL, keyPrefix: PREFIX, clock: systemClock, accessTtlMs: 15 * 60_000 });
  await stores.whenReady(5000);
  try {
    const now = Date.now();
    const sessionId = randomId();
    await stores.sessions.create({
      id: sessionId, userId: randomId(), createdAt: now, lastUsedAt: now, expiresAt: now + 3_600_000, userAgent: 'bench',
      ip: '127.0.0.1', refreshJti: randomId(), refreshIat: Math.floor(now / 1000), previousJti: null, rotatedAt: now, refreshWindowStart: now, refreshCount: 0,
    });
    const perCall = async (check: () => Promise<boolean>, calls: number) => {
      for (let i = 0; i < 1000; i += 1) await check(); // warm-up
      const started = process.hrtime.bigint();
      for (let i = 0; i < calls; i += 1) if (!(await check())) throw new Error('session not live');
      return Number(process.hrtime.bigint() - started) / 1e3 / calls;
    };
    const feedUs = await perCall(() => stores.revocations.isActive(sessionId), 100_000);
    const lookupUs = await perCall(() => stores.sessions.isActive(sessionId), 10_000);
    let done = 0;
    const until = Date.now() + 3000;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (Date.now() < until) {
          await stores.sessions.isActive(sessionId);
          done += 1;
        }
      }),
    );
    return { feedUs: feedUs.toFixed(2), lookupUs: lookupUs.toFixed(1), lookupPerSec: Math.round(done / 3) };
  } finally {
    await stores.close();
  }
}

async function deleteKeys(): Promise<void> {
  const client = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
    if (keys.length > 0) await client.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  client.disconnect();
}

interface Variant {
  name: string;
  command: string[];
  env: Record<string, string>;
  routes: ('GET /profile' | 'POST /refresh' | 'GET /bench/verify')[];
}

/** The median run of each (variant, route): runs are interleaved, so a load change elsewhere hits all alike. */
function median(runs: Throughput[]): Throughput {
  return [...runs].sort((x, y) => x.rps - y.rps)[Math.floor(runs.length / 2)]!;
}

async function main(): Promise<void> {
  await redisInfo.connect();
  if (!existsSync(path.join(ROOT, 'dist/server.js'))) throw new Error('dist/server.js is missing: run `npm run build` first');
  const node = [process.execPath, 'dist/server.js'];
  // node --import tsx: one process, so its CPU time can be read like dist/server.js's.
  const tsx = [process.execPath, '--import', 'tsx', 'bench/bench-server.ts'];
  const redisEnv = { REDIS_URL, REDIS_KEY_PREFIX: PREFIX };
  const variants: Variant[] = [
    { name: 'memory (dist/server.js)', command: node, env: {}, routes: ['GET /profile', 'POST /refresh'] },
    { name: 'Redis (dist/server.js)', command: node, env: redisEnv, routes: ['GET /profile', 'POST /refresh'] },
    { name: 'Redis, local revocation copy (bench-server.ts)', command: tsx, env: { ...redisEnv, BENCH_REVOCATION: 'feed' }, routes: ['GET /profile', 'GET /bench/verify'] },
    { name: 'Redis, Redis lookup per request (bench-server.ts)', command: tsx, env: { ...redisEnv, BENCH_REVOCATION: 'lookup' }, routes: ['GET /profile', 'GET /bench/verify'] },
  ];
  console.log(`${CONNECTIONS} connections, ${DURATION} s per run, ${ROUNDS} interleaved rounds (median shown), Redis ${new URL(REDIS_URL).host}\n`);

  const servers: Server[] = [];
  try {
    for (const variant of variants) servers.push(await start(variant.name, variant.command, variant.env));
    const runs = new Map<string, Throughput[]>();
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const [i, variant] of variants.entries()) {
        for (const route of variant.routes) {
          const run = route === 'POST /refresh' ? await benchRefresh(servers[i]!) : await benchProtected(servers[i]!, route.slice(4));
          const key = `${variant.name} | ${route}`;
          runs.set(key, [...(runs.get(key) ?? []), run]);
        }
      }
    }
    console.log(
      '| stores | route | req/s | p50 ms | p99 ms | server CPU µs/req | Redis CPU µs/req | errors | req/s of each run |\n' +
        '|---|---|---|---|---|---|---|---|---|',
    );
    for (const [key, all] of runs) {
      const t = median(all);
      const cpu = (pick: (r: Throughput) => number) => [...all.map(pick)].sort((x, y) => x - y)[Math.floor(all.length / 2)];
      const errors = all.reduce((n, r) => n + r.errors, 0);
      console.log(
        `| ${key} | ${t.rps} | ${t.p50} | ${t.p99} | ${cpu((r) => r.serverCpuUs)} | ${cpu((r) => r.redisCpuUs)} | ${errors} | ${all.map((r) => r.rps).join(', ')} |`,
      );
    }
    await Promise.all(servers.splice(0).map(stop));

    const [a, b] = await Promise.all([start('A', node, redisEnv), start('B', node, redisEnv)]);
    servers.push(a, b);
    const delay = await revocationDelay(a.port, b.port, await registerUser(a.port), REVOCATION_ROUNDS);
    console.log(
      `\ncross-instance revocation (logout on A → token refused on B), ${delay.rounds} rounds: ` +
        `first probe refused in ${delay.firstProbeRefused}; delay p50 ${delay.p50Ms.toFixed(2)} ms, p99 ${delay.p99Ms.toFixed(2)} ms, max ${delay.maxMs.toFixed(2)} ms`,
    );
    const cost = await checkCost();
    console.log(
      `revocation check alone: local copy ${cost.feedUs} µs per check; Redis lookup ${cost.lookupUs} µs per check ` +
        `one at a time, ${cost.lookupPerSec} checks/s with 50 in flight`,
    );
  } finally {
    await Promise.all(servers.map(stop));
    await deleteKeys();
    redisInfo.disconnect();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
