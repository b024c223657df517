// A real SMTP server inside the test process (smtp-server + mailparser): what the mailer sends is what the tests read.
import { createServer, type Server, type Socket } from 'node:net';
import { simpleParser, type AddressObject } from 'mailparser';
import { SMTPServer, type SMTPServerError } from 'smtp-server';

/** One received mail, as a recipient's client would show it. */
export interface ReceivedMail {
  /** The addresses of the To header. */
  readonly to: string[];
  /** The envelope recipients (RCPT TO), which decide where a mail really goes. */
  readonly envelopeTo: string[];
  /** The From header as text, e.g. `Auth <auth@example.test>`. */
  readonly from: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

export interface NextMailOptions {
  /** Only a mail whose subject matches. */
  readonly subject?: RegExp;
  /** Only a mail whose subject does not match. */
  readonly not?: RegExp;
  /** How long to wait (default 10 s). */
  readonly timeoutMs?: number;
}

export interface SmtpTestServer {
  /** `smtp://127.0.0.1:<port>`, for SMTP_URL. */
  readonly url: string;
  /** Every mail received so far, oldest first. */
  readonly messages: ReceivedMail[];
  /** The user names clients logged in with (any password is accepted). */
  readonly logins: string[];
  /**
   * The next mail to `to` (and matching the options) that arrives after this call: call it before
   * the request that sends the mail. Rejects after the timeout, naming the address.
   */
  nextMail(to: string, options?: NextMailOptions): Promise<ReceivedMail>;
  /** The one http(s) link in the mail's text part; throws unless there is exactly one. */
  linkIn(mail: ReceivedMail): string;
  /** Refuses the next `count` mails at MAIL FROM with `responseCode` (default 451, a temporary failure). */
  failNext(count: number, responseCode?: number): void;
  close(): Promise<void>;
}

interface Waiter {
  readonly to: string;
  readonly options: NextMailOptions;
  readonly resolve: (mail: ReceivedMail) => void;
}

function addresses(header: AddressObject | AddressObject[] | undefined): string[] {
  const objects = header === undefined ? [] : Array.isArray(header) ? header : [header];
  return objects.flatMap((object) => object.value.map((entry) => entry.address ?? '')).filter((address) => address !== '');
}

function matches(mail: ReceivedMail, to: string, options: NextMailOptions): boolean {
  const address = to.toLowerCase();
  if (!mail.envelopeTo.some((recipient) => recipient.toLowerCase() === address)) return false;
  if (options.subject && !options.subject.test(mail.subject)) return false;
  return !(options.not && options.not.test(mail.subject));
}

/** The one http(s) link of a text part. */
export function linkIn(mail: ReceivedMail): string {
  const links = mail.text.match(/https?:\/\/[^\s<>"]+/g) ?? [];
  if (links.length !== 1) throw new Error(`expected one link in the mail "${mail.subject}", found ${links.length}`);
  return links[0]!;
}

/** Starts the server on 127.0.0.1 and a free port: plain SMTP, no STARTTLS, authentication optional. */
export async function startSmtpServer(): Promise<SmtpTestServer> {
  const messages: ReceivedMail[] = [];
  const logins: string[] = [];
  let waiters: Waiter[] = [];
  const failures: number[] = [];

  const server = new SMTPServer({
    authOptional: true,
    // No TLS at all: the test server has no certificate, and the client should not need one for smtp://.
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    closeTimeout: 1000,
    onAuth(auth, _session, callback) {
      logins.push(auth.username ?? '');
      callback(null, { user: auth.username });
    },
    onMailFrom(_address, _session, callback) {
      const responseCode = failures.shift();
      if (responseCode === undefined) return callback();
      const error: SMTPServerError = new Error(responseCode < 500 ? 'Try again later (test failure)' : 'Refused (test failure)');
      error.responseCode = responseCode;
      callback(error);
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          const mail: ReceivedMail = {
            to: addresses(parsed.to),
            envelopeTo: session.envelope.rcptTo.map((recipient) => recipient.address),
            from: parsed.from?.text ?? '',
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : '',
          };
          messages.push(mail);
          const [served, waiting] = partition(waiters, (waiter) => matches(mail, waiter.to, waiter.options));
          waiters = waiting;
          for (const waiter of served) waiter.resolve(mail);
          callback();
        })
        .catch((error: unknown) => callback(error instanceof Error ? error : new Error(String(error))));
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.server.address() as { port: number };

  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    logins,
    nextMail(to, options = {}) {
      const timeoutMs = options.timeoutMs ?? 10_000;
      return new Promise<ReceivedMail>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((waiter) => waiter !== entry);
          const seen = messages.filter((mail) => matches(mail, to, {})).map((mail) => `"${mail.subject}"`);
          reject(new Error(`no mail to ${to}${describeFilters(options)} within ${timeoutMs} ms (mails to it so far: ${seen.join(', ') || 'none'})`));
        }, timeoutMs);
        const entry: Waiter = {
          to,
          options,
          resolve: (mail) => {
            clearTimeout(timer);
            resolve(mail);
          },
        };
        waiters.push(entry);
      });
    },
    linkIn,
    failNext(count, responseCode = 451) {
      for (let i = 0; i < count; i += 1) failures.push(responseCode);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  return [items.filter(test), items.filter((item) => !test(item))];
}

function describeFilters(options: NextMailOptions): string {
  const parts = [options.subject && `subject ${options.subject}`, options.not && `subject not ${options.not}`].filter(Boolean);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

/** An smtp:// URL where nothing listens: the port was free a moment ago and is closed again. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `smtp://127.0.0.1:${port}`;
}

/** A server that accepts connections and never says a word: an SMTP server that hangs before its greeting. */
export async function startSilentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `smtp://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
