// Bounded concurrency for password hashing: a few bcrypt jobs at once, a bounded queue, 503 beyond it.
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { AppError } from '../errors';

export interface HashLimits {
  /** bcrypt jobs (hash or compare) running at once. */
  readonly concurrency: number;
  /** Jobs allowed to wait for a slot; one more is refused. */
  readonly queue: number;
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

/**
 * Runs bcrypt jobs at most `concurrency` at a time, first come first served. A job that finds
 * `queue` others already waiting is refused at once with 503 `unavailable` and a Retry-After, so a
 * burst of logins costs each extra one a cheap refusal instead of piling up work the cores cannot
 * do: hashing threads beyond the cores would starve the event loop and every request behind it.
 */
export class HashGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Mean duration of recent jobs (ms), for Retry-After; null until one has finished. */
  private meanMs: number | null = null;

  constructor(readonly limits: HashLimits) {
    if (!Number.isInteger(limits.concurrency) || limits.concurrency < 1) throw new TypeError('concurrency must be 1 or more');
    if (!Number.isInteger(limits.queue) || limits.queue < 0) throw new TypeError('queue must be 0 or more');
  }

  /** Jobs running now. */
  get active(): number {
    return this.running;
  }

  /** Jobs waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Throws now the refusal `run` would give a job arriving now (every slot taken, the queue full),
   * so that a request can be turned away before any work is done for it (reading its body,
   * counting it, looking its user up).
   */
  refuseIfFull(): void {
    if (this.running >= this.limits.concurrency && this.waiting.length >= this.limits.queue) throw this.refusal();
  }

  /** Runs `job` when a slot is free; rejects with AppError('unavailable') when the queue is full. */
  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running < this.limits.concurrency) {
      this.running += 1;
    } else if (this.waiting.length < this.limits.queue) {
      // The finishing job hands its slot straight to us: `running` stays as it is.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      throw this.refusal();
    }
    // The duration of the work itself, not a time of day: not the injected clock, which tests stop.
    const started = performance.now();
    try {
      return await job();
    } finally {
      this.record(performance.now() - started);
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
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
    const ahead = this.running + this.waiting.length;
    const ms = ((this.meanMs ?? 0) * ahead) / this.limits.concurrency;
    return Math.max(1, Math.ceil(ms / 1000));
  }
}
