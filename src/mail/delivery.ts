// What the delivery queue asks of a transport: one delivery attempt, and a failure that is safe to log.
import type { MailMessage } from './types';

/** Makes one attempt at handing the message to the mail server; rejects with a DeliveryFailure. */
export type Deliver = (message: MailMessage, signal: AbortSignal) => Promise<void>;

/**
 * A failed attempt, reduced to what may be logged. A transport error's message and server
 * response can quote the recipient, the body or the credentials, so they are dropped here, at
 * the boundary, and nothing after it can log them by mistake.
 */
export class DeliveryFailure extends Error {
  constructor(
    /** The transport's error code (ECONNECTION, ETIMEDOUT, EAUTH, EENVELOPE, ...), if it gave one. */
    readonly code: string | undefined,
    /** The SMTP reply code, if the server answered with one. */
    readonly responseCode: number | undefined,
    /** True when the server refused the message for good (5xx but 503): retrying would only be refused again. */
    readonly permanent: boolean,
  ) {
    super(`mail delivery failed (${code ?? 'no code'}${responseCode === undefined ? '' : ` ${responseCode}`})`);
    this.name = 'DeliveryFailure';
  }
}
