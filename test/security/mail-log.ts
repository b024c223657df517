// The attacker's inbox in test/security/: without SMTP_URL outside production every mail is a log line with its link, read here for its one-time token.
import type { AuthApp } from '../../src/app';

export type MailKind = 'reset' | 'verification';

export interface LoggedMail {
  /** The address the mail went to, as the server wrote it. */
  to: string;
  subject: string;
  kind: MailKind | null;
  /** The `token` parameter of the mail's link, or null for a mail without one (a notice). */
  token: string | null;
  /** The line's index in the log, so that a caller can ask for mail after a point. */
  line: number;
}

const KIND_BY_PATH: Record<string, MailKind> = { '/reset-password': 'reset', '/verify-email': 'verification' };

/** Every mail the log holds, oldest first, from line `from` on. */
export function loggedMail(logs: readonly string[], from = 0): LoggedMail[] {
  const found: LoggedMail[] = [];
  for (let line = from; line < logs.length; line += 1) {
    let entry: { mail?: { to?: unknown; subject?: unknown; link?: unknown } };
    try {
      entry = JSON.parse(logs[line]!) as typeof entry;
    } catch {
      continue;
    }
    const mail = entry.mail;
    // Delivery lines of a real outbox carry a `mail` too, without `to`: only the development log's mail counts.
    if (!mail || typeof mail.to !== 'string' || typeof mail.subject !== 'string') continue;
    const link = typeof mail.link === 'string' ? new URL(mail.link) : null;
    found.push({
      to: mail.to,
      subject: mail.subject,
      kind: link ? (KIND_BY_PATH[link.pathname] ?? null) : null,
      token: link?.searchParams.get('token') ?? null,
      line,
    });
  }
  return found;
}

/** Waits for the work the app started after its answers (look-ups, mail) to end. */
export async function settled(app: AuthApp): Promise<void> {
  await app.services.background.idle();
  await app.services.mailer.idle();
}

/** The tokens of the mails of `kind` to `email` from line `from` on, oldest first. */
export function tokensMailed(logs: readonly string[], email: string, kind: MailKind, from = 0): string[] {
  const to = email.trim().toLowerCase();
  return loggedMail(logs, from)
    .filter((mail) => mail.to === to && mail.kind === kind && mail.token !== null)
    .map((mail) => mail.token!);
}

/** The one token of `kind` mailed to `email` from line `from` on; fails unless exactly one went out. */
export function theTokenMailed(logs: readonly string[], email: string, kind: MailKind, from = 0): string {
  const tokens = tokensMailed(logs, email, kind, from);
  if (tokens.length !== 1) throw new Error(`expected one ${kind} mail to ${email}, found ${tokens.length}`);
  return tokens[0]!;
}
