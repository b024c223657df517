// Turns the runs of one bench into medians, ratios and the verdict on each target of issues 7, 21 and 23.
import type { LoadResult } from '../lib/load';
import type { Machine } from '../lib/machine';
import type { RevocationDelay } from '../lib/revocation';
import type { Settings } from '../lib/settings';
import { median } from '../lib/stats';
import type { LoginLoad, LoginRun } from '../scenarios/logins';
import type { Churn, LiveSessions } from '../scenarios/memory';
import type { SessionRowBytes, SqlRuns, SqlStoreKey } from '../scenarios/sql';
import { OBSERVABILITY_PAIR, type VariantKey } from '../variants';

/** The median of each figure over the rounds of one measurement. */
export interface Figure {
  rps: number;
  p50: number;
  p99: number;
  cpuUs: number | null;
  failed: number;
  /** req/s of each round, in order. */
  rounds: number[];
}

export interface LoginFigure {
  offered: number;
  profile: Figure;
  logins: Figure | null;
  /** 503 answers per second. */
  unavailablePerSec: number;
  /** Answers other than 200 and 503, and connection errors: none expected. */
  otherFailures: number;
  /** Those failures by status or error code, over every round. */
  otherKinds: Record<string, number>;
  /**
   * During a one-address flood: the correct logins sent from other addresses and those answered
   * 200, over every round, with the other answers by status or error code. Null for other loads.
   */
  otherAddresses: { sent: number; ok: number; kinds: Record<string, number> } | null;
}

export interface Results {
  machine: Machine;
  settings: Settings;
  load: { before: number; after: number };
  redis: { where: string; version: string } | { skipped: string };
  profile: Partial<Record<VariantKey, Figure>>;
  refresh: Partial<Record<'memory' | 'redis', Figure>>;
  logins: Record<LoginLoad, LoginFigure>;
  live: LiveSessions[];
  churn: Churn;
  /** What bench/redis-vs-memory.ts printed (full runs with Redis only). */
  redisDetails: string | null;
  postgres: { where: string; version: string } | { skipped: string };
  /** The SQL stores against the memory store (bench/scenarios/sql.ts), or why that part failed. */
  sql: SqlFigures | { failed: string };
}

/** The figures of the SQL scenario: its runs turned into medians. */
export interface SqlFigures {
  pgliteVersion: string;
  profile: Partial<Record<SqlStoreKey, Figure>>;
  refresh: Partial<Record<SqlStoreKey, Figure>>;
  rows: SessionRowBytes | null;
  revocation: RevocationDelay | null;
}

export function sqlFigures(runs: SqlRuns): SqlFigures {
  const figures = (byKey: Partial<Record<SqlStoreKey, LoadResult[]>>) =>
    Object.fromEntries(Object.entries(byKey).map(([key, list]) => [key, figure(list)])) as Partial<Record<SqlStoreKey, Figure>>;
  return { pgliteVersion: runs.pgliteVersion, profile: figures(runs.profile), refresh: figures(runs.refresh), rows: runs.rows, revocation: runs.revocation };
}

export function figure(runs: readonly LoadResult[]): Figure {
  const cpu = runs.map((run) => run.cpuUsPerRequest).filter((value): value is number => value !== null);
  return {
    rps: median(runs.map((run) => run.rps)),
    p50: median(runs.map((run) => run.p50)),
    p99: median(runs.map((run) => run.p99)),
    cpuUs: cpu.length === 0 ? null : median(cpu),
    failed: runs.reduce((sum, run) => sum + run.failed, 0),
    rounds: runs.map((run) => run.rps),
  };
}

export function loginFigure(runs: readonly LoginRun[], durationSec: number): LoginFigure {
  const logins = runs.map((run) => run.logins).filter((run): run is LoadResult => run !== null);
  const unavailable = logins.map((run) => (run.statuses['503'] ?? 0) / durationSec);
  const other = logins.reduce((sum, run) => sum + run.failed - (run.statuses['503'] ?? 0), 0);
  const otherKinds: Record<string, number> = {};
  for (const run of logins) {
    for (const [kind, count] of Object.entries(run.statuses)) {
      if (kind !== '503' && !/^2\d\d$/.test(kind)) otherKinds[kind] = (otherKinds[kind] ?? 0) + count;
    }
  }
  const others = runs.map((run) => run.others).filter((run): run is LoadResult => run !== null);
  let otherAddresses: LoginFigure['otherAddresses'] = null;
  if (others.length > 0) {
    const notOk: Record<string, number> = {};
    for (const run of others) {
      for (const [kind, count] of Object.entries(run.statuses)) if (kind !== '200') notOk[kind] = (notOk[kind] ?? 0) + count;
    }
    const ok = others.reduce((sum, run) => sum + (run.statuses['200'] ?? 0), 0);
    otherAddresses = { sent: others.reduce((sum, run) => sum + run.ok + run.failed, 0), ok, kinds: notOk };
  }
  return {
    offered: runs[0]?.offered ?? 0,
    profile: figure(runs.map((run) => run.profile)),
    logins: logins.length === 0 ? null : figure(logins),
    unavailablePerSec: logins.length === 0 ? 0 : median(unavailable),
    otherFailures: other,
    otherKinds,
    otherAddresses,
  };
}

