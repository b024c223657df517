// Runs entry points as real child processes (src/ under tsx, or the built dist/ under node; clean env) with bounded waits and sure cleanup.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningChild {
  proc: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout or stderr matches `pattern`; rejects on timeout or exit. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code and signal; rejects if the process is still running after `timeoutMs`. */
  waitForExit(timeoutMs?: number): Promise<Exit>;
}

const started = new Set<RunningChild>();

/**
 * The names of every configuration variable (.env.example lists them all), each set to "" in a
 * child's environment. dotenv never overrides a variable that is already set and loadConfig reads ""
 * as unset, so a .env file in the working directory cannot change what a test starts.
 */
function blankConfigVariables(): Record<string, string> {
  const example = readFileSync(path.join(ROOT, '.env.example'), 'utf8');
  const names = [...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]!);
  return Object.fromEntries(names.map((name) => [name, '']));
}

export interface SpawnOptions {
  /** Variables on top of PATH and HOME. */
  env?: Record<string, string>;
  /** Blank every configuration variable and point dotenv at a missing file (for the server). */
  isolateConfig?: boolean;
  /** Command-line arguments after the script. */
  args?: string[];
}

/** Starts `node_modules/.bin/tsx <script>` in its own process group, with a minimal environment. */
export function spawnTs(script: string, options: SpawnOptions = {}): RunningChild {
  return spawnScript(TSX, script, options);
}

/** Starts `node <script>` the same way: for the built code (dist/server.js), as production runs it. */
export function spawnNode(script: string, options: SpawnOptions = {}): RunningChild {
  return spawnScript(process.execPath, script, options);
}

function spawnScript(command: string, script: string, options: SpawnOptions): RunningChild {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? tmpdir() };
  if (options.isolateConfig) {
    Object.assign(env, blankConfigVariables(), {
      DOTENV_CONFIG_PATH: path.join(tmpdir(), `no-such-env-file-${process.pid}.env`),
    });
  }
  Object.assign(env, options.env);

  // detached: the child leads its own process group, so the tsx wrapper and the node process it
  // starts can be killed together by the group id.
  const proc = spawn(command, [script, ...(options.args ?? [])], { cwd: ROOT, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<Exit>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  let exit: Exit | null = null;
  void exited.then((value) => (exit = value));

  const child: RunningChild = {
    proc,
    pid: proc.pid!,
    stdout: () => out,
    stderr: () => err,
    waitForOutput(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(out) || pattern.test(err)) return finish(resolve);
          if (exit) return fail(`exited (${JSON.stringify(exit)}) before printing ${pattern}`);
        };
        const fail = (why: string) => finish(() => reject(new Error(`${why}\n${out}${err}`)));
        const timer = setTimeout(() => fail(`no ${pattern} within ${timeoutMs} ms`), timeoutMs);
        const finish = (then: () => void) => {
          clearTimeout(timer);
          proc.stdout!.off('data', check);
          proc.stderr!.off('data', check);
          proc.off('exit', onExit);
          then();
        };
        // Output may still be in the pipes when 'exit' fires: look once more after they drain.
        const onExit = () => setTimeout(check, 100);
        proc.stdout!.on('data', check);
        proc.stderr!.on('data', check);
        proc.on('exit', onExit);
        check();
      });
    },
    waitForExit(timeoutMs = 15_000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms\n${out}${err}`)), timeoutMs);
      });
      return Promise.race([exited, timeout]).finally(() => clearTimeout(timer));
    },
  };
  started.add(child);
  void exited.then(() => started.delete(child));
  return child;
}

/** Kills (SIGKILL, whole process group) every child started here that is still running. */
export function killStartedChildren(): void {
  for (const child of started) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  started.clear();
}

/** A port nothing listens on right now: listen on 0, read the port, close. */
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

/** Whether something accepts a TCP connection on 127.0.0.1:port (bounded by a timeout). */
export function acceptsConnections(port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (accepted: boolean) => {
      socket.destroy();
      resolve(accepted);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export interface JsonResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

/**
 * One HTTP request to 127.0.0.1:port with a JSON body, on its own connection. `onSent` runs once
 * the whole request has been handed to the socket.
 */
export function requestJson(
  port: number,
  method: string,
  urlPath: string,
  options: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number; onSent?: () => void } = {},
): Promise<JsonResponse> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = { ...options.headers };
    if (payload !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers, agent: false });
    req.setTimeout(options.timeoutMs ?? 10_000, () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
    req.on('error', reject);
    req.on('finish', () => options.onSent?.());
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          // Not JSON: keep the text.
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.end(payload);
  });
}
