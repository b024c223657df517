// Requests at an even pace (open loop), for latency: autocannon's rate limit sends each second's quota in one burst.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { LoadResult } from './load';
import { LatencyLog } from './stats';

export interface PacedOptions {
  port: number;
  path: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Requests per second, one every 1/rate seconds. */
  rate: number;
  durationSec: number;
  /** Keep-alive connections to spread them over (per source address). */
  sockets: number;
  /** Source addresses (127.x.y.z reach a loopback server on Linux) the requests take in turn; unset: the system's choice. */
  localAddresses?: string[];
}

/**
 * Sends one request every 1/rate seconds, whether or not the previous ones have been answered
 * (late ticks catch up at once), over a pool of keep-alive connections. Latency runs from the
 * moment a request is handed to its connection to the end of its answer.
 */
export function runPaced(options: PacedOptions): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.sockets });
  const latencies = new LatencyLog();
  const statuses: Record<string, number> = {};
  let ok = 0;
  let answered = 0;
  let failed = 0;
  let inFlight = 0;
  const intervalMs = 1000 / options.rate;
  const started = performance.now();
  const end = started + options.durationSec * 1000;
  let due = started;
  /** Set once the last request has been sent: then the first moment nothing is in flight ends the run. */
  let sending = true;

  return new Promise((resolve) => {
    const finishIfDone = () => {
      if (sending || inFlight > 0) return;
      agent.destroy();
      resolve({
        rps: ok / options.durationSec,
        p50: latencies.percentile(0.5),
        p99: latencies.percentile(0.99),
        ok,
        answered,
        failed,
        statuses,
        cpuUsPerRequest: null,
      });
    };

    let fired = 0;
    const fire = () => {
      inFlight += 1;
      const sent = performance.now();
      const sources = options.localAddresses;
      const localAddress = sources && sources.length > 0 ? sources[fired % sources.length] : undefined;
      fired += 1;
      const req = http.request(
        {
          host: '127.0.0.1',
          port: options.port,
          path: options.path,
          method: options.method ?? 'GET',
          headers: options.headers,
          agent,
          ...(localAddress ? { localAddress } : {}),
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            statuses[status] = (statuses[status] ?? 0) + 1;
            answered += 1;
            if (status >= 200 && status < 300) {
              ok += 1;
              latencies.add(performance.now() - sent);
            } else {
              failed += 1;
            }
            inFlight -= 1;
            finishIfDone();
          });
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        // Counted under its error code, so that the report can say what the failures were.
        const kind = error.code ?? 'no answer';
        statuses[kind] = (statuses[kind] ?? 0) + 1;
        failed += 1;
        inFlight -= 1;
        finishIfDone();
      });
      req.end(options.body);
    };

    const tick = () => {
      const now = performance.now();
      while (due <= now && due < end) {
        fire();
        due += intervalMs;
      }
      if (due < end) {
        setTimeout(tick, Math.max(0, due - performance.now()));
        return;
      }
      sending = false;
      finishIfDone();
    };
    tick();
  });
}
