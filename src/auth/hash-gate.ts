// Bounded, fair concurrency for password hashing: a few bcrypt jobs at once, a bounded queue shared fairly between client addresses, 503 beyond it.
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { AppError } from '../errors';
import { clientKey } from '../lib/client-address';

export interface HashLimits {
  /** bcrypt jobs (hash or compare) running at once. */
  readonly concurrency: number;
  /** Jobs allowed to wait for a slot; one more is refused. */
  readonly queue: number;
  /** Places of the queue one client address (an IPv6 /56) may hold at once; unset, the whole queue. */
  readonly queuePerAddress?: number;
}

/** The default's ceiling: each hashing thread is a worker thread (about 10 MB), and a login rate that needs more is a deployment to size by hand. */
const DEFAULT_CEILING = 4;

/**
 * One core less than the machine has (at least one, at most four): the event loop keeps a core of
 * its own, so protected routes stay fast while logins pile up (measured in bench/).
 */
export function defaultHashConcurrency(cores = availableParallelism()): number {
  return Math.max(1, Math.min(DEFAULT_CEILING, cores - 1));
}

interface Waiter {
  start: () => void;
  refuse: (error: AppError) => void;
}

/**
 * Runs bcrypt jobs at most `concurrency` at a time. A job that finds every slot taken waits in a
 * bounded queue, fairly: each client address has a line of its own, at most `queuePerAddress`
 * long, and a freed slot goes to the lines in turn (round robin), so a job waits for at most one
 * job of each other address, however many that address sent. When the queue is full, a job of an
 * address with fewer waiting than the address with most takes the place of that address's last
 * job, which is refused. So a flood from one address (or from a few) fills its own lines and
 * never turns another address's sign-in into a 503.
 *
 * A refusal is AppError 503 `unavailable` with a Retry-After, at once: a burst of logins costs
 * each extra one a cheap refusal instead of piling up work the cores cannot do, since hashing
 * threads beyond the cores would starve the event loop and every request behind it.
 *
 * Jobs without an address (provisioning, tests) share the line of the address ''.
 */
export class HashGate {
  private running = 0;
  private waitingCount = 0;
  /** The line of each address with jobs waiting, in the order their turns come (a Map keeps insertion order). */
  private readonly lines = new Map<string, Waiter[]>();
  /** Mean duration of recent jobs (ms), for Retry-After; null until one has finished. */
  private meanMs: number | null = null;
  private readonly perAddress: number;

  constructor(readonly limits: HashLimits) {
    if (!Number.isInteger(limits.concurrency) || limits.concurrency < 1) throw new TypeError('concurrency must be 1 or more');
    if (!Number.isInteger(limits.queue) || limits.queue < 0) throw new TypeError('queue must be 0 or more');
    const perAddress = limits.queuePerAddress ?? limits.queue;
    if (!Number.isInteger(perAddress) || perAddress < 0) throw new TypeError('queuePerAddress must be 0 or more');
    this.perAddress = perAddress;
  }

  /** Jobs running now. */
  get active(): number {
    return this.running;
  }

  /** Jobs waiting for a slot. */
  get queued(): number {
    return this.waitingCount;
  }

  /** Jobs of this client address waiting for a slot. */
  queuedFor(address: string): number {
    return this.lines.get(clientKey(address))?.length ?? 0;
  }

  /**
   * Throws now the refusal `run` would give a job of `address` arriving now, so that a request can
   * be turned away before any work is done for it (reading its body, counting it, looking its
   * user up).
   */
  refuseIfFull(address = ''): void {
    if (this.running < this.limits.concurrency) return;
    const key = clientKey(address);
    if (!this.hasRoomFor(key)) throw this.refusal();
  }

  /**
   * Runs `job` when a slot is free; rejects with AppError('unavailable') when the queue has no
   * room for `address` (its share used up, or the queue full of lines no longer than its own),
   * or when a job of an address with a shorter line later takes its place.
   */
  async run<T>(job: () => Promise<T>, address = ''): Promise<T> {
    if (this.running < this.limits.concurrency) {
      this.running += 1;
    } else {
      // The finishing job hands its slot straight to us: `running` stays as it is.
      await this.wait(clientKey(address));
    }
    // The duration of the work itself, not a time of day: not the injected clock, which tests stop.
    const started = performance.now();
    try {
      return await job();
    } finally {
      this.record(performance.now() - started);
      this.handOn();
    }
  }

  /** Whether a job of `key` would find a place in the queue now (pushing another out if need be). */
  private hasRoomFor(key: string): boolean {
    const own = this.lines.get(key)?.length ?? 0;
    if (own >= this.perAddress) return false;
    if (this.waitingCount < this.limits.queue) return true;
    return this.longestLine(key) !== null;
  }

  /**
   * The line to take a place from for a job of `key` when the queue is full: the longest, if it is
   * longer than `key`'s by two or more (by one, the two would only swap), else null.
   */
  private longestLine(key: string): Waiter[] | null {
    const own = this.lines.get(key)?.length ?? 0;
    let longest: Waiter[] | null = null;
    for (const line of this.lines.values()) if (!longest || line.length > longest.length) longest = line;
    return longest && longest.length > own + 1 ? longest : null;
  }

  private wait(key: string): Promise<void> {
    if (!this.hasRoomFor(key)) return Promise.reject(this.refusal());
    if (this.waitingCount >= this.limits.queue) {
      // Full: the longest line's last job gives up its place (hasRoomFor found one). That line
      // held two or more, so it keeps a job and its turn.
      const longest = this.longestLine(key)!;
      longest.pop()!.refuse(this.refusal());
      this.waitingCount -= 1;
    }
    return new Promise<void>((start, refuse) => {
      let line = this.lines.get(key);
      if (!line) this.lines.set(key, (line = []));
      line.push({ start, refuse });
      this.waitingCount += 1;
    });
  }

  /** Gives a finished job's slot to the first job of the line whose turn it is, or frees it. */
  private handOn(): void {
    const turn = this.lines.entries().next();
    if (turn.done) {
      this.running -= 1;
      return;
    }
    const [key, line] = turn.value;
    const next = line.shift()!;
    this.waitingCount -= 1;
    // This line's turn is over: to the back of the order if it still has jobs waiting.
    this.lines.delete(key);
    if (line.length > 0) this.lines.set(key, line);
    next.start();
  }

  private refusal(): AppError {
    return new AppError('unavailable', {
      description: 'Too many sign-ins at once; try again in a moment.',
      headers: { 'Retry-After': String(this.retryAfterSec()) },
    });
  }

  private record(ms: number): void {
    this.meanMs = this.meanMs === null ? ms : this.meanMs * 0.8 + ms * 0.2;
  }

  /** Whole seconds until the jobs ahead have likely run: at least 1. */
  private retryAfterSec(): number {
    const ahead = this.running + this.waitingCount;
    const ms = ((this.meanMs ?? 0) * ahead) / this.limits.concurrency;
    return Math.max(1, Math.ceil(ms / 1000));
  }
}
