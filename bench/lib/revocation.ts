// How long a logout on one instance takes to reach another: log out on A, then ask B with the same token until it refuses.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { login } from './accounts';
import { requestJson } from './client';
import { percentile } from './stats';

export interface RevocationDelay {
  rounds: number;
  /** Rounds in which B refused the token on the first request after A's 204. */
  firstProbeRefused: number;
  /** From A's 204 to B's 401, milliseconds. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * Each round logs `email` in on A, checks that B accepts the new access token, logs it out on A
 * and asks B again with it, at once and again until B answers 401: the delay runs from A's answer
 * to B's refusal. Both instances are asked over kept-alive connections, so that a connect is not
 * counted as delay.
 */
export async function revocationDelay(a: number, b: number, email: string, rounds: number): Promise<RevocationDelay> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const delays: number[] = [];
  let firstProbeRefused = 0;
  try {
    for (let round = 0; round < rounds; round += 1) {
      const access = (await login(a, email)).access_token;
      const before = await requestJson(b, 'GET', '/profile', { bearer: access, agent });
      if (before.status !== 200) throw new Error(`B answered ${before.status} to a live token`);
      const out = await requestJson(a, 'POST', '/logout', { body: {}, bearer: access, agent });
      if (out.status !== 204) throw new Error(`POST /logout on A answered ${out.status}`);
      const loggedOut = performance.now();
      let probes = 0;
      for (;;) {
        probes += 1;
        const reply = await requestJson(b, 'GET', '/profile', { bearer: access, agent });
        if (reply.status === 401) break;
        if (reply.status !== 200) throw new Error(`B answered ${reply.status} while the logout travelled`);
      }
      delays.push(performance.now() - loggedOut);
      if (probes === 1) firstProbeRefused += 1;
    }
  } finally {
    agent.destroy();
  }
  return {
    rounds,
    firstProbeRefused,
    p50Ms: percentile(delays, 0.5),
    p99Ms: percentile(delays, 0.99),
    maxMs: Math.max(...delays),
  };
}
