// Starts each variant as its own process, waits until it answers HTTP, and stops it; none outlives the driver.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { requestJson } from './client';

export const ROOT = path.resolve(__dirname, '../..');

export interface ServerProcess {
  name: string;
  port: number;
  pid: number;
  proc: ChildProcess;
  /** The last few kilobytes of its stderr, to explain a failure. */
  stderr(): string;
}

const running = new Set<ChildProcess>();

// Whatever happens to the driver, its servers go with it.
process.once('exit', () => {
  for (const proc of running) proc.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const proc of running) proc.kill('SIGKILL');
    process.exit(130);
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface StartOptions {
  name: string;
  /** The program and its arguments, run from the repository root. */
  command: readonly string[];
  env: Record<string, string>;
  /** A path answered once the server is up (any status will do). */
  readyPath: string;
  /** How long it may take to answer at all (default 20 s). */
  startTimeoutMs?: number;
}

/** Starts the server on a free port with only PATH, HOME and `env` in its environment. */
export async function startServer(options: StartOptions): Promise<ServerProcess> {
  const port = await freePort();
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...options.env, PORT: String(port), HOST: '127.0.0.1' };
  // stdout (the request log of this server) goes to /dev/null: written, as in production, but not read.
  const proc = spawn(options.command[0]!, options.command.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  let errors = '';
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (errors = (errors + chunk).slice(-4000)));
  const server: ServerProcess = { name: options.name, port, pid: proc.pid!, proc, stderr: () => errors };

  const startMs = options.startTimeoutMs ?? 20_000;
  const deadline = Date.now() + startMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`${options.name} exited before answering:\n${errors}`);
    }
    const answered = await requestJson(port, 'GET', options.readyPath, { timeoutMs: 1000 }).then(
      (reply) => reply.status > 0,
      () => false,
    );
    if (answered) return server;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`${options.name} did not answer within ${startMs / 1000} s:\n${errors}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** SIGTERM, and SIGKILL if it is still there after 5 s. */
export async function stopServer(server: ServerProcess): Promise<void> {
  const { proc } = server;
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Runs a program to completion and returns its stdout; rejects with its stderr on failure. */
export function runToEnd(command: readonly string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const proc = spawn(command[0]!, command.slice(1), {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(proc);
    let out = '';
    let err = '';
    proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err = (err + chunk).slice(-4000)));
    proc.once('exit', (code, signal) => {
      running.delete(proc);
      if (code === 0) resolve(out);
      else reject(new Error(`${command.join(' ')} failed (${code ?? signal}):\n${err}`));
    });
  });
}

/** CPU time (user + system, milliseconds) the process has used so far, from /proc; null elsewhere. */
export function cpuTimeMs(pid: number): number | null {
  try {
    // Fields 14 and 15 of /proc/<pid>/stat, after the parenthesised command name; in clock ticks (100 Hz).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}
