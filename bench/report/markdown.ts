// The Markdown report: machine, targets, and one table per scenario; the README shows its summary part.
import { FLOOD_ADDRESS, type LoginLoad } from '../scenarios/logins';
import { OBSERVABILITY_PAIR, VARIANTS } from '../variants';
import { SQL_STORE_KEYS, type SqlStoreKey } from '../scenarios/sql';
import {
  formatBytes,
  observability,
  observabilityTarget,
  slowdown,
  sqlTargets,
  targets,
  type Figure,
  type Results,
  type Target,
} from './summary';

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : '—');
const int = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '—');
const ratio = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)} ×` : '—');
const cpu = (figure: Figure) => (figure.cpuUs === null ? '—' : figure.cpuUs.toFixed(0));

function verdict(met: boolean | null, judged: boolean): string {
  if (!judged) return 'not judged (smoke)';
  if (met === null) return 'skipped';
  return met ? '✅ met' : '❌ not met';
}

export function machineLine(results: Results): string {
  const { machine, redis, postgres } = results;
  const redisText = 'skipped' in redis ? `Redis: none (${redis.skipped})` : `Redis ${redis.version} at ${redis.where}`;
  const postgresText = 'skipped' in postgres ? `PostgreSQL: none (${postgres.skipped})` : `PostgreSQL ${postgres.version} at ${postgres.where}`;
  return (
    `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GiB · ${machine.os} · Node.js ${machine.node} · ` +
    `${redisText} · ${postgresText} · ${machine.date} · load average ${results.load.before.toFixed(2)} before, ${results.load.after.toFixed(2)} after`
  );
}

export function targetsTable(results: Results): string {
  return targetRows(targets(results), !results.settings.smoke);
}

function targetRows(list: readonly Target[], judged: boolean): string {
  const rows = list.map((target) => `| ${target.name} | ${target.measured} | ${verdict(target.met, judged)} |`);
  return ['| target | measured in this run | |', '|---|---|---|', ...rows].join('\n');
}

export function profileTable(results: Results): string {
  const reference = results.profile.express?.rps ?? Number.NaN;
  const rows = VARIANTS.map((variant) => {
    const figure = results.profile[variant.key];
    if (!figure) {
      const why = variant.key === 'redis' && 'skipped' in results.redis ? results.redis.skipped : 'not run';
      return `| ${variant.label} | ${variant.what} | skipped: ${why} | | | | | |`;
    }
    return (
      `| ${variant.label} | ${variant.what} | ${int(figure.rps)} | ${ratio(figure.rps / reference)} | ` +
      `${ms(figure.p50)} | ${ms(figure.p99)} | ${cpu(figure)} | ${figure.rounds.map(int).join(', ')} |`
    );
  });
  return [
    '| GET /profile | what it does | req/s | × bare Express | p50 ms | p99 ms | server CPU µs/req | req/s per round |',
    '|---|---|--:|--:|--:|--:|--:|---|',
    ...rows,
  ].join('\n');
}

/** A throughput row's figures: req/s, its ratio to `reference` (req/s), p50, p99, server CPU, failures, each round's req/s. */
function throughputCells(figure: Figure, reference: number): string {
  return (
    `${int(figure.rps)} | ${ratio(figure.rps / reference)} | ${ms(figure.p50)} | ${ms(figure.p99)} | ` +
    `${cpu(figure)} | ${figure.failed} | ${figure.rounds.map(int).join(', ')}`
  );
}

function refreshTable(results: Results): string {
  const reference = results.profile.express?.rps ?? Number.NaN;
  const rows = (['memory', 'redis'] as const).map((key) => {
    const figure = results.refresh[key];
    const label = key === 'memory' ? 'this server, memory store' : 'this server, Redis store';
    if (!figure) return `| ${label} | skipped: ${'skipped' in results.redis ? results.redis.skipped : 'not run'} | | | | | | |`;
    return `| ${label} | ${throughputCells(figure, reference)} |`;
  });
  return [
    '| POST /refresh | req/s | × bare Express GET /profile | p50 ms | p99 ms | server CPU µs/req | failed | req/s per round |',
    '|---|--:|--:|--:|--:|--:|--:|---|',
    ...rows,
  ].join('\n');
}

const LOGIN_LABELS: Record<LoginLoad, string> = {
  none: 'no logins',
  steady: 'steady logins',
  flood: 'logins faster than the cores can hash, from one address',
};

function loginsTable(results: Results): string {
  const quiet = results.logins.none.profile.p99;
  const rows = (['none', 'steady', 'flood'] as const).map((load) => {
    const entry = results.logins[load];
    const logins = entry.logins;
    return (
      `| ${LOGIN_LABELS[load]} | ${entry.offered || '—'} | ${logins ? int(logins.rps) : '—'} | ` +
      `${logins ? int(entry.unavailablePerSec) : '—'} | ${logins ? ms(logins.p99) : '—'} | ` +
      `${ms(entry.profile.p50)} | ${ms(entry.profile.p99)} | ${ratio(entry.profile.p99 / quiet)} |`
    );
  });
  const fair = results.logins.flood.otherAddresses;
  const others = fair
    ? `Meanwhile, correct logins from ${results.settings.logins.otherAddresses} other addresses: ${int(fair.ok)} of ${int(fair.sent)} answered 200` +
      `${Object.keys(fair.kinds).length > 0 ? ` (the others: ${Object.entries(fair.kinds).map(([kind, count]) => `${kind} × ${count}`).join(', ')})` : ''}.`
    : '';
  return [
    '| while | logins offered/s | logins answered 200/s | answered 503/s | login p99 ms | /profile p50 ms | /profile p99 ms | p99 × without logins |',
    '|---|--:|--:|--:|--:|--:|--:|--:|',
    ...rows,
    ...(others ? ['', others] : []),
  ].join('\n');
}

function memoryTable(results: Results): string {
  const live = results.live.map(
    (entry) => `| heap per live session | ${int(entry.sessions)} | ${entry.bytesPerSession.toFixed(0)} bytes |`,
  );
  const { churn } = results;
  return [
    '| memory store | sessions | result |',
    '|---|--:|---|',
    ...live,
    `| heap after churn (open, log out half, expire half; ${churn.rounds} rounds) vs before | ${int(churn.sessions)} per round | ` +
      `${formatBytes(churn.retainedBytes)} (peak ${formatBytes(churn.heapPeak - churn.heapBaseline)}), ${churn.sessionsLeft} sessions left |`,
  ].join('\n');
}

const SQL_LABELS: Record<SqlStoreKey, string> = {
  memory: 'memory store',
  postgres: 'PostgreSQL',
  pglite: 'PGlite (embedded)',
};

type SqlPart = Pick<Results, 'settings' | 'postgres' | 'sql'>;

function sqlThroughputTable({ postgres, sql }: SqlPart): string {
  if ('failed' in sql) return `The SQL part of the bench failed: ${sql.failed}`;
  const rows = (['profile', 'refresh'] as const).flatMap((route) => {
    const figures = sql[route];
    const name = route === 'profile' ? 'GET /profile' : 'POST /refresh';
    return SQL_STORE_KEYS.map((key) => {
      const figure = figures[key];
      if (!figure) {
        const why = key === 'postgres' && 'skipped' in postgres ? postgres.skipped : 'not run';
        return `| ${SQL_LABELS[key]} | ${name} | skipped: ${why} | | | | | | |`;
      }
      return `| ${SQL_LABELS[key]} | ${name} | ${throughputCells(figure, figures.memory?.rps ?? Number.NaN)} |`;
    });
  });
  return [
    '| stores | route | req/s | × memory store | p50 ms | p99 ms | server CPU µs/req | failed | req/s per round |',
    '|---|---|--:|--:|--:|--:|--:|--:|---|',
    ...rows,
  ].join('\n');
}

function postgresTable({ postgres, sql }: SqlPart): string {
  if ('failed' in sql) return '';
  const header = ['| PostgreSQL | measured |', '|---|---|'];
  const names = {
    rows: 'on disk per session row: table, TOAST and indexes, each session as login writes it',
    refreshed: 'on disk per session row after one refresh of each (old row versions not yet vacuumed)',
    revocation: 'logout on instance A → token refused by instance B (two servers on one schema)',
  };
  const { rows, revocation } = sql;
  if ('skipped' in postgres || !rows || !revocation) {
    const why = 'skipped' in postgres ? postgres.skipped : 'not run';
    return [...header, ...Object.values(names).map((name) => `| ${name} | skipped: ${why} |`)].join('\n');
  }
  const bytes = (value: number) => `${value.toFixed(0)} bytes`;
  return [
    ...header,
    `| ${names.rows} | ${bytes(rows.bytesPerSession)} (table ${bytes(rows.tableBytesPerSession)}, indexes ${bytes(rows.indexBytesPerSession)}; ${int(rows.sessions)} sessions) |`,
    `| ${names.refreshed} | ${bytes(rows.afterRefreshBytesPerSession)} |`,
    `| ${names.revocation} | p50 ${ms(revocation.p50Ms)} ms, p99 ${ms(revocation.p99Ms)} ms, max ${ms(revocation.maxMs)} ms over ${revocation.rounds} rounds; ` +
      `refused at the first request after the logout in ${revocation.firstProbeRefused} |`,
  ].join('\n');
}

/** The SQL stores' section: how it was measured and its tables (also what `npm run bench:sql` prints). */
export function sqlSection(part: SqlPart): string {
  const pglite = 'failed' in part.sql ? '' : ` ${part.sql.pgliteVersion}`;
  const { rounds } = part.settings;
  return [
    'Servers of this part\'s own, each `node dist/server.js` as above: the memory store, PostgreSQL (`DATABASE_URL=postgres://…`, a schema made',
    `for the run and dropped after it) and PGlite${pglite} (\`DATABASE_URL=file:…\`, a fresh temporary directory), loaded side by side in`,
    `${rounds === 1 ? 'one round' : `${rounds} interleaved rounds (median shown)`}; each ratio is to the memory store of the same rounds. Session rows are written through the store`,
    'API (`openSqlStores`) into a schema of their own; the growth of `pg_total_relation_size` over the empty table is divided by their number.',
    'The revocation delay runs from the 204 of a logout on the PostgreSQL server (A) to the first 401 for the same access token from a second',
    'server on the same schema (B), asked again at once until it refuses.',
    '',
    sqlTables(part),
  ].join('\n');
}

