// `npm run bench`: this server against the usual alternatives, every scenario of issues 7 and 21, one report.
//
//   npm run bench                     the full run (about fifteen minutes on two cores): bench/results/latest.{md,svg,json}
//                                     and the results block of the README
//   npm run bench:smoke               every scenario for a second or so (CI): a report in a temporary
//                                     directory, no thresholds, README untouched
//   npm run bench:observability       GET /profile with metrics and audit on against off (issue 23) only,
//                                     10 rounds (about three minutes), printed; nothing written.
//                                     BENCH_ROUNDS, BENCH_DURATION, BENCH_CONNECTIONS change its settings
//   options: --smoke, --out <dir>, --observability
//
// Each server is its own process (this one as `node dist/server.js`: build first, which the npm
// scripts do); the load comes from this process (autocannon). Rows with Redis run when REDIS_URL
// is set or a Redis answers at 127.0.0.1:6379, under a key prefix of their own, deleted at the end.
// Rows with PostgreSQL run when DATABASE_URL (postgres://…) is set or a PostgreSQL answers at
// 127.0.0.1:5432/test, in schemas of their own, dropped at the end; the PGlite rows always run.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomId } from '../src/lib/random-id';
import { login, registerUser } from './lib/accounts';
import { describeMachine, loadAverage } from './lib/machine';
import { findPostgres } from './lib/postgres';
import { ROOT, runToEnd, startServer, stopServer, type ServerProcess } from './lib/processes';
import { deleteKeys, findRedis, type BenchRedis } from './lib/redis';
import { FULL, OBSERVABILITY, SMOKE, settingsFromEnv, type Settings } from './lib/settings';
import { chartSvg } from './report/chart';
import { observabilityReportMarkdown, reportMarkdown, summaryMarkdown } from './report/markdown';
import { figure, loginFigure, sqlFigures, type Results } from './report/summary';
import type { BenchContext } from './scenarios/context';
import { profileUnderLogins } from './scenarios/logins';
import { churn, liveSessions } from './scenarios/memory';
import { startSqlPart } from './scenarios/sql';
import { profileThroughput, refreshThroughput } from './scenarios/throughput';
import { OBSERVABILITY_PAIR, THIS_SERVER, VARIANTS, variant, type VariantKey } from './variants';

const README_START = '<!-- bench:results:start (written by npm run bench) -->';
const README_END = '<!-- bench:results:end -->';
const DEFAULT_OUT = path.join(ROOT, 'bench', 'results');

function parseArgs(argv: string[]): { smoke: boolean; observabilityOnly: boolean; out: string } {
  const smoke = argv.includes('--smoke');
  const observabilityOnly = argv.includes('--observability');
  const outIndex = argv.indexOf('--out');
  const out = outIndex >= 0 ? argv[outIndex + 1] : undefined;
  if (outIndex >= 0 && !out) throw new Error('--out needs a directory');
  const known = ['--smoke', '--observability'];
  const unknown = argv.filter((arg, i) => arg.startsWith('--') && !known.includes(arg) && !(arg === '--out' && i === outIndex));
  if (unknown.length > 0) throw new Error(`unknown option ${unknown.join(' ')} (known: --smoke, --observability, --out <dir>)`);
  if (observabilityOnly && outIndex >= 0) throw new Error('--observability prints its figures and writes nothing: no --out');
  return { smoke, observabilityOnly, out: path.resolve(out ?? (smoke ? path.join(tmpdir(), `auth-server-bench-smoke-${process.pid}`) : DEFAULT_OUT)) };
}

const log = (message: string) => process.stdout.write(`[bench] ${message}\n`);

/** Starts `key` with its environment and records it among the context's servers. */
async function startVariant(context: BenchContext, key: VariantKey, benchUser: string, redis: BenchRedis | null): Promise<void> {
  const entry = variant(key);
  context.servers[key] = await startServer({
    name: entry.label,
    command: entry.command,
    env: entry.env({ benchUser, redisUrl: redis?.url, redisPrefix: redis?.prefix }),
    readyPath: entry.readyPath,
  });
}

