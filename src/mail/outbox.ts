// The process's mailer, built from the mail config: SMTP behind a retrying queue, the development log, or off.
import type { Config } from '../config';
import type { Logger } from '../lib/logger';
import { disabledMailer } from './disabled-mailer';
import { logMailer } from './log-mailer';
import { DeliveryQueue } from './delivery-queue';
import { smtpDelivery } from './smtp-delivery';
import type { Mailer } from './types';

export interface MailerOptions {
  readonly config: Config['mail'];
  readonly production: boolean;
  readonly logger: Logger;
  /** The waits before each retry (default 1 s, 5 s, 30 s: four attempts in all). */
  readonly retryDelaysMs?: readonly number[];
}

export interface MailerCloseOptions {
  /** How long queued mail may still take to go out before it is given up (default 10 s). */
  readonly timeoutMs?: number;
}

/** A Mailer whose close() takes a bound on how long it waits. */
export interface ClosableMailer extends Mailer {
  close(options?: MailerCloseOptions): Promise<void>;
}

/** About a minute of trying in all, enough to ride out an SMTP server restart. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [1000, 5000, 30_000];
const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;

function smtpMailer(smtpUrl: string, options: MailerOptions): ClosableMailer {
  // In production an smtp:// relay must upgrade to TLS, unless it is on this host (a local relay or a sidecar).
  const { protocol, hostname } = new URL(smtpUrl);
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(hostname) || hostname.startsWith('127.');
  const transport = smtpDelivery(smtpUrl, options.config.from, { requireTls: options.production && protocol === 'smtp:' && !loopback });
  const queue = new DeliveryQueue({
    deliver: transport.deliver,
    logger: options.logger,
    retryDelaysMs: options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
  });
  let closed: Promise<void> | undefined;
  return {
    enabled: true,
    send: (message) => queue.add(message),
    idle: () => queue.idle(),
    close(closeOptions) {
      closed ??= queue.close(closeOptions?.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS).then(() => transport.close());
      return closed;
    },
  };
}

/**
 * SMTP when `config.smtpUrl` is set; otherwise the log (development) or nothing (production).
 * Sending never throws or blocks the caller; see Mailer.
 */
export function createMailer(options: MailerOptions): ClosableMailer {
  const { smtpUrl } = options.config;
  if (smtpUrl !== null) return smtpMailer(smtpUrl, options);
  return options.production ? disabledMailer(options.logger) : logMailer(options.logger);
}
