// bcrypt on worker threads of its own, each at a lower CPU priority where the system lets one thread have its own (Linux).
import { Worker } from 'node:worker_threads';

/** What bcrypt reads: a password as it is, or the bytes of its pre-hash (see bcryptInput). */
export type BcryptInput = string | Buffer;

type HashJob = { kind: 'hash'; password: BcryptInput; cost: number } | { kind: 'compare'; password: BcryptInput; hash: string };

/** What a thread reports once it is up: its id in the system, and the nice value it runs at (null: unknown). */
export interface ThreadInfo {
  tid: number | null;
  nice: number | null;
}

/**
 * PASSWORD_HASH_NICE's default. A contended core goes to the event loop first, yet a saturated
 * event loop still leaves hashing about a tenth of a core (at 19, about 1.5 %: logins would stall).
 */
export const DEFAULT_HASHING_NICE = 10;
/** A thread idle this long ends; the next job starts one again (tens of milliseconds). */
const IDLE_MS = 30_000;
/** More jobs at once than this wait for a thread: PASSWORD_HASH_CONCURRENCY is at most 64. */
const MAX_THREADS = 64;

/**
 * The code each thread runs, in plain JavaScript so that it loads the same from src/ (tests, tsx)
 * and dist/. bcrypt's synchronous calls are the point: they keep the work on this thread, whose
 * priority was lowered, instead of libuv's shared pool, whose threads cannot be told apart.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { readlinkSync } = require('node:fs');
const { getPriority, setPriority } = require('node:os');
const bcrypt = require(workerData.bcrypt);
let tid = null;
let nice = null;
try {
  // /proc/thread-self names this thread; Linux keeps a nice value per thread, not per process.
  tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
} catch {
  // Another system: the thread keeps the process's priority, as libuv's threads would.
}
if (tid !== null) {
  try {
    if (workerData.nice > 0) setPriority(tid, workerData.nice);
  } catch {
    // Below the process's own nice value takes a privilege: the thread keeps the process's.
  }
  nice = getPriority(tid);
}
parentPort.postMessage({ ready: { tid, nice } });
parentPort.on('message', (job) => {
  try {
    // A Buffer arrives as a plain Uint8Array, which bcrypt refuses: a Buffer again.
    const password = typeof job.password === 'string' ? job.password : Buffer.from(job.password);
    const value = job.kind === 'hash' ? bcrypt.hashSync(password, job.cost) : bcrypt.compareSync(password, job.hash);
    parentPort.postMessage({ value });
  } catch (error) {
    parentPort.postMessage({ failed: error instanceof Error ? error.message : String(error) });
  }
});
`;

type Reply = { ready: ThreadInfo } | { value: string | boolean } | { failed: string };

interface Thread {
  worker: Worker;
  ready: Promise<ThreadInfo>;
  /** The job in flight, if any. */
  current?: { resolve: (value: string | boolean) => void; reject: (error: Error) => void };
  idleTimer?: NodeJS.Timeout;
  /** Ended or failed: never handed out again. */
  gone: boolean;
}

/** Handed a thread to use, or null: a thread has ended, start one. */
type Waiter = (thread: Thread | null) => void;

/**
 * A pool of hashing threads, one job per thread at a time. The number of jobs at once is the
 * HashGate's to bound; the pool only starts a thread when none is idle, and ends it after a while idle.
 */
export class HashingThreads {
  private readonly idle: Thread[] = [];
  /** Jobs waiting for a thread (only past MAX_THREADS), first come first served. */
  private readonly waiting: Waiter[] = [];
  private count = 0;

  /** `nice`: the nice value each thread takes on Linux; 0 keeps the process's. */
  constructor(readonly nice: number) {}

  /** bcrypt's hash of `password` at `cost`. */
  async hash(password: BcryptInput, cost: number): Promise<string> {
    return String(await this.run({ kind: 'hash', password, cost }));
  }

