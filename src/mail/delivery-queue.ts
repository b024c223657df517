// The queue between send() and the transport: delivery in the background, retries after set delays, one error line per mail given up.
import type { Logger } from '../lib/logger';
import { DeliveryFailure, type Deliver } from './delivery';
import type { MailMessage } from './types';

export interface DeliveryQueueOptions {
  readonly deliver: Deliver;
  readonly logger: Logger;
  /** The wait before each retry; a mail gets `retryDelaysMs.length + 1` attempts. */
  readonly retryDelaysMs: readonly number[];
  /** Attempts in flight at once: each is one connection to the mail server. */
  readonly concurrency?: number;
  /**
   * Mails held at once (waiting, in flight or between attempts). Without a cap an SMTP outage
   * plus a stream of /password/forgot requests would grow the heap without end.
   */
  readonly maxPending?: number;
}

interface Job {
  readonly message: MailMessage;
  attempts: number;
  /** Set while the job waits out a retry delay. */
  retryTimer: NodeJS.Timeout | undefined;
  /** Set while an attempt is in flight, to abort it when close() runs out of time. */
  attempt: AbortController | undefined;
  readonly done: Promise<void>;
  readonly finish: () => void;
}

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_MAX_PENDING = 1000;

/**
 * What may be logged about a mail. The domain, not the address: enough to see that one provider
 * refuses us, without writing who asked for a reset. The subject is one of the fixed subjects of
 * messages.ts and carries no user data.
 */
function about(message: MailMessage): { domain: string; subject: string } {
  const at = message.to.lastIndexOf('@');
  return { domain: at < 0 ? 'unknown' : message.to.slice(at + 1).toLowerCase(), subject: message.subject };
}

function failureFields(failure: DeliveryFailure | undefined): { code?: string; responseCode?: number } {
  if (!failure) return {};
  return {
    ...(failure.code === undefined ? {} : { code: failure.code }),
    ...(failure.responseCode === undefined ? {} : { responseCode: failure.responseCode }),
  };
}

export class DeliveryQueue {
  private readonly jobs = new Set<Job>();
  private readonly ready: Job[] = [];
  private inFlight = 0;
  private closing = false;
  private readonly concurrency: number;
  private readonly maxPending: number;

  constructor(private readonly options: DeliveryQueueOptions) {
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
    this.maxPending = Math.max(1, options.maxPending ?? DEFAULT_MAX_PENDING);
  }

  /** Queues the message; never throws. A mail refused here (closed, full) is logged as given up. */
  add(message: MailMessage): void {
    if (this.closing) {
      this.options.logger.error({ mail: { ...about(message), attempts: 0 } }, 'mail not sent: the mailer is closed');
      return;
    }
    if (this.jobs.size >= this.maxPending) {
      this.options.logger.error({ mail: { ...about(message), attempts: 0 } }, `mail not sent: ${this.maxPending} mails are already waiting`);
      return;
    }
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const job: Job = { message, attempts: 0, retryTimer: undefined, attempt: undefined, done, finish };
    this.jobs.add(job);
    this.ready.push(job);
    this.pump();
  }

  /** Resolves once every mail queued so far is delivered or given up; later mails are not waited for. */
  idle(): Promise<void> {
    return Promise.all([...this.jobs].map((job) => job.done)).then(() => undefined);
  }

  /**
   * Stops taking mail and gives what is queued until `timeoutMs` to go out, with no more waiting
   * between attempts: a mail due for a retry gets its last attempt now, and any failure is final.
   * What is still pending at the deadline is aborted and logged as given up.
   */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    for (const job of this.jobs) {
      if (job.retryTimer === undefined) continue;
      clearTimeout(job.retryTimer);
      job.retryTimer = undefined;
      this.ready.push(job);
    }
    this.pump();
    let deadline: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise<void>((resolve) => (deadline = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(deadline);
    this.ready.length = 0;
    for (const job of [...this.jobs]) {
      job.attempt?.abort();
      this.giveUp(job, undefined, 'the mailer closed before it went out');
    }
  }

  private pump(): void {
    while (this.inFlight < this.concurrency && this.ready.length > 0) void this.run(this.ready.shift()!);
  }

  private async run(job: Job): Promise<void> {
    this.inFlight += 1;
    job.attempts += 1;
    const attempt = new AbortController();
    job.attempt = attempt;
    let failure: DeliveryFailure | undefined;
    try {
      await this.options.deliver(job.message, attempt.signal);
    } catch (error) {
      failure = error instanceof DeliveryFailure ? error : new DeliveryFailure(undefined, undefined, false);
    } finally {
      this.inFlight -= 1;
      job.attempt = undefined;
    }
    // close() may have given the job up while this attempt was being aborted.
    if (this.jobs.has(job)) this.settleAttempt(job, failure);
    this.pump();
  }

  private settleAttempt(job: Job, failure: DeliveryFailure | undefined): void {
    const { logger, retryDelaysMs } = this.options;
    if (!failure) {
      logger.info({ mail: { ...about(job.message), attempts: job.attempts } }, 'mail delivered');
      this.finish(job);
      return;
    }
    const delay = retryDelaysMs[job.attempts - 1];
    if (failure.permanent) return this.giveUp(job, failure, 'the server refused it for good');
    if (delay === undefined) return this.giveUp(job, failure, 'no retries left');
    if (this.closing) return this.giveUp(job, failure, 'the mailer is closing');
    logger.warn(
      { mail: { ...about(job.message), attempts: job.attempts, ...failureFields(failure), retryInMs: delay } },
      'mail delivery failed, will retry',
    );
    job.retryTimer = setTimeout(() => {
      job.retryTimer = undefined;
      this.ready.push(job);
      this.pump();
    }, delay);
    // A mail waiting to be retried must not keep a process alive that has nothing else to do.
    job.retryTimer.unref();
  }

  /** The one error line of a mail that will not be delivered: no address, body, link or server text. */
  private giveUp(job: Job, failure: DeliveryFailure | undefined, reason: string): void {
    this.options.logger.error(
      { mail: { ...about(job.message), attempts: job.attempts, ...failureFields(failure) } },
      `mail not delivered, giving up: ${reason}`,
    );
    this.finish(job);
  }

  private finish(job: Job): void {
    if (job.retryTimer !== undefined) clearTimeout(job.retryTimer);
    this.jobs.delete(job);
    job.finish();
  }
}
