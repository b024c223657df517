// The mailer against a real SMTP server: delivery, retries, giving up with one safe log line, the development log, and a bounded close.
import type { Config } from '../../src/config';
import { createLogger } from '../../src/lib/logger';
import { passwordResetMail, resetLink, sessionEndedMail } from '../../src/mail/messages';
import { createMailer, type ClosableMailer, type MailerOptions } from '../../src/mail/outbox';
import { logLines } from '../helpers/log-lines';
import { closedPortUrl, linkIn, startSilentServer, startSmtpServer, type SmtpTestServer } from '../helpers/smtp';

const APP_URL = 'https://app.example.test';
const FROM = 'Auth Server <auth@example.test>';
const TOKEN = 'Reset-Token_0123456789abcdefghij';
const LINK = resetLink(APP_URL, TOKEN);
const SMTP_PASSWORD = 's3cret-smtp-pa55';
const FAST_RETRIES = [20, 20, 20];

interface LogLine {
  level: number;
  msg: string;
  mail?: Record<string, unknown>;
}

const ERROR = 50;
const WARN = 40;
const INFO = 30;

function mailConfig(smtpUrl: string | null): Config['mail'] {
  return {
    smtpUrl,
    from: FROM,
    appUrl: APP_URL,
    cooldownMs: 60_000,
    passwordResetTtlMs: 3_600_000,
    emailVerificationTtlMs: 86_400_000,
  };
}

/** A mailer whose log lines the test reads; every one is closed after the test. */
const opened: ClosableMailer[] = [];
function mailerFor(smtpUrl: string | null, options: Partial<MailerOptions> = {}) {
  const { lines, sink } = logLines();
  const mailer = createMailer({
    config: mailConfig(smtpUrl),
    production: true,
    logger: createLogger('info', sink),
    retryDelaysMs: FAST_RETRIES,
    ...options,
  });
  opened.push(mailer);
  const logs = () => lines.map((line) => JSON.parse(line) as LogLine);
  return { mailer, lines, logs, errors: () => logs().filter((line) => line.level === ERROR) };
}

function resetMailTo(to: string) {
  return passwordResetMail({ to, link: LINK, ttlMs: 3_600_000 });
}

let smtp: SmtpTestServer;
let counter = 0;
/** A fresh address per test, so one test's mail never satisfies another's wait. */
function address(name = 'user'): string {
  counter += 1;
  return `${name}.${counter}@example.com`;
}

beforeAll(async () => {
  smtp = await startSmtpServer();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((mailer) => mailer.close({ timeoutMs: 1000 })));
});
afterAll(async () => {
  await smtp.close();
});