function sqlTables(part: SqlPart): string {
  return [sqlThroughputTable(part), postgresTable(part)].filter((table) => table !== '').join('\n\n');
}

/** What `npm run bench:sql` prints on its own: the SQL targets, then the section. */
export function sqlReportMarkdown(part: SqlPart): string {
  return [targetRows(sqlTargets(part), !part.settings.smoke), '', sqlSection(part), ''].join('\n');
}

type ObservabilityPart = Pick<Results, 'settings' | 'profile'>;

/** Issue 23's comparison: how it was measured, and each round's pair of runs. */
export function observabilitySection(part: ObservabilityPart): string {
  const off = part.profile[OBSERVABILITY_PAIR.off];
  const on = part.profile[OBSERVABILITY_PAIR.on];
  const found = observability(part.profile);
  if (!off || !on || !found) return 'Not measured: one of the two servers did not run.';
  const rows = found.rounds.map(
    (ratioOfRound, i) => `| ${i + 1} | ${int(off.rounds[i]!)} | ${int(on.rounds[i]!)} | ${ratio(ratioOfRound)} (${slowdown(ratioOfRound)}) |`,
  );
  const cpuCells = `${cpu(off)} | ${cpu(on)} | ${ratio(found.cpuRatio)}`;
  return [
    'Two servers of this build with the memory store, `NODE_ENV=production`, one without `METRICS_TOKEN` (no metrics: `GET /metrics` is 404)',
    'and one with it (`GET /metrics` on, every request timed into `http_request_duration_seconds` at the edge, the fast lane of GET /profile',
    'included). Audit events are recorded on both, as always; GET /profile records none, so the difference between the two is the metrics.',
    'The two run back to back in every round of the GET /profile table, the first of them alternating from round to round; each round\'s',
    'ratio compares runs seconds apart, and their median is what the target judges. The metrics-on server is scraped once before its first',
    'run (which starts the process metrics, as a Prometheus scrape does) and once after its last: the run stops unless the scrape counts at',
    'least every GET /profile answer the load generator received.',
    '',
    '| round | off req/s | on req/s | on / off |',
    '|--:|--:|--:|--:|',
    ...rows,
    `| median | ${int(off.rps)} | ${int(on.rps)} | ${ratio(found.ratio)} of the rounds' ratios; ${ratio(found.medianRatio)} of the medians |`,
    '',
    '| server CPU µs per request | off | on | on / off |',
    '|---|--:|--:|--:|',
    `| median over the rounds | ${cpuCells} |`,
  ].join('\n');
}

