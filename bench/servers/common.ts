// What every comparison server shares: the port and secret from its environment, the one user, and the same answer.
import type { Server } from 'node:http';

/** The user /profile answers with, as GET /profile of the auth server shapes it. */
export interface BenchUser {
  id: string;
  email: string;
  role: 'user' | 'admin';
  created_at: string;
}

/** These processes are started only by bench/run.ts, which sets every variable below. */
export function benchEnv(): { port: number; secret: string; issuer: string; audience: string; users: Map<string, BenchUser> } {
  const { PORT, JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE, BENCH_USER } = process.env;
  if (!PORT || !JWT_SECRET || !JWT_ISSUER || !JWT_AUDIENCE || !BENCH_USER) {
    throw new Error('PORT, JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE and BENCH_USER are required (bench/run.ts sets them)');
  }
  const user = JSON.parse(BENCH_USER) as BenchUser;
  // A user table, as every variant would look its user up somewhere: a Map keeps that cost tiny and equal.
  return { port: Number(PORT), secret: JWT_SECRET, issuer: JWT_ISSUER, audience: JWT_AUDIENCE, users: new Map([[user.id, user]]) };
}

/** Listens on 127.0.0.1 and tells the driver on stdout, which waits for that line. */
export function announce(server: Server, port: number): void {
  server.listen(port, '127.0.0.1', () => process.stdout.write('listening\n'));
  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