describe('mail over SMTP', () => {
  it('delivers a reset mail from MAIL_FROM to the user, with the link in a text part and an HTML part', async () => {
    const { mailer, logs } = mailerFor(smtp.url);
    const to = `o'brien.${++counter}@example.com`;
    const arriving = smtp.nextMail(to);
    mailer.send(resetMailTo(to));
    const mail = await arriving;

    expect(mail.from).toBe('"Auth Server" <auth@example.test>');
    expect(mail.to).toEqual([to]);
    expect(mail.envelopeTo).toEqual([to]);
    expect(mail.subject).toBe('Reset your password');
    expect(linkIn(mail)).toBe(LINK);
    expect(mail.text).toContain('works once');
    expect(mail.text).toContain('1 hour');
    expect(mail.text).toMatch(/did not ask for this, ignore/);
    expect(mail.html).toContain(`<a href="${LINK}">`);
    expect(mail.html).toContain(`o&#39;brien.${counter}@example.com`);
    expect(mail.html).not.toContain("o'brien");

    await mailer.idle();
    const delivered = logs().filter((line) => line.msg === 'mail delivered');
    expect(delivered).toEqual([{ level: INFO, time: expect.any(Number), msg: 'mail delivered', mail: { domain: 'example.com', subject: 'Reset your password', attempts: 1 } }]);
  });

  it('quotes of a User-Agent with markup and a URL only its product tokens, in both parts, and escapes the address it names', async () => {
    const { mailer } = mailerFor(smtp.url);
    const to = address("o'hara");
    const arriving = smtp.nextMail(to);
    const userAgent = '<script>alert("x")</script> Evil & Co <a href="https://evil.example/">click</a> Mozilla/5.0 curl/8.5.0';
    mailer.send(sessionEndedMail({ to, at: Date.UTC(2026, 0, 2, 3, 4, 5), userAgent, ip: '203.0.113.9' }));
    const mail = await arriving;

    expect(mail.text).toContain('The session: Mozilla/5.0 curl/8.5.0, from 203.0.113.9.');
    expect(mail.html).toContain('<p>The session: Mozilla/5.0 curl/8.5.0, from 203.0.113.9.</p>');
    for (const part of [mail.text, mail.html]) {
      for (const quoted of ['script', 'alert', 'Evil', 'evil.example', 'click', 'href=&quot;', '&lt;a']) expect(part).not.toContain(quoted);
    }
    expect(mail.html).toContain(`o&#39;hara.${counter}@example.com`);
    expect(mail.html).not.toContain("o'hara");
    expect(mail.text).toContain('2026-01-02T03:04:05Z');
  });

  it('names "an unknown app" when the User-Agent carries no product token', async () => {
    const { mailer } = mailerFor(smtp.url);
    const to = address();
    const arriving = smtp.nextMail(to);
    mailer.send(sessionEndedMail({ to, at: Date.UTC(2026, 0, 2, 3, 4, 5), userAgent: 'Visit https://evil.example/ now', ip: '203.0.113.9' }));
    const mail = await arriving;

    expect(mail.text).toContain('The session: an unknown app, from 203.0.113.9.');
    expect(mail.html).toContain('<p>The session: an unknown app, from 203.0.113.9.</p>');
    expect(`${mail.text}${mail.html}`).not.toContain('evil.example');
  });

  it('sends a mail given to a comma-separated address to that one string only, never splitting it into recipients', async () => {
    const { mailer, errors } = mailerFor(smtp.url);
    const victim = address('victim');
    mailer.send(resetMailTo(`${victim}, attacker@evil.example`));
    await mailer.idle();
    expect(smtp.messages.flatMap((mail) => mail.envelopeTo)).not.toContain('attacker@evil.example');
    // The server refuses the odd address for good; a string `to` would have mailed both.
    expect(errors()).toEqual([expect.objectContaining({ mail: expect.objectContaining({ attempts: 1, responseCode: 501 }) })]);
  });

  it('retries a delivery the server refuses twice, and delivers it exactly once', async () => {
    const { mailer, logs } = mailerFor(smtp.url);
    const to = address();
    smtp.failNext(2);
    mailer.send(resetMailTo(to));
    await mailer.idle();

    expect(smtp.messages.filter((mail) => mail.to.includes(to))).toHaveLength(1);
    const levels = logs().map((line) => [line.level, line.mail?.attempts]);
    expect(levels).toEqual([
      [WARN, 1],
      [WARN, 2],
      [INFO, 3],
    ]);
    expect(logs()[0]!.mail).toMatchObject({ responseCode: 451, retryInMs: 20 });
  });

  it('gives up after the last retry with one error line that names no address, link, token, body or SMTP password', async () => {
    const url = new URL(smtp.url);
    url.username = 'mailer';
    url.password = SMTP_PASSWORD;
    const { mailer, lines, errors } = mailerFor(url.toString());
    const to = address('secretive');
    smtp.failNext(4);
    mailer.send(resetMailTo(to));
    await mailer.idle();

    expect(smtp.logins).toContain('mailer');
    expect(smtp.messages.filter((mail) => mail.to.includes(to))).toEqual([]);
    expect(errors()).toEqual([
      {
        level: ERROR,
        time: expect.any(Number),
        msg: 'mail not delivered, giving up: no retries left',
        mail: { domain: 'example.com', subject: 'Reset your password', attempts: 4, code: 'EENVELOPE', responseCode: 451 },
      },
    ]);
    const everything = lines.join('\n');
    for (const secret of [SMTP_PASSWORD, TOKEN, LINK, to, 'secretive', 'ignore this mail', 'works once']) {
      expect(everything).not.toContain(secret);
    }
  });

  it('gives up at once, without retrying, when the server refuses the mail for good (5xx)', async () => {
    const { mailer, errors } = mailerFor(smtp.url);
    const to = address();
    smtp.failNext(1, 550);
    mailer.send(resetMailTo(to));
    await mailer.idle();

    expect(errors()).toEqual([expect.objectContaining({ msg: 'mail not delivered, giving up: the server refused it for good', mail: expect.objectContaining({ attempts: 1, responseCode: 550 }) })]);
    expect(smtp.messages.filter((mail) => mail.to.includes(to))).toEqual([]);
  });

  it('ends with one error line when no server listens, and send() neither throws nor returns anything to await', async () => {
    const { mailer, errors, logs } = mailerFor(await closedPortUrl());
    expect(mailer.enabled).toBe(true);
    expect(mailer.send(resetMailTo(address()))).toBeUndefined();
    await mailer.idle();

    expect(errors()).toHaveLength(1);
    expect(errors()[0]!.mail).toMatchObject({ attempts: 4, code: expect.stringMatching(/^E[A-Z]+$/) });
    expect(errors()[0]!.mail).not.toHaveProperty('responseCode');
    expect(logs().filter((line) => line.level === WARN)).toHaveLength(3);
  });

  it('resolves idle() only once every mail queued before it is delivered', async () => {
    const { mailer } = mailerFor(smtp.url);
    const recipients = [address(), address(), address(), address(), address(), address()];
    smtp.failNext(1);
    for (const to of recipients) mailer.send(resetMailTo(to));
    await mailer.idle();
    for (const to of recipients) expect(smtp.messages.filter((mail) => mail.to.includes(to))).toHaveLength(1);
  });
});

