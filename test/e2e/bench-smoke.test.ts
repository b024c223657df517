// The benchmark cannot rot: its smoke run (every scenario for a second or so) produces a report with every row.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { ROOT } from '../helpers/child-process';
import { REDIS } from '../helpers/redis';
import { inCi } from '../helpers/ci';

const run = promisify(execFile);
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
const COMMITTED_REPORT = path.join(ROOT, 'bench/results/latest.md');

const PROFILE_ROWS = [
  'node:http (the floor)',
  'bare Express route',
  'tutorial middleware',
  'passport-jwt',
  'express-jwt',
  'this server, memory store',
  'this server, metrics on (memory store)',
  'this server, Redis store',
];
const TARGETS = [
  'GET /profile (memory) ≥ 0.90 × bare Express',
  'GET /profile (memory) ≥ 3.5 × tutorial middleware',
  'GET /profile (memory) ahead of passport-jwt and express-jwt',
  'GET /profile (Redis) ≥ 0.85 × memory store',
  'GET /profile (memory) with metrics and audit on: < 5 % slower than off',
  'POST /refresh (memory) ≥ 0.5 × bare Express',
  '10 logins/s: /profile p50 unchanged',
  '10 logins/s: /profile p99 ≤ 2 × without logins',
  'logins/s offered (more than the cores can hash): /profile p99 ≤ 3 × without logins',
  'logins beyond the bounded queue get 503 with Retry-After, nothing else fails',
  'correct logins from other addresses answered 200 during a one-address flood',
  '≤ 700 bytes of heap per live session',
  'ended and expired sessions reclaimed',
];

/** The table rows (lines starting with "|") whose first cell starts with `label`. */
function rowsOf(report: string, label: string): string[][] {
  return report
    .split('\n')
    .filter((line) => line.startsWith(`| ${label}`))
    .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()));
}

/** A cell holding a positive figure, such as "1,234", "0.52" or "600 bytes". */
const FIGURE = /^[0-9][0-9,]*(\.\d+)?( ×| bytes)?$/;

