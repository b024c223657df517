// What the enumeration tests compare two answers by: every byte but what may differ between two requests, and the median of their times.
import type { Response } from 'supertest';

/**
 * The status, every header and the body of `res`, less what may differ between two requests: the
 * date, the request id, the per-address counter, the seconds to each window's reset (counted on
 * the real clock) and the rate-limit partition keys (an opaque hash of what was sent).
 */
export function comparable(res: Response) {
  const headers = { ...res.headers } as Record<string, string>;
  delete headers.date;
  delete headers['x-request-id'];
  if (headers.ratelimit) headers.ratelimit = headers.ratelimit.replace(/"address"; r=\d+/, '"address"; r=*').replace(/; t=\d+/g, '; t=*');
  if (headers['ratelimit-policy']) headers['ratelimit-policy'] = headers['ratelimit-policy'].replace(/; pk=:[^:]*:/g, '');
  return { status: res.status, headers, text: res.text };
}

/** The median of a sample of times, in milliseconds. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