export interface Target {
  name: string;
  /** The measured value, in words. */
  measured: string;
  /** Null when it could not be measured in this run (no Redis). */
  met: boolean | null;
}

const times = (value: number) => `${value.toFixed(2)} ×`;

/** Metrics and audit on against off (issue 23), from the GET /profile rounds of one run. */
export interface Observability {
  /** The median of each round's ratio of its two runs (on / off), measured back to back: what is judged. */
  ratio: number;
  /** Each round's ratio, in order. */
  rounds: number[];
  /** The ratio of the two medians, as the other rows of the table are compared. */
  medianRatio: number;
  /** Server CPU per request, on / off (medians); NaN without /proc. */
  cpuRatio: number;
}

/** The largest slowdown issue 23 allows: metrics and audit cost GET /profile less than 5 %. */
export const OBSERVABILITY_MAX_SLOWDOWN = 0.05;
export const OBSERVABILITY_TARGET = 'GET /profile (memory) with metrics and audit on: < 5 % slower than off';

export function observability(profile: Results['profile']): Observability | null {
  const off = profile[OBSERVABILITY_PAIR.off];
  const on = profile[OBSERVABILITY_PAIR.on];
  if (!off || !on || off.rounds.length !== on.rounds.length || off.rounds.length === 0) return null;
  const rounds = on.rounds.map((rps, i) => rps / off.rounds[i]!);
  return {
    ratio: median(rounds),
    rounds,
    medianRatio: on.rps / off.rps,
    cpuRatio: on.cpuUs !== null && off.cpuUs !== null ? on.cpuUs / off.cpuUs : Number.NaN,
  };
}

/** "2.1 % slower", "0.8 % faster". */
export function slowdown(ratio: number): string {
  const percent = (1 - ratio) * 100;
  return percent >= 0 ? `${percent.toFixed(1)} % slower` : `${(-percent).toFixed(1)} % faster`;
}

export function observabilityTarget(profile: Results['profile']): Target {
  const found = observability(profile);
  // Both variants run in every full run: a missing one is a failure to show, not a skip.
  if (!found) return { name: OBSERVABILITY_TARGET, measured: 'not measured', met: false };
  const cpu = Number.isFinite(found.cpuRatio) ? `; server CPU per request ${times(found.cpuRatio)}` : '';
  return {
    name: OBSERVABILITY_TARGET,
    measured: `${times(found.ratio)} on / off = ${slowdown(found.ratio)} (median of each round's pair${cpu})`,
    met: 1 - found.ratio < OBSERVABILITY_MAX_SLOWDOWN,
  };
}