/** One of this server's variants: started, a user registered on it and logged in. Returns that user, as its login names it. */
async function startThisServer(context: BenchContext, key: VariantKey, redis: BenchRedis | null): Promise<unknown> {
  await startVariant(context, key, '', redis);
  const port = context.servers[key]!.port;
  context.emails[key] = await registerUser(port);
  const tokens = await login(port, context.emails[key]!);
  context.accessTokens[key] = tokens.access_token;
  return tokens.user;
}

async function main(): Promise<void> {
  const { smoke, observabilityOnly, out } = parseArgs(process.argv.slice(2));
  if (!existsSync(path.join(ROOT, 'dist', 'server.js'))) throw new Error('dist/server.js is missing: run `npm run build` first');
  if (observabilityOnly) return observabilityRun(settingsFromEnv(smoke ? SMOKE : OBSERVABILITY));
  const settings = smoke ? SMOKE : FULL;
  const machine = describeMachine();
  const loadBefore = loadAverage();
  log(`${smoke ? 'smoke' : 'full'} run on ${machine.cpu}, ${machine.cores} cores, Node.js ${machine.node}; load average ${loadBefore.toFixed(2)}`);

  const found = await findRedis(`bench:${randomId()}:`);
  const redis: BenchRedis | null = 'redis' in found ? found.redis : null;
  log(redis ? `Redis ${redis.version} at ${redis.where}, keys under ${redis.prefix}` : `Redis rows skipped: ${'skipped' in found ? found.skipped : ''}`);
  const foundPostgres = await findPostgres();
  const postgres = 'postgres' in foundPostgres ? foundPostgres.postgres : null;
  log(postgres ? `PostgreSQL ${postgres.version} at ${postgres.where}` : `PostgreSQL rows skipped: ${'skipped' in foundPostgres ? foundPostgres.skipped : ''}`);

  const servers: Partial<Record<VariantKey, ServerProcess>> = {};
  const context: BenchContext = { settings, servers, accessTokens: {}, emails: {}, log };

  try {
    // This server first, each variant with a user of its own: the others are shown the memory
    // store's access token and need the user it names.
    let memoryUser: unknown = null;
    for (const key of THIS_SERVER) {
      if (key === 'redis' && !redis) continue;
      const user = await startThisServer(context, key, redis);
      if (key === 'memory') memoryUser = user;
    }
    const benchUser = JSON.stringify(memoryUser);
    for (const entry of VARIANTS) if (!THIS_SERVER.includes(entry.key)) await startVariant(context, entry.key, benchUser, redis);

    log('GET /profile throughput');
    const profileRuns = await profileThroughput(context);
    log('POST /refresh throughput');
    const refreshMemory = await refreshThroughput(context, 'memory');
    const refreshRedis = redis ? await refreshThroughput(context, 'redis') : null;

    // Only the memory-store server stays for the latency scenario: the others would only take CPU.
    for (const key of Object.keys(servers) as VariantKey[]) {
      if (key !== 'memory') {
        await stopServer(servers[key]!);
      }
    }
    log('GET /profile latency while logins arrive');
    const loginRuns = await profileUnderLogins(context);
    await stopServer(servers.memory!);

    // Issue 21: the SQL stores beside a memory store of their own. Their servers start (PGlite's
    // start-up takes seconds) and their session rows are written while the heap is measured: heap
    // bytes do not depend on the CPU the two share, and nothing the SQL part times runs before the
    // heap is done. Short in the smoke run (a second per run, a few hundred rows, a few logouts),
    // so that it cannot rot either. Its failure is reported (and fails its targets), not fatal.
    log('memory store (the SQL part starts its servers meanwhile)');
    const sqlStarting = startSqlPart({ settings, postgres, log }).then(
      (part) => ({ part }),
      (error: unknown) => ({ error }),
    );
    let live: Results['live'];
    let churned: Results['churn'];
    try {
      live = await liveSessions(context);
      churned = await churn(context);
    } catch (error) {
      await sqlStarting.then((started) => ('part' in started ? started.part.close() : undefined));
      throw error;
    }
    log('PostgreSQL and PGlite stores against the memory store');
    const sql: Results['sql'] = await sqlStarting
      .then(async (started) => {
        if ('error' in started) throw started.error;
        try {
          return sqlFigures(await started.part.measure());
        } finally {
          await started.part.close();
        }
      })
      .catch((error: unknown) => {
        const why = (error instanceof Error ? error.message : String(error)).split('\n').slice(0, 3).join(' ');
        log(`the SQL part failed: ${why}`);
        return { failed: why };
      });

    // Issue 3's Redis bench, folded in as it stands: revocation across two instances, and the
    // revocation copy against a Redis lookup per request. Minutes long: the full run only.
    let redisDetails: string | null = null;
    if (redis && !smoke) {
      log('Redis details (bench/redis-vs-memory.ts)');
      const command = [process.execPath, '--import', 'tsx', 'bench/redis-vs-memory.ts'];
      // Its failure is reported, not fatal: the rest of the run stands on its own.
      redisDetails = await runToEnd(command, { REDIS_URL: redis.url, BENCH_DURATION: '4', BENCH_ROUNDS: '3' }).then(
        (out) => out.trim(),
        (error: unknown) => `It failed: ${(error instanceof Error ? error.message : String(error)).split('\n').slice(0, 3).join(' ')}`,
      );
    }

    const results: Results = {
      machine,
      settings,
      load: { before: loadBefore, after: loadAverage() },
      redis: redis ? { where: redis.where, version: redis.version } : { skipped: 'skipped' in found ? found.skipped : 'no Redis' },
      profile: Object.fromEntries(Object.entries(profileRuns).map(([key, runs]) => [key, figure(runs)])),
      refresh: { memory: figure(refreshMemory), ...(refreshRedis ? { redis: figure(refreshRedis) } : {}) },
      logins: {
        none: loginFigure(loginRuns.none, settings.logins.durationSec),
        steady: loginFigure(loginRuns.steady, settings.logins.durationSec),
        flood: loginFigure(loginRuns.flood, settings.logins.durationSec),
      },
      live,
      churn: churned,
      redisDetails,
      postgres: postgres ? { where: postgres.where, version: postgres.version } : { skipped: 'skipped' in foundPostgres ? foundPostgres.skipped : 'no PostgreSQL' },
      sql,
    };
    // Only the full run into bench/results stands for the README's figures.
    write(out, results, !smoke && out === DEFAULT_OUT);
  } finally {
    await Promise.all(Object.values(servers).map((server) => stopServer(server)));
    if (redis) await deleteKeys(redis).catch((error: unknown) => log(`could not delete the bench's Redis keys: ${String(error)}`));
  }
}

