// GET /profile latency while logins arrive: none, at a steady rate, and faster than the cores can hash from one address while other addresses log in.
import { BENCH_PASSWORD } from '../lib/accounts';
import type { LoadResult } from '../lib/load';
import { runPaced, type PacedOptions } from '../lib/paced';
import { runToEnd } from '../lib/processes';
import type { BenchContext } from './context';

export type LoginLoad = 'none' | 'steady' | 'flood';
export const LOGIN_LOADS: readonly LoginLoad[] = ['none', 'steady', 'flood'];

export interface LoginRun {
  profile: LoadResult;
  /** Null when no logins were sent. */
  logins: LoadResult | null;
  /** The login rate offered, per second. */
  offered: number;
  /** During the flood only: correct logins from other addresses than the flood's; else null. */
  others: LoadResult | null;
}

/** The one address the flood comes from; the others are 127.0.0.2, 127.0.0.3, … */
export const FLOOD_ADDRESS = '127.0.0.30';

/**
 * On the memory-store server: GET /profile at an even rate well below its maximum (so that its
 * latency is the server's, not a queue's), alone, next to logins at a steady pace, and next to a
 * flood of logins from many clients of one address (FLOOD_ADDRESS), while a few correct logins
 * from other addresses come in too, each of which should be answered 200 (issue 26: the hashing
 * queue is shared fairly between addresses); in interleaved rounds.
 */
export async function profileUnderLogins(context: BenchContext): Promise<Record<LoginLoad, LoginRun[]>> {
  const { settings } = context;
  const server = context.servers.memory!;
  const s = settings.logins;
  const runs: Record<LoginLoad, LoginRun[]> = { none: [], steady: [], flood: [] };
  const body = JSON.stringify({ email: context.emails.memory, password: BENCH_PASSWORD });

  const once = async (load: LoginLoad): Promise<LoginRun> => {
    // Both loads start together, once the login process has had time to load.
    const startAt = Date.now() + 1500;
    const logins = startLogins(load, startAt);
    await new Promise((resolve) => setTimeout(resolve, startAt - Date.now()));
    // Protected requests at an even pace on a few connections, as many clients would send them.
    const profile = runPaced({
      port: server.port,
      path: '/profile',
      headers: { Authorization: `Bearer ${context.accessTokens.memory}` },
      rate: s.profileRate,
      durationSec: s.durationSec,
      sockets: s.profileConnections,
    });
    // A handful a second: from this process, which they cost next to nothing.
    const others =
      load === 'flood'
        ? runPaced({ ...loginRequest(), rate: s.othersRate, durationSec: s.durationSec, sockets: 1, localAddresses: otherAddresses })
        : null;
    return { profile: await profile, logins: await logins, offered: offeredRate(load), others: others && (await others) };
  };

  const otherAddresses = Array.from({ length: s.otherAddresses }, (_, i) => `127.0.0.${i + 2}`);
  const loginRequest = () => ({
    port: server.port,
    path: '/login',
    method: 'POST' as const,
    headers: { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) },
    body,
  });

  const offeredRate = (load: LoginLoad) => (load === 'steady' ? s.steadyRate : load === 'flood' ? s.floodRate : 0);

  /** Logins at an even pace from their own process; the flood over enough connections that every
   * login not answered yet is one more in flight, as with many clients. */
  const startLogins = (load: LoginLoad, startAt: number): Promise<LoadResult | null> => {
    if (load === 'none') return Promise.resolve(null);
    const options: PacedOptions = {
      ...loginRequest(),
      rate: offeredRate(load),
      durationSec: s.durationSec,
      sockets: load === 'steady' ? 4 : s.floodConnections,
      ...(load === 'flood' ? { localAddresses: [FLOOD_ADDRESS] } : {}),
    };
    return inWorker(options, startAt);
  };

  for (let round = 0; round < settings.rounds; round += 1) {
    for (const load of LOGIN_LOADS) {
      const run = await once(load);
      runs[load].push(run);
      const others = run.others ? `; other addresses' logins ${run.others.ok} of ${run.others.ok + run.others.failed} answered 200` : '';
      const logins = run.logins ? `, logins ${Math.round(run.logins.rps)}/s ok, ${run.logins.statuses['503'] ?? 0} × 503${others}` : '';
      context.log(
        `GET /profile with logins ${load.padEnd(6)} round ${round + 1}: p50 ${run.profile.p50.toFixed(2)} ms, p99 ${run.profile.p99.toFixed(2)} ms${logins}`,
      );
    }
  }
  return runs;
}

/** Runs a paced load in bench/load-worker.ts and returns its result. */
async function inWorker(options: PacedOptions, startAt: number): Promise<LoadResult> {
  const out = await runToEnd([process.execPath, '--import', 'tsx', 'bench/load-worker.ts', JSON.stringify(options), String(startAt)]);
  return JSON.parse(out) as LoadResult;
}
