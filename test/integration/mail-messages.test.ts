// What each account mail says, in both parts, and the links it carries; nothing here needs a server.
import { humanDuration } from '../../src/mail/human-duration';
import { escapeHtml } from '../../src/mail/layout';
import {
  passwordChangedMail,
  passwordResetMail,
  resetLink,
  sessionEndedMail,
  verificationLink,
  verificationMail,
} from '../../src/mail/messages';
import type { MailMessage } from '../../src/mail/types';

const APP_URL = 'https://app.example.test';
const AT = Date.UTC(2026, 4, 6, 7, 8, 9, 123);
const TO = "o'brien+test@example.com";

/** Every http(s) link a reader could follow from the text part. */
function links(text: string): string[] {
  return text.match(/https?:\/\/[^\s<>"]+/g) ?? [];
}

function expectBothParts(mail: MailMessage, sentence: string): void {
  expect(mail.text).toContain(sentence);
  expect(mail.html).toContain(escapeHtml(sentence));
}

describe('links in mails', () => {
  it('builds APP_URL/reset-password?token=… and APP_URL/verify-email?token=… with the token URL-encoded', () => {
    expect(resetLink(APP_URL, 'abc-_123')).toBe(`${APP_URL}/reset-password?token=abc-_123`);
    expect(verificationLink(APP_URL, 'abc-_123')).toBe(`${APP_URL}/verify-email?token=abc-_123`);
    const odd = 'a+b/c=d&e f';
    expect(new URL(resetLink(APP_URL, odd)).searchParams.get('token')).toBe(odd);
    expect(new URL(verificationLink(APP_URL, odd)).searchParams.get('token')).toBe(odd);
  });

  it('does not double the slash when APP_URL ends with one or sits under a path', () => {
    expect(resetLink(`${APP_URL}/`, 't')).toBe(`${APP_URL}/reset-password?token=t`);
    expect(verificationLink(`${APP_URL}/account`, 't')).toBe(`${APP_URL}/account/verify-email?token=t`);
  });
});

describe('passwordResetMail', () => {
  const link = resetLink(APP_URL, 'the-token');
  const mail = passwordResetMail({ to: TO, link, ttlMs: 3_600_000 });

  it('asks to reset the password with its one link, says it works once for how long, and to ignore it otherwise', () => {
    expect(mail).toMatchObject({ to: TO, subject: 'Reset your password', link });
    expect(links(mail.text)).toEqual([link]);
    expectBothParts(mail, 'The link works once and expires in 1 hour.');
    expectBothParts(mail, 'If you did not ask for this, ignore this mail');
    expect(mail.html).toContain(`<a href="${link}">Choose a new password</a>`);
  });

  it('escapes the address it names in the HTML part, and only there', () => {
    expect(mail.text).toContain(TO);
    expect(mail.html).toContain('o&#39;brien+test@example.com');
    expect(mail.html).not.toContain(TO);
  });

  it('escapes the link inside the href attribute', () => {
    const tricky = `${APP_URL}/reset-password?token=x&next="><script>`;
    const html = passwordResetMail({ to: TO, link: tricky, ttlMs: 60_000 }).html;
    expect(html).toContain('href="https://app.example.test/reset-password?token=x&amp;next=&quot;&gt;&lt;script&gt;"');
    expect(html).not.toContain('<script>');
  });
});

describe('verificationMail', () => {
  it('asks to confirm the address with its one link, valid once for the configured time', () => {
    const link = verificationLink(APP_URL, 'v-token');
    const mail = verificationMail({ to: TO, link, ttlMs: 86_400_000 });
    expect(mail).toMatchObject({ to: TO, subject: 'Confirm your email address', link });
    expect(links(mail.text)).toEqual([link]);
    expectBothParts(mail, 'The link works once and expires in 24 hours.');
    expect(mail.html).toContain(`<a href="${link}">`);
  });
});

describe('passwordChangedMail', () => {
  it('tells the owner when the password was changed, that every other session ended, and what to do if it was not them', () => {
    const mail = passwordChangedMail({ to: TO, how: 'changed', at: AT });
    expect(mail.subject).toBe('Your password was changed');
    expect(mail.link).toBeUndefined();
    expect(links(mail.text)).toEqual([]);
    expectBothParts(mail, 'was changed at 2026-05-06T07:08:09Z.');
    expectBothParts(mail, 'Every other session of the account was signed out.');
    expect(mail.text).toMatch(/If this was not you, reset your password/);
  });

  it('tells the owner when the password was reset, and that every session ended', () => {
    const mail = passwordChangedMail({ to: TO, how: 'reset', at: AT });
    expect(mail.subject).toBe('Your password was reset');
    expectBothParts(mail, 'was reset with a link mailed to this address at 2026-05-06T07:08:09Z.');
    expectBothParts(mail, 'Every session of the account was signed out.');
  });
});

describe('sessionEndedMail', () => {
  /** The line of the text part that names the session. */
  function sessionLine(mail: MailMessage): string {
    return mail.text.split('\n').find((text) => text.startsWith('The session:'))!;
  }

  it('says a refresh token was used twice so the session was signed out, names the session, and advises a password change', () => {
    const mail = sessionEndedMail({ to: TO, at: AT, userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0', ip: '203.0.113.9' });
    expect(mail.subject).toBe('One of your sessions was signed out');
    expect(mail.link).toBeUndefined();
    expect(links(mail.text)).toEqual([]);
    expect(mail.text).toContain('At 2026-05-06T07:08:09Z, a refresh token');
    expect(mail.text).toContain('was used twice');
    // The app by its product tokens only: the comment in parentheses is the client's free text.
    expectBothParts(mail, 'The session: Mozilla/5.0 Firefox/140.0, from 203.0.113.9.');
    expect(mail.text).not.toContain('X11');
    expect(mail.text).toMatch(/If you did not expect this, change your password/);
  });

  it('names the app by its Name/version product tokens, at most six, in the order sent', () => {
    const named = (userAgent: string) => sessionLine(sessionEndedMail({ to: TO, at: AT, userAgent, ip: '192.0.2.1' }));
    expect(named('curl/8.5.0')).toBe('The session: curl/8.5.0, from 192.0.2.1.');
    expect(named('okhttp/4.12.0 MyApp/2.3.1-beta (Android 14; Pixel 8)')).toBe('The session: okhttp/4.12.0 MyApp/2.3.1, from 192.0.2.1.');
    const eight = Array.from({ length: 8 }, (_, i) => `P${i}/${i}.0`).join(' ');
    expect(named(eight)).toBe('The session: P0/0.0 P1/1.0 P2/2.0 P3/3.0 P4/4.0 P5/5.0, from 192.0.2.1.');
  });

  it('lets no sentence, markup, address or URL of the User-Agent into either part', () => {
    const userAgent =
      'Mozilla/5.0 Your account is locked, call +1-555-0100 or visit https://evil.example/unlock/1.0 ' +
      '<a href="http://evil.example/x">support</a> support@evil.example/2.0 evil.example/3.0 Firefox/140.0';
    const mail = sessionEndedMail({ to: TO, at: AT, userAgent, ip: '203.0.113.9' });
    expectBothParts(mail, 'The session: Mozilla/5.0 Firefox/140.0, from 203.0.113.9.');
    for (const part of [mail.text, mail.html]) {
      for (const quoted of ['locked', '555', 'evil.example', 'unlock', 'support', 'href=&quot;', '&lt;a']) expect(part).not.toContain(quoted);
    }
    expect(links(mail.text)).toEqual([]);
  });

  it('keeps the session line on one line and short, and says "an unknown app" when the User-Agent has no product token', () => {
    const forged = `Agent/1.0\r\nBcc: attacker@evil.example\u0000${'x'.repeat(500)} Tool/2.0`;
    const mail = sessionEndedMail({ to: TO, at: AT, userAgent: forged, ip: '' });
    expect(sessionLine(mail)).toBe('The session: Agent/1.0 Tool/2.0, from an unknown address.');
    expect(mail.text).not.toContain('Bcc');
    expect(mail.text).not.toContain('\u0000');
    // Names of 30 characters and versions longer than 20 (kept to 20): six of them are cut short.
    const longest = Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(65 + i)}${'n'.repeat(29)}/1${'2'.repeat(60)}`).join(' ');
    const long = sessionLine(sessionEndedMail({ to: TO, at: AT, userAgent: longest, ip: '::1' }));
    expect(long).toMatch(/^The session: An{29}\/12{19} Bn{29}\/12{19} .*…, from ::1\.$/);
    expect(long.length).toBeLessThan(260);
    expect(long).not.toContain('G');
    for (const userAgent of ['', '  ', 'ua', `Agent\r\nBcc: attacker@evil.example\u0000${'x'.repeat(500)}`, '<script>alert(1)</script>', 'https://evil.example/']) {
      expect(sessionLine(sessionEndedMail({ to: TO, at: AT, userAgent, ip: '::1' }))).toBe('The session: an unknown app, from ::1.');
    }
  });
});

describe('every mail', () => {
  const all = [
    passwordResetMail({ to: TO, link: resetLink(APP_URL, 't'), ttlMs: 3_600_000 }),
    verificationMail({ to: TO, link: verificationLink(APP_URL, 't'), ttlMs: 86_400_000 }),
    passwordChangedMail({ to: TO, how: 'changed', at: AT }),
    sessionEndedMail({ to: TO, at: AT, userAgent: 'ua', ip: '192.0.2.1' }),
  ];

  it('has a text part and a complete HTML document titled with its subject', () => {
    for (const mail of all) {
      expect(mail.text.trim().length).toBeGreaterThan(50);
      expect(mail.html.startsWith('<!doctype html>')).toBe(true);
      expect(mail.html).toContain(`<title>${escapeHtml(mail.subject)}</title>`);
      expect(mail.html.trim().endsWith('</html>')).toBe(true);
    }
  });
});

describe('humanDuration', () => {
  it.each([
    [1000, '1 second'],
    [30_000, '30 seconds'],
    [60_000, '1 minute'],
    [5_400_000, '90 minutes'],
    [3_600_000, '1 hour'],
    [86_400_000, '24 hours'],
    [129_600_000, '36 hours'],
    [172_800_000, '2 days'],
    [604_800_000, '7 days'],
    [1500, '2 seconds'],
    [90_500, '2 minutes'],
    [200, '1 second'],
  ])('says %i ms as "%s"', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});
