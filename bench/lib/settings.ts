// How long and how hard each scenario runs: the full run (`npm run bench`) or the smoke run (`--smoke`, seconds).

export interface Settings {
  smoke: boolean;
  /** Interleaved rounds; each figure is the median of its rounds. */
  rounds: number;
  /** Load before the first measured run of a server, so that its code is compiled. */
  warmupSec: number;
  throughput: { connections: number; durationSec: number };
  logins: {
    durationSec: number;
    /** GET /profile at this fixed rate while logins arrive (well under what the server can do). */
    profileRate: number;
    profileConnections: number;
    /** The steady rate of the target. */
    steadyRate: number;
    /** Faster than the cores can hash at cost 10, from many clients at once, all of one address. */
    floodRate: number;
    floodConnections: number;
    /** Correct logins per second from other addresses (taken in turn) while the flood goes on. */
    othersRate: number;
    otherAddresses: number;
  };
  memory: { live: number[]; churn: number };
  sql: {
    /** Sessions written through the store API before the sessions table is measured on disk. */
    sessionRows: number;
    /** Logouts on one instance timed until another refuses the token. */
    revocationRounds: number;
  };
}

export const FULL: Settings = {
  smoke: false,
  // Five rounds, not three: on a shared 2-core machine one run of a server can fall 20–30 % below
  // its others while its neighbours' do not, and with three rounds one such run can move a median.
  rounds: 5,
  warmupSec: 3,
  throughput: { connections: 50, durationSec: 5 },
  logins: {
    durationSec: 10,
    profileRate: 1000,
    profileConnections: 10,
    steadyRate: 10,
    floodRate: 300,
    floodConnections: 100,
    othersRate: 5,
    otherAddresses: 5,
  },
  memory: { live: [100_000, 1_000_000], churn: 100_000 },
  sql: { sessionRows: 10_000, revocationRounds: 200 },
};

export const SMOKE: Settings = {
  smoke: true,
  rounds: 1,
  warmupSec: 0.5,
  throughput: { connections: 10, durationSec: 1 },
  logins: {
    durationSec: 1.5,
    profileRate: 200,
    profileConnections: 4,
    steadyRate: 10,
    floodRate: 300,
    floodConnections: 50,
    othersRate: 5,
    otherAddresses: 5,
  },
  memory: { live: [5_000, 10_000], churn: 5_000 },
  sql: { sessionRows: 500, revocationRounds: 5 },
};

/**
 * `npm run bench:observability`: the GET /profile rounds of the full run, the metrics-on and -off
 * servers only, more rounds of them (each a pair of runs seconds apart; the median of their ratios
 * is judged against 5 %, a finer line than the other targets draw).
 */
export const OBSERVABILITY: Settings = { ...FULL, rounds: 10 };

/** A positive number from the environment, or `fallback` when unset. */
function fromEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!(value > 0)) throw new Error(`${name} must be a positive number`);
  return value;
}

/** `base` with BENCH_ROUNDS, BENCH_DURATION (seconds per run) and BENCH_CONNECTIONS from the environment when set. */
export function settingsFromEnv(base: Settings): Settings {
  return {
    ...base,
    rounds: Math.round(fromEnv('BENCH_ROUNDS', base.rounds)),
    throughput: {
      connections: Math.round(fromEnv('BENCH_CONNECTIONS', base.throughput.connections)),
      durationSec: fromEnv('BENCH_DURATION', base.throughput.durationSec),
    },
  };
}
