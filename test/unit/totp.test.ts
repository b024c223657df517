// TOTP through otpauth: the RFC 6238 appendix B vectors (SHA-1), and the codes an authenticator shows at a fake clock's moment.
import { createHmac } from 'node:crypto';
import { matchingStep, newTotpSecret, otpauthUri, totpCode, totpStep } from '../../src/auth/totp';
import { FakeClock } from '../helpers/fake-clock';

/** "12345678901234567890", the RFC's SHA-1 seed, in base32. */
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

/** RFC 4226 §5.3 by hand, independent of the library: what an authenticator app computes. */
function authenticatorCode(secretBase32: string, atMs: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const char of secretBase32) bits += alphabet.indexOf(char).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g)!.map((byte) => parseInt(byte, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(atMs / 1000 / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

describe('TOTP (RFC 6238)', () => {
  it.each([
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
    [20000000000, '65353130'],
  ])('gives the appendix B SHA-1 code at T=%i', (seconds, code) => {
    expect(totpCode(RFC_SECRET, seconds * 1000, 8)).toBe(code);
  });

  it('accepts the code an authenticator shows now, and one step either side, naming the step', () => {
    const clock = new FakeClock();
    const secret = newTotpSecret();
    const now = clock.now();
    const step = totpStep(now);
    expect(totpCode(secret, now)).toBe(authenticatorCode(secret, now));
    expect(matchingStep(secret, authenticatorCode(secret, now), now)).toBe(step);
    expect(matchingStep(secret, authenticatorCode(secret, now - 30_000), now)).toBe(step - 1);
    expect(matchingStep(secret, authenticatorCode(secret, now + 30_000), now)).toBe(step + 1);
  });

  it('refuses a code two steps away, another secret\'s code and anything but six digits', () => {
    const clock = new FakeClock();
    const secret = newTotpSecret();
    const now = clock.now();
    const code = authenticatorCode(secret, now);
    expect(matchingStep(secret, authenticatorCode(secret, now - 60_000), now)).toBeNull();
    clock.advanceSeconds(61);
    expect(matchingStep(secret, code, clock.now()) ?? 'refused').toBe(
      // Unless the code two steps on happens to be the same six digits (one in a million).
      authenticatorCode(secret, clock.now()) === code ? totpStep(clock.now()) : 'refused',
    );
    const other = newTotpSecret();
    const otherCode = authenticatorCode(other, now);
    const window = [-30_000, 0, 30_000].map((shift) => authenticatorCode(secret, now + shift));
    expect(matchingStep(secret, otherCode, now) === null).toBe(!window.includes(otherCode));
    for (const bad of ['', '12345', '1234567', '12 456', 'abcdef', `${code}\n`, '１２３４５６']) {
      expect(matchingStep(secret, bad, now)).toBeNull();
    }
  });

  it('makes 160-bit base32 secrets and the otpauth:// URI apps scan', () => {
    const secret = newTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(newTotpSecret()).not.toBe(secret);
    const uri = new URL(otpauthUri(secret, 'ada@example.com', 'auth-server'));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/auth-server:ada@example.com');
    expect(Object.fromEntries(uri.searchParams)).toEqual({ issuer: 'auth-server', secret, algorithm: 'SHA1', digits: '6', period: '30' });
  });
});
