// Delivery over SMTP with nodemailer: one connection per mail, every wait bounded.
import { createTransport } from 'nodemailer';
import { DeliveryFailure, type Deliver } from './delivery';

/**
 * nodemailer waits up to 2 minutes to connect and 10 minutes on a silent socket by default: a
 * hung server would hold a message (and shutdown) that long. 10 s covers a slow but live server.
 */
const WAIT_MS = 10_000;

export interface SmtpDelivery {
  readonly deliver: Deliver;
  close(): void;
}

function numberOrUndefined(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Keeps the error's code and reply code, drops its message (see DeliveryFailure). */
function toFailure(error: unknown): DeliveryFailure {
  const fields = typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};
  const code = typeof fields.code === 'string' ? fields.code : undefined;
  const responseCode = numberOrUndefined(fields.responseCode);
  return new DeliveryFailure(code, responseCode, fields.permanent === true);
}

/**
 * Delivers through the server of `smtpUrl` (smtp:// upgrades with STARTTLS when the server offers
 * it, smtps:// is TLS from the start; nodemailer reads options such as requireTLS from the query).
 * Not pooled: these mails are few and far between, a pooled connection would mostly sit idle
 * until the server dropped it, and one connection per mail leaves no socket open after a send.
 */
export function smtpDelivery(smtpUrl: string, from: string, options: { requireTls?: boolean } = {}): SmtpDelivery {
  const transporter = createTransport(
    {
      url: smtpUrl,
      // Without it, whoever sits between this server and an smtp:// relay can strip STARTTLS and read reset links.
      ...(options.requireTls ? { requireTLS: true } : {}),
      connectionTimeout: WAIT_MS,
      greetingTimeout: WAIT_MS,
      socketTimeout: WAIT_MS,
      dnsTimeout: WAIT_MS,
      // The parts are strings built here; refuse anything that would make nodemailer read a file or fetch a URL.
      disableFileAccess: true,
      disableUrlAccess: true,
    },
    { from },
  );
  return {
    async deliver(message, signal) {
      try {
        await transporter.sendMail({
          // An address object, not a string: nodemailer splits a string at commas into several recipients.
          to: { name: '', address: message.to },
          subject: message.subject,
          text: message.text,
          html: message.html,
          signal,
        });
      } catch (error) {
        throw toFailure(error);
      }
    },
    close() {
      transporter.close();
    },
  };
}