  /** Whether `password` matches `hash`. */
  async compare(password: BcryptInput, hash: string): Promise<boolean> {
    return (await this.run({ kind: 'compare', password, hash })) === true;
  }

  /** Runs one bcrypt job on a thread of the pool. */
  private async run(job: HashJob): Promise<string | boolean> {
    const thread = await this.take();
    // A job in flight keeps the process alive, as a libuv job would; an idle thread does not.
    thread.worker.ref();
    try {
      await thread.ready;
      return await new Promise<string | boolean>((resolve, reject) => {
        thread.current = { resolve, reject };
        thread.worker.postMessage(job);
      });
    } finally {
      thread.current = undefined;
      thread.worker.unref();
      this.giveBack(thread);
    }
  }

  /** Starts a thread if none is idle, and tells what it reported (for tests and diagnostics). */
  async info(): Promise<ThreadInfo> {
    const thread = await this.take();
    try {
      return await thread.ready;
    } finally {
      this.giveBack(thread);
    }
  }

  private async take(): Promise<Thread> {
    const thread = this.idle.pop();
    if (thread) {
      clearTimeout(thread.idleTimer);
      return thread;
    }
    if (this.count < MAX_THREADS) return this.start();
    const handed = await new Promise<Thread | null>((resolve) => this.waiting.push(resolve));
    return handed ?? this.start();
  }

  private giveBack(thread: Thread): void {
    if (thread.gone) return;
    // The longest waiting job gets the thread straight away: nobody arriving later can take it first.
    const waiter = this.waiting.shift();
    if (waiter) {
      waiter(thread);
      return;
    }
    thread.idleTimer = setTimeout(() => this.end(thread), IDLE_MS).unref();
    this.idle.push(thread);
  }

  private start(): Thread {
    // Counted once it exists: a thread the system refuses must not use up a place for good.
    const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { bcrypt: require.resolve('bcrypt'), nice: this.nice } });
    this.count += 1;
    let readyResolve!: (info: ThreadInfo) => void;
    let readyReject!: (error: Error) => void;
    const thread: Thread = {
      worker,
      ready: new Promise((resolve, reject) => ((readyResolve = resolve), (readyReject = reject))),
      gone: false,
    };
    // Nobody may be waiting on it yet; the rejection is seen by whoever awaits `ready` next.
    thread.ready.catch(() => undefined);
    worker.on('message', (reply: Reply) => {
      if ('ready' in reply) readyResolve(reply.ready);
      else if ('value' in reply) thread.current?.resolve(reply.value);
      else thread.current?.reject(new Error(`bcrypt failed: ${reply.failed}`));
    });
    const lost = (error: Error) => {
      readyReject(error);
      thread.current?.reject(error);
      if (!thread.gone) void worker.terminate();
      this.forget(thread);
    };
    worker.on('error', lost);
    // A reply that cannot be read would leave its job waiting for good.
    worker.on('messageerror', lost);
    worker.on('exit', () => lost(new Error('a password hashing thread ended')));
    // Idle, it does not keep the process alive. After the listeners: adding a 'message' listener
    // takes the worker's reference again.
    worker.unref();
    return thread;
  }

  private end(thread: Thread): void {
    this.forget(thread);
    void thread.worker.terminate();
  }

  private forget(thread: Thread): void {
    if (thread.gone) return;
    thread.gone = true;
    clearTimeout(thread.idleTimer);
    const at = this.idle.indexOf(thread);
    if (at >= 0) this.idle.splice(at, 1);
    this.count -= 1;
    // A place is free: the longest waiting job starts a thread in it.
    this.waiting.shift()?.(null);
  }
}

const pools = new Map<number, HashingThreads>();

/** The process's hashing threads at one nice value, shared by every app in it (as libuv's pool would be). */
export function hashingThreads(nice: number): HashingThreads {
  let pool = pools.get(nice);
  if (!pool) pools.set(nice, (pool = new HashingThreads(nice)));
  return pool;
}
