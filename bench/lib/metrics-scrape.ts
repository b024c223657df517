// GET /metrics of a running server, and the number of answers its request histogram counted for one route.
import http from 'node:http';

export interface Scrape {
  status: number;
  text: string;
}

/** One GET /metrics, with `token` as its Bearer token when given. */
export function scrape(port: number, token?: string, timeoutMs = 10_000): Promise<Scrape> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
    const req = http.request({ host: '127.0.0.1', port, method: 'GET', path: '/metrics', headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('GET /metrics timed out')));
    req.on('error', reject);
    req.end();
  });
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/**
 * The sum of `http_request_duration_seconds_count` over every series labelled `route`, whatever
 * their method and status: how many answers the server timed for that route pattern. Null when
 * the text has no such series at all (metrics off, or the histogram renamed).
 */
export function requestCount(text: string, route: string): number | null {
  let total: number | null = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith('http_request_duration_seconds_count')) continue;
    const sample = SAMPLE.exec(line.trim());
    if (!sample || sample[1] !== 'http_request_duration_seconds_count') continue;
    const labels = new Map([...(sample[2] ?? '').matchAll(LABEL)].map((match) => [match[1]!, match[2]!]));
    if (labels.get('route') !== route) continue;
    total = (total ?? 0) + Number(sample[3]);
  }
  return total;
}