describe('closing the mailer', () => {
  it('sends a mail that waits for its retry at once, instead of waiting out the delay', async () => {
    const { mailer, logs } = mailerFor(smtp.url, { retryDelaysMs: [60_000] });
    const to = address();
    smtp.failNext(1);
    mailer.send(resetMailTo(to));
    while (!logs().some((line) => line.level === WARN)) await new Promise((resolve) => setTimeout(resolve, 5));

    const started = Date.now();
    await mailer.close({ timeoutMs: 5000 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(smtp.messages.filter((mail) => mail.to.includes(to))).toHaveLength(1);
  });

  it('resolves within its bound when the server hangs, giving the mail up with one error line', async () => {
    const silent = await startSilentServer();
    try {
      const { mailer, errors } = mailerFor(silent.url);
      mailer.send(resetMailTo(address()));
      await new Promise((resolve) => setTimeout(resolve, 50));

      const started = Date.now();
      await mailer.close({ timeoutMs: 300 });
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(250);
      expect(took).toBeLessThan(2000);
      expect(errors()).toEqual([expect.objectContaining({ msg: 'mail not delivered, giving up: the mailer closed before it went out' })]);
      await mailer.idle();
    } finally {
      await silent.close();
    }
  });

  it('refuses mail after close() with an error line, without throwing', async () => {
    const { mailer, errors } = mailerFor(smtp.url);
    await mailer.close();
    expect(() => mailer.send(resetMailTo(address()))).not.toThrow();
    expect(errors()).toEqual([expect.objectContaining({ msg: 'mail not sent: the mailer is closed', mail: expect.objectContaining({ attempts: 0 }) })]);
    await mailer.idle();
  });
});

describe('mail without SMTP_URL', () => {
  it('in development, writes each mail with its link to the log at info instead of sending it', async () => {
    const { mailer, lines, logs } = mailerFor(null, { production: false });
    const to = address();
    expect(mailer.enabled).toBe(true);
    mailer.send(resetMailTo(to));
    await mailer.idle();

    expect(logs()).toEqual([
      {
        level: INFO,
        time: expect.any(Number),
        msg: 'mail not sent (no SMTP_URL): Reset your password',
        mail: { to, subject: 'Reset your password', link: LINK },
      },
    ]);
    expect(lines.join('')).not.toContain('[redacted]');
    await mailer.close();
  });

  it('in production, is off: enabled is false, nothing is sent, the link is never logged, at most one warning', async () => {
    const { mailer, lines, logs } = mailerFor(null, { production: true });
    const before = smtp.messages.length;
    expect(mailer.enabled).toBe(false);
    mailer.send(resetMailTo(address()));
    mailer.send(resetMailTo(address()));
    await mailer.idle();
    await mailer.close();

    expect(smtp.messages.length).toBe(before);
    expect(logs().filter((line) => line.level >= WARN)).toHaveLength(1);
    expect(logs().every((line) => line.level === WARN)).toBe(true);
    expect(lines.join('')).not.toContain(TOKEN);
  });
});
