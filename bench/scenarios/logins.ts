// GET /profile latency while logins arrive: none, at a steady rate, and faster than the cores can hash.
import { BENCH_PASSWORD } from '../lib/accounts';
import { runLoad, type LoadResult } from '../lib/load';
import { url, type BenchContext } from './context';

export type LoginLoad = 'none' | 'steady' | 'flood';
export const LOGIN_LOADS: readonly LoginLoad[] = ['none', 'steady', 'flood'];

export interface LoginRun {
  profile: LoadResult;
  /** Null when no logins were sent. */
  logins: LoadResult | null;
  /** The login rate offered, per second. */
  offered: number;
}

/**
 * On the memory-store server: GET /profile at a fixed rate (well below its maximum, so that its
 * latency is the server's and not a queue's), alone and next to POST /login load, in interleaved rounds.
 */
export async function profileUnderLogins(context: BenchContext): Promise<Record<LoginLoad, LoginRun[]>> {
  const { settings } = context;
  const server = context.servers.memory!;
  const s = settings.logins;
  const runs: Record<LoginLoad, LoginRun[]> = { none: [], steady: [], flood: [] };
  const body = JSON.stringify({ email: context.emails.memory, password: BENCH_PASSWORD });

  const once = async (load: LoginLoad): Promise<LoginRun> => {
    const profile = runLoad({
      url: url(server, '/profile'),
      headers: { Authorization: `Bearer ${context.accessTokens.memory}` },
      connections: s.profileConnections,
      durationSec: s.durationSec,
      rate: s.profileRate,
    });
    const offered = load === 'steady' ? s.steadyRate : load === 'flood' ? s.floodRate : 0;
    const logins =
      offered === 0
        ? Promise.resolve(null)
        : runLoad({
            url: url(server, '/login'),
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body,
            // Steady: a few clients, each waiting for its answer. Flood: many at once, as a burst arrives.
            connections: load === 'steady' ? 2 : s.floodConnections,
            durationSec: s.durationSec,
            rate: offered,
          });
    return { profile: await profile, logins: await logins, offered };
  };

  for (let round = 0; round < settings.rounds; round += 1) {
    for (const load of LOGIN_LOADS) {
      const run = await once(load);
      runs[load].push(run);
      const logins = run.logins ? `, logins ${Math.round(run.logins.rps)}/s ok, ${run.logins.statuses['503'] ?? 0} × 503` : '';
      context.log(
        `GET /profile with logins ${load.padEnd(6)} round ${round + 1}: p50 ${run.profile.p50.toFixed(2)} ms, p99 ${run.profile.p99.toFixed(2)} ms${logins}`,
      );
    }
  }
  return runs;
}
