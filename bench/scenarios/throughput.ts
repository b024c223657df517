// Throughput: GET /profile on every variant, and POST /refresh on this server, in interleaved rounds.
import type autocannon from 'autocannon';
import { openSessions } from '../lib/accounts';
import { runLoad, type LoadResult } from '../lib/load';
import type { ServerProcess } from '../lib/processes';
import type { VariantKey } from '../variants';
import { url, type BenchContext } from './context';

/** Every variant's GET /profile under the same load, with its access token (ignored by those that check none). */
export async function profileThroughput(context: BenchContext): Promise<Partial<Record<VariantKey, LoadResult[]>>> {
  const { settings, servers } = context;
  const keys = (Object.keys(servers) as VariantKey[]).filter((key) => servers[key]);
  const runs: Partial<Record<VariantKey, LoadResult[]>> = {};
  const load = (key: VariantKey, durationSec: number) =>
    profileRun(servers[key]!, context.accessTokens[key] ?? context.accessTokens.memory!, settings.throughput.connections, durationSec);

  for (const key of keys) {
    const warm = await load(key, settings.warmupSec);
    if (warm.ok === 0) throw new Error(`${key}: GET /profile answered no 2xx while warming up: ${JSON.stringify(warm.statuses)}`);
  }
  for (let round = 0; round < settings.rounds; round += 1) {
    // Each round starts one variant later, so that no variant always follows the same neighbour.
    const order = keys.map((_, i) => keys[(i + round) % keys.length]!);
    for (const key of order) {
      const result = await load(key, settings.throughput.durationSec);
      (runs[key] ??= []).push(result);
      context.log(`GET /profile ${key.padEnd(10)} round ${round + 1}: ${Math.round(result.rps)} req/s, p99 ${result.p99.toFixed(2)} ms`);
    }
  }
  return runs;
}

/**
 * POST /refresh: every connection follows the chain of its own session, presenting the refresh
 * token its previous refresh returned (as a client does). Each round logs in afresh: a chain cut
 * mid-request by the end of a run would be a replay in the next.
 */
export async function refreshThroughput(context: BenchContext, key: 'memory' | 'redis'): Promise<LoadResult[]> {
  const { settings } = context;
  const server = context.servers[key]!;
  const connections = settings.throughput.connections;
  const runs: LoadResult[] = [];
  for (let round = 0; round <= settings.rounds; round += 1) {
    // Round 0 warms the server up and is not counted.
    const durationSec = round === 0 ? settings.warmupSec : settings.throughput.durationSec;
    const result = await refreshRun(server, context.emails[key]!, connections, durationSec);
    if (round === 0) continue;
    runs.push(result);
    context.log(`POST /refresh ${key.padEnd(10)} round ${round}: ${Math.round(result.rps)} req/s, ${result.failed} failed`);
  }
  return runs;
}

/** One GET /profile run with `accessToken`, as fast as the server answers. */
export function profileRun(server: ServerProcess, accessToken: string, connections: number, durationSec: number): Promise<LoadResult> {
  return runLoad({
    url: url(server, '/profile'),
    headers: { Authorization: `Bearer ${accessToken}` },
    connections,
    durationSec,
    serverPid: server.pid,
  });
}

/** One POST /refresh run: `connections` sessions of `email` opened afresh, each connection following its own chain. */
export async function refreshRun(server: ServerProcess, email: string, connections: number, durationSec: number): Promise<LoadResult> {
  const pool = (await openSessions(server.port, email, connections)).map((pair) => pair.refresh_token);
  return runLoad({
    url: url(server, '/refresh'),
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: '{}',
    connections,
    durationSec,
    serverPid: server.pid,
    setupClient: (client) => followChain(client, pool.pop()!),
  });
}

function followChain(client: autocannon.Client, first: string): void {
  const chunks: Buffer[] = [];
  client.setBody(JSON.stringify({ refresh_token: first }));
  client.on('body', (chunk: Buffer) => chunks.push(chunk));
  client.on('response', (status: number) => {
    const text = Buffer.concat(chunks.splice(0)).toString('utf8');
    if (status === 200) client.setBody(JSON.stringify({ refresh_token: (JSON.parse(text) as { refresh_token: string }).refresh_token }));
  });
}
