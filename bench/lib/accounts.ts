// Real users and real tokens for the scenarios, made through this server's HTTP API as a client would.
import { requestJson } from './client';

export const BENCH_PASSWORD = 'correct horse battery staple';

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  user: Record<string, unknown>;
}

let users = 0;

export async function registerUser(port: number): Promise<string> {
  users += 1;
  const email = `bench${users}.${process.pid}.${Date.now()}@example.com`;
  const reply = await requestJson(port, 'POST', '/register', { body: { email, password: BENCH_PASSWORD } });
  if (reply.status !== 201) throw new Error(`POST /register answered ${reply.status}: ${JSON.stringify(reply.body)}`);
  return email;
}

/** Logs in; a 503 (password hashing busy) is waited out as its Retry-After asks. */
export async function login(port: number, email: string): Promise<TokenPair> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const reply = await requestJson(port, 'POST', '/login', { body: { email, password: BENCH_PASSWORD } });
    if (reply.status === 200) return reply.body as unknown as TokenPair;
    if (reply.status !== 503) throw new Error(`POST /login answered ${reply.status}: ${JSON.stringify(reply.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 1000 * Number(reply.headers['retry-after'] ?? 1)));
  }
  throw new Error('POST /login kept answering 503');
}

/** `count` sessions of one user, opened a few at a time (each login costs a bcrypt comparison). */
export async function openSessions(port: number, email: string, count: number): Promise<TokenPair[]> {
  const sessions: TokenPair[] = [];
  while (sessions.length < count) {
    const batch = Math.min(4, count - sessions.length);
    sessions.push(...(await Promise.all(Array.from({ length: batch }, () => login(port, email)))));
  }
  return sessions;
}