describe('npm run bench:smoke', () => {
  let out: string;
  let report: string;
  let stdout: string;
  const committedBefore = existsSync(COMMITTED_REPORT) ? statSync(COMMITTED_REPORT).mtimeMs : null;

  beforeAll(async () => {
    out = mkdtempSync(path.join(tmpdir(), 'bench-smoke-'));
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? tmpdir() };
    if (REDIS.url) env.REDIS_URL = REDIS.url;
    // dist/ is built by `npm test` (pretest), as `npm run bench:smoke` builds it.
    ({ stdout } = await run(TSX, ['bench/run.ts', '--smoke', '--out', out], { cwd: ROOT, env, timeout: 240_000, maxBuffer: 16 * 2 ** 20 }));
    report = readFileSync(path.join(out, 'latest.md'), 'utf8');
  }, 300_000);

  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('says it is a smoke run, on which machine, and judges no target', () => {
    expect(report).toContain('Smoke run (`npm run bench:smoke`)');
    expect(report).toMatch(/Measured on: .+, \d+ cores, \d+ GiB · .+ · Node\.js v\d+\.\d+\.\d+ · /);
    const verdicts = TARGETS.flatMap((target) => rowsOf(report, '').filter((row) => row[0]!.includes(target)).map((row) => row[2]));
    expect(verdicts).toEqual(TARGETS.map(() => 'not judged (smoke)'));
  });

  it('measures GET /profile on every variant, Redis included when one answers', () => {
    for (const label of PROFILE_ROWS) {
      const [row] = rowsOf(report, label);
      expect({ label, found: row !== undefined }).toEqual({ label, found: true });
      if (label === 'this server, Redis store' && !REDIS.url) {
        expect(row![2]).toMatch(/^skipped: /);
        continue;
      }
      // req/s, × bare Express, p50, p99: all measured.
      expect({ label, cells: row!.slice(2, 6).map((cell) => FIGURE.test(cell)) }).toEqual({ label, cells: [true, true, true, true] });
    }
    if (inCi()) expect(REDIS.url).not.toBeNull();
  });

  it('measures GET /profile with metrics on and off side by side, the metrics-on server having counted every answer', () => {
    const rounds = rowsOf(report, '1').filter((row) => row.length === 4);
    expect(rounds).toHaveLength(1);
    expect(rounds[0]!.slice(1, 3).every((cell) => FIGURE.test(cell))).toBe(true);
    expect(rounds[0]![3]).toMatch(/^[0-9.]+ × \([0-9.]+ % (slower|faster)\)$/);
    const [, counted, answered] = /GET \/metrics memoryMetrics: (\d+) GET \/profile requests counted, (\d+) answers received/.exec(stdout) ?? [];
    expect(Number(answered)).toBeGreaterThan(0);
    expect(Number(counted)).toBeGreaterThanOrEqual(Number(answered));
  });

  it('measures POST /refresh with every connection following its own chain, without failures', () => {
    // The refresh table's rows start with a figure; the GET /profile table's with a description.
    const [memory] = rowsOf(report, 'this server, memory store').filter((row) => FIGURE.test(row[1]!));
    expect(memory!.slice(1, 5).every((cell) => FIGURE.test(cell))).toBe(true);
    expect(memory![6]).toBe('0');
    if (REDIS.url) {
      const [redis] = rowsOf(report, 'this server, Redis store').filter((row) => FIGURE.test(row[1]!));
      expect(redis![6]).toBe('0');
    }
  });

  it('measures /profile latency with no logins, steady logins and a flood that gets 503s', () => {
    const [none] = rowsOf(report, 'no logins');
    const [steady] = rowsOf(report, 'steady logins');
    const [flood] = rowsOf(report, 'logins faster than the cores can hash');
    for (const row of [none!, steady!, flood!]) expect(row.slice(5, 7).every((cell) => FIGURE.test(cell))).toBe(true);
    expect(steady![1]).toBe('10');
    expect(Number(flood![3]!.replace(/,/g, ''))).toBeGreaterThan(0);
  });

  it('counts the correct logins from other addresses answered 200 during the one-address flood', () => {
    const [, ok, sent] = /Meanwhile, correct logins from 5 other addresses: (\d+) of (\d+) answered 200/.exec(report) ?? [];
    expect(Number(sent)).toBeGreaterThan(0);
    expect(Number(ok)).toBeLessThanOrEqual(Number(sent));
  });

  it('measures heap per live session at two sizes, and the heap after churn', () => {
    const live = rowsOf(report, 'heap per live session');
    expect(live.map((row) => row[1])).toEqual(['5,000', '10,000']);
    for (const row of live) expect(row[2]).toMatch(/^\d+ bytes$/);
    const [churn] = rowsOf(report, 'heap after churn');
    expect(churn![2]).toMatch(/0 sessions left$/);
  });

  it('draws the chart as SVG with a bar for each measured variant, and keeps the raw figures as JSON', () => {
    const svg = readFileSync(path.join(out, 'latest.svg'), 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const measured = PROFILE_ROWS.filter((label) => label !== 'this server, Redis store' || REDIS.url);
    for (const label of measured) expect(svg).toContain(`GET /profile · ${label.replace(/&/g, '&amp;')}`);
    const json = JSON.parse(readFileSync(path.join(out, 'latest.json'), 'utf8')) as { settings: { smoke: boolean } };
    expect(json.settings.smoke).toBe(true);
  });

  it('leaves the committed report alone and deletes the Redis keys it wrote', async () => {
    expect(existsSync(COMMITTED_REPORT) ? statSync(COMMITTED_REPORT).mtimeMs : null).toBe(committedBefore);
    expect(stdout).toContain(`report: ${path.join(out, 'latest.md')}`);
    if (!REDIS.url) return;
    const prefix = /keys under (bench:[\w-]+:)/.exec(stdout)![1]!;
    const client = new Redis(REDIS.url);
    try {
      const left: string[] = [];
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 10_000);
        left.push(...keys);
        cursor = next;
      } while (cursor !== '0');
      expect(left).toEqual([]);
    } finally {
      client.disconnect();
    }
  });
});
