// Throughput: GET /profile on every variant (metrics on and off side by side), and POST /refresh on this server, in interleaved rounds.
import type autocannon from 'autocannon';
import { openSessions } from '../lib/accounts';
import { runLoad, type LoadResult } from '../lib/load';
import type { ServerProcess } from '../lib/processes';
import { scrape, requestCount } from '../lib/metrics-scrape';
import { BENCH_METRICS_TOKEN, OBSERVABILITY_PAIR, type VariantKey } from '../variants';
import { url, type BenchContext } from './context';

/**
 * Every variant's GET /profile under the same load, with its access token (ignored by those that
 * check none). The memory store with and without metrics (issue 23: less than 5 % apart) go as one
 * unit of the rotation, back to back, the one measured first alternating from round to round: the
 * ratio of each round's two runs compares them under the same conditions.
 */
export async function profileThroughput(context: BenchContext): Promise<Partial<Record<VariantKey, LoadResult[]>>> {
  const { settings, servers } = context;
  const keys = (Object.keys(servers) as VariantKey[]).filter((key) => servers[key]);
  const runs: Partial<Record<VariantKey, LoadResult[]>> = {};
  /** Answers each server gave GET /profile, warm-up included: what its metrics must have counted. */
  const answered: Partial<Record<VariantKey, number>> = {};
  const load = async (key: VariantKey, durationSec: number) => {
    const result = await profileRun(servers[key]!, context.accessTokens[key] ?? context.accessTokens.memory!, settings.throughput.connections, durationSec);
    answered[key] = (answered[key] ?? 0) + result.answered;
    return result;
  };

  const { off, on } = OBSERVABILITY_PAIR;
  const paired = servers[off] !== undefined && servers[on] !== undefined;
  // Scraped once before any load, as Prometheus would have: the first scrape starts the process
  // metrics (GC observer, event-loop delay monitor), which then run through every measured run.
  // A refused token stops the run here rather than after the rounds.
  if (paired) await expectMetrics(context, on, null);

  for (const key of keys) {
    const warm = await load(key, settings.warmupSec);
    if (warm.ok === 0) throw new Error(`${key}: GET /profile answered no 2xx while warming up: ${JSON.stringify(warm.statuses)}`);
  }
  const units: VariantKey[][] = keys.filter((key) => !paired || key !== on).map((key) => (paired && key === off ? [off, on] : [key]));
  for (let round = 0; round < settings.rounds; round += 1) {
    // Each round starts one unit later, so that no variant always follows the same neighbour.
    const order = units.map((_, i) => units[(i + round) % units.length]!);
    for (const unit of order) {
      for (const key of round % 2 === 0 ? unit : [...unit].reverse()) {
        const result = await load(key, settings.throughput.durationSec);
        (runs[key] ??= []).push(result);
        context.log(`GET /profile ${key.padEnd(13)} round ${round + 1}: ${Math.round(result.rps)} req/s, p99 ${result.p99.toFixed(2)} ms`);
      }
    }
  }
  if (paired) {
    await expectMetrics(context, on, answered[on] ?? 0);
    await expectNoMetrics(context, off);
  }
  return runs;
}

/**
 * GET /metrics of the metrics-on variant answers 200 with its token, and (after the rounds) its
 * request histogram counted at least every answer the load generator received for GET /profile:
 * otherwise its rows measured something other than a server with metrics on, and the run stops.
 */
async function expectMetrics(context: BenchContext, key: VariantKey, answered: number | null): Promise<void> {
  const server = context.servers[key]!;
  const reply = await scrape(server.port, BENCH_METRICS_TOKEN);
  if (reply.status !== 200) {
    throw new Error(`${key}: GET /metrics answered ${reply.status}, not 200: the variant does not have metrics on\n${reply.text.slice(0, 300)}`);
  }
  if (answered === null) return;
  const counted = requestCount(reply.text, '/profile');
  if (counted === null || counted < answered) {
    throw new Error(
      `${key}: GET /metrics counted ${counted ?? 'no'} GET /profile requests (http_request_duration_seconds_count{route="/profile"}), ` +
        `fewer than the ${answered} answers the load generator received: the variant did not time every request, its figures are not of metrics on`,
    );
  }
  context.log(`GET /metrics ${key}: ${counted} GET /profile requests counted, ${answered} answers received by the load generator`);
}

/** The metrics-off variant has no GET /metrics at all (production without METRICS_TOKEN: 404). */
async function expectNoMetrics(context: BenchContext, key: VariantKey): Promise<void> {
  const reply = await scrape(context.servers[key]!.port, BENCH_METRICS_TOKEN);
  if (reply.status !== 404) throw new Error(`${key}: GET /metrics answered ${reply.status}, not 404: the variant meant to run without metrics has them on`);
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