/** `--observability`: the two servers of issue 23's comparison, their GET /profile rounds, the figures printed. */
async function observabilityRun(settings: Settings): Promise<void> {
  const machine = describeMachine();
  const loadBefore = loadAverage();
  log(
    `metrics and audit on / off: ${settings.rounds} rounds of ${settings.throughput.durationSec} s, ${settings.throughput.connections} connections, ` +
      `on ${machine.cpu}, ${machine.cores} cores, Node.js ${machine.node}; load average ${loadBefore.toFixed(2)}`,
  );
  const context: BenchContext = { settings, servers: {}, accessTokens: {}, emails: {}, log };
  try {
    for (const key of [OBSERVABILITY_PAIR.off, OBSERVABILITY_PAIR.on]) await startThisServer(context, key, null);
    const runs = await profileThroughput(context);
    const profile = Object.fromEntries(Object.entries(runs).map(([key, list]) => [key, figure(list)]));
    const loadAfter = loadAverage();
    process.stdout.write(
      `\nMeasured on: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GiB · ${machine.os} · Node.js ${machine.node} · ${machine.date} · ` +
        `load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after.\n\n${observabilityReportMarkdown({ settings, profile })}`,
    );
  } finally {
    await Promise.all(Object.values(context.servers).map((server) => stopServer(server)));
  }
}

function write(out: string, results: Results, updateReadme: boolean): void {
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'latest.md'), reportMarkdown(results));
  writeFileSync(path.join(out, 'latest.svg'), chartSvg(results));
  writeFileSync(path.join(out, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  log(`report: ${path.join(out, 'latest.md')}`);
  if (!updateReadme) return;
  const readmePath = path.join(ROOT, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const from = readme.indexOf(README_START);
  const to = readme.indexOf(README_END);
  if (from < 0 || to < from) {
    log('README.md has no results block; left as it is');
    return;
  }
  const block = `${README_START}\n${summaryMarkdown(results)}\n${README_END}`;
  writeFileSync(readmePath, readme.slice(0, from) + block + readme.slice(to + README_END.length));
  log('README.md: results block updated');
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