/** The verdict on each target of the issue, from figures of this one run. */
export function targets(results: Results): Target[] {
  const { profile, refresh, logins } = results;
  const list: Target[] = [];
  const ratio = (a: VariantKey, b: VariantKey) => (profile[a] && profile[b] ? profile[a]!.rps / profile[b]!.rps : Number.NaN);

  const vsExpress = ratio('memory', 'express');
  list.push({ name: 'GET /profile (memory) ≥ 0.90 × bare Express', measured: times(vsExpress), met: vsExpress >= 0.9 });
  const vsTutorial = ratio('memory', 'tutorial');
  list.push({ name: 'GET /profile (memory) ≥ 3.5 × tutorial middleware', measured: times(vsTutorial), met: vsTutorial >= 3.5 });
  const vsPassport = ratio('memory', 'passport');
  const vsExpressJwt = ratio('memory', 'expressJwt');
  list.push({
    name: 'GET /profile (memory) ahead of passport-jwt and express-jwt',
    measured: `${times(vsPassport)} passport-jwt, ${times(vsExpressJwt)} express-jwt`,
    met: vsPassport > 1 && vsExpressJwt > 1,
  });
  if (profile.redis) {
    const vsMemory = ratio('redis', 'memory');
    list.push({ name: 'GET /profile (Redis) ≥ 0.85 × memory store', measured: times(vsMemory), met: vsMemory >= 0.85 });
  } else {
    list.push({ name: 'GET /profile (Redis) ≥ 0.85 × memory store', measured: 'not measured: no Redis', met: null });
  }
  list.push(observabilityTarget(profile));
  const refreshRatio = refresh.memory && profile.express ? refresh.memory.rps / profile.express.rps : Number.NaN;
  list.push({ name: 'POST /refresh (memory) ≥ 0.5 × bare Express', measured: times(refreshRatio), met: refreshRatio >= 0.5 });
  list.push(...sqlTargets(results));

  const quiet = logins.none.profile;
  const steady = logins.steady.profile;
  const flood = logins.flood.profile;
  // "Unchanged" p50: within 10 %, or within 0.05 ms (the scale of scheduling noise at a fraction of a millisecond).
  const p50Unchanged = steady.p50 <= Math.max(quiet.p50 * 1.1, quiet.p50 + 0.05);
  list.push({
    name: `${logins.steady.offered} logins/s: /profile p50 unchanged`,
    measured: `${steady.p50.toFixed(3)} ms vs ${quiet.p50.toFixed(3)} ms without logins`,
    met: p50Unchanged,
  });
  list.push({
    name: `${logins.steady.offered} logins/s: /profile p99 ≤ 2 × without logins`,
    measured: `${steady.p99.toFixed(2)} ms = ${times(steady.p99 / quiet.p99)}`,
    met: steady.p99 <= 2 * quiet.p99,
  });
  list.push({
    name: `${logins.flood.offered} logins/s offered (more than the cores can hash): /profile p99 ≤ 3 × without logins`,
    measured: `${flood.p99.toFixed(2)} ms = ${times(flood.p99 / quiet.p99)}`,
    met: flood.p99 <= 3 * quiet.p99,
  });
  list.push({
    name: 'logins beyond the bounded queue get 503 with Retry-After, nothing else fails',
    measured: `${logins.flood.unavailablePerSec.toFixed(0)} × 503 per s, ${logins.flood.otherFailures} other failures${kinds(logins.flood.otherKinds)}`,
    met: logins.flood.unavailablePerSec > 0 && logins.flood.otherFailures === 0,
  });
  const fair = logins.flood.otherAddresses;
  list.push({
    name: 'correct logins from other addresses answered 200 during a one-address flood: all of them',
    measured: fair ? `${fair.ok} of ${fair.sent}${kinds(fair.kinds)}` : 'not measured',
    met: fair !== null && fair.sent > 0 && fair.ok === fair.sent,
  });

  const largest = results.live.at(-1);
  if (largest) {
    list.push({
      name: `≤ 700 bytes of heap per live session (memory store, ${largest.sessions.toLocaleString('en-US')} sessions)`,
      measured: `${largest.bytesPerSession.toFixed(0)} bytes`,
      met: largest.bytesPerSession <= 700,
    });
  }
  const { churn } = results;
  // What is left must be noise, not sessions: well under one byte per session churned.
  const churnClean = churn.sessionsLeft === 0 && churn.retainedBytes < churn.sessions * 1;
  list.push({
    name: 'ended and expired sessions reclaimed: heap back to its baseline after churn',
    measured: `${formatBytes(churn.retainedBytes)} over the baseline after ${(churn.sessions * churn.rounds).toLocaleString('en-US')} sessions, ${churn.sessionsLeft} left`,
    met: churnClean,
  });
  return list;
}

/** Issue 21: PostgreSQL against the memory store measured beside it; PGlite is shown, not judged. */
export function sqlTargets(results: Pick<Results, 'postgres' | 'sql'>): Target[] {
  const { postgres, sql } = results;
  const limits = [
    { route: 'profile', name: 'GET /profile (PostgreSQL) ≥ 0.85 × memory store', min: 0.85 },
    { route: 'refresh', name: 'POST /refresh (PostgreSQL) ≥ 0.5 × memory store', min: 0.5 },
  ] as const;
  return limits.map(({ route, name, min }): Target => {
    // A failed part is a failure to show, not a skip: it would otherwise pass unnoticed.
    if ('failed' in sql) return { name, measured: 'not measured: the SQL part of the bench failed', met: false };
    if ('skipped' in postgres) return { name, measured: `not measured: no PostgreSQL (${postgres.skipped})`, met: null };
    const vsMemory = (key: SqlStoreKey) => {
      const figures = sql[route];
      return figures[key] && figures.memory ? figures[key]!.rps / figures.memory.rps : Number.NaN;
    };
    const ratio = vsMemory('postgres');
    return { name, measured: `${times(ratio)} (PGlite ${times(vsMemory('pglite'))}, no target)`, met: ratio >= min };
  });
}

export function formatBytes(bytes: number): string {
  const sign = bytes < 0 ? '−' : '+';
  const size = Math.abs(bytes);
  if (size >= 2 ** 20) return `${sign}${(size / 2 ** 20).toFixed(1)} MiB`;
  if (size >= 1024) return `${sign}${(size / 1024).toFixed(1)} KiB`;
  return `${sign}${size} B`;
}

/** " (ECONNRESET × 2, 500 × 1)", or nothing when there were none. */
function kinds(counts: Record<string, number>): string {
  const listed = Object.entries(counts).map(([kind, count]) => `${kind} × ${count}`);
  return listed.length === 0 ? '' : ` (${listed.join(', ')})`;
}
