// Load from this process with autocannon: throughput, latency percentiles at microsecond resolution, server CPU per request.
import autocannon from 'autocannon';
import { cpuTimeMs } from './processes';
import { LatencyLog } from './stats';

export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  durationSec: number;
  /** Requests per second over all connections; unset: as fast as the server answers. */
  rate?: number;
  /** Per-connection set-up (e.g. a refresh-token chain of its own), besides the latency recording. */
  setupClient?: (client: autocannon.Client) => void;
  /** The server's pid: its CPU time per answered request is reported. */
  serverPid?: number;
}

export interface LoadResult {
  /** 2xx answers per second. */
  rps: number;
  /** Latency of 2xx answers, milliseconds. */
  p50: number;
  p99: number;
  ok: number;
  /** Every answer received, whatever its status: what the server must have counted at least. */
  answered: number;
  /** Answers other than 2xx, connection errors and timeouts. */
  failed: number;
  /** Count per status code; a request that got no answer, under its error code (ECONNRESET, …). */
  statuses: Record<string, number>;
  /** Server CPU (user + system) per 2xx answer, microseconds; null without /proc. */
  cpuUsPerRequest: number | null;
}

/**
 * One autocannon run. autocannon's own histogram keeps whole milliseconds; a protected route
 * answers in a fraction of one, so every 2xx latency is recorded here from each client's events.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies = new LatencyLog();
  const cpuBefore = options.serverPid === undefined ? null : cpuTimeMs(options.serverPid);
  const result = await autocannon({
    url: options.url,
    method: options.method ?? 'GET',
    headers: options.headers,
    body: options.body,
    connections: options.connections,
    duration: options.durationSec,
    ...(options.rate === undefined ? {} : { overallRate: options.rate }),
    setupClient: (client) => {
      client.on('response', (status: number, _bytes: number, ms: number) => {
        if (status >= 200 && status < 300) latencies.add(ms);
      });
      options.setupClient?.(client);
    },
  });
  const cpuAfter = options.serverPid === undefined ? null : cpuTimeMs(options.serverPid);
  const ok = result['2xx'];
  const statuses: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = stat.count ?? 0;
  return {
    rps: ok / result.duration,
    p50: latencies.percentile(0.5),
    p99: latencies.percentile(0.99),
    ok,
    answered: ok + result.non2xx,
    failed: result.non2xx + result.errors + result.timeouts,
    statuses,
    cpuUsPerRequest: cpuBefore === null || cpuAfter === null || ok === 0 ? null : ((cpuAfter - cpuBefore) * 1000) / ok,
  };
}