/** What `npm run bench:observability` prints: the target, then the section. */
export function observabilityReportMarkdown(part: ObservabilityPart): string {
  return [targetRows([observabilityTarget(part.profile)], !part.settings.smoke), '', observabilitySection(part), ''].join('\n');
}

/** What the README shows: the machine, the targets and the throughput table. */
export function summaryMarkdown(results: Results): string {
  return [
    `Measured on: ${machineLine(results)}.`,
    '',
    targetsTable(results),
    '',
    profileTable(results),
    '',
    refreshTable(results),
    '',
    loginsTable(results),
    '',
    memoryTable(results),
    '',
    sqlTables(results),
  ].join('\n');
}

export function reportMarkdown(results: Results): string {
  const s = results.settings;
  const how = s.smoke
    ? 'Smoke run (`npm run bench:smoke`): one short round of every scenario, to prove the bench works; its figures mean nothing.'
    : `Full run (\`npm run bench\`): ${s.rounds} interleaved rounds per figure (median shown), ${s.throughput.durationSec} s per throughput run with ${s.throughput.connections} connections after ${s.warmupSec} s of warm-up per server.`;
  return [
    '# Benchmark results',
    '',
    how,
    '',
    `Measured on: ${machineLine(results)}.`,
    '',
    'Every server runs in its own process; autocannon loads it from the driver process on the same machine, so',
    'client and server share the cores, as the ratios (all from this one run) take into account. Latencies are of',
    '2xx answers, recorded per response at microsecond resolution. "server CPU" is the server process\'s user +',
    'system time per answered request, read from /proc. This server runs as `node dist/server.js` with',
    '`NODE_ENV=production`, `BCRYPT_COST=10` and its request log at `info` (to /dev/null).',
    '',
    '## Targets',
    '',
    targetsTable(results),
    '',
    '## GET /profile throughput',
    '',
    profileTable(results),
    '',
    '![GET /profile and POST /refresh throughput relative to a bare Express route](latest.svg)',
    '',
    '## Metrics and audit on / off (GET /profile)',
    '',
    observabilitySection(results),
    '',
    '## POST /refresh throughput',
    '',
    'Each connection follows the refresh-token chain of its own session, presenting the token its last refresh returned.',
    '',
    refreshTable(results),
    '',
    '## GET /profile latency while logins arrive',
    '',
    `Memory store, bcrypt cost 10. GET /profile at a fixed ${s.logins.profileRate} req/s over ${s.logins.profileConnections} connections for ${s.logins.durationSec} s, ` +
      `alone, with ${s.logins.steadyRate} logins/s from 4 connections, and with ${s.logins.floodRate} logins/s offered from ${s.logins.floodConnections} connections ` +
      `of one address (${FLOOD_ADDRESS}) while ${s.logins.othersRate} correct logins/s come from ${s.logins.otherAddresses} other addresses (127.0.0.2 and on, in turn).`,
    '',
    loginsTable(results),
    '',
    '## Memory',
    '',
    'Measured in a separate process (`node --expose-gc`) filling the memory store through its API with sessions shaped as',
    'a login makes them (ids, a browser user agent and an address as a request delivers them, two sessions per user), each',
    'refreshed once; heap after a full GC, minus the heap before.',
    '',
    memoryTable(results),
    '',
    '## PostgreSQL and PGlite against the memory store',
    '',
    sqlSection(results),
    '',
    '## Redis: revocation across instances, and a Redis lookup per request',
    '',
    redisDetails(results),
    '',
  ].join('\n');
}

function redisDetails(results: Results): string {
  if (results.redisDetails !== null) {
    return `From \`bench/redis-vs-memory.ts\` (issue 3), run by this bench: its own servers, 4 s runs, 3 rounds.\n\n${results.redisDetails}`;
  }
  if ('skipped' in results.redis) return `Skipped: ${results.redis.skipped}.`;
  return 'Run by the full bench only (`npm run bench`): `bench/redis-vs-memory.ts` takes minutes.';
}
