// TOTP (RFC 6238) through the otpauth library: SHA-1, 6 digits, 30 s steps, one step of drift either way, on the injected clock.
import { randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';

/** What every authenticator app assumes when the otpauth URI says nothing else. */
export const TOTP_ALGORITHM = 'SHA1';
export const TOTP_DIGITS = 6;
export const TOTP_PERIOD_SEC = 30;
/** Steps accepted on either side of the current one: a phone clock a little off, a code typed as it rolled over. */
export const TOTP_DRIFT_STEPS = 1;

/** 20 random bytes (160 bits, RFC 4226's recommended size), in base32 as users type them in. */
export function newTotpSecret(): string {
  return new Secret({ buffer: new Uint8Array(randomBytes(20)).buffer }).base32;
}

/** The otpauth:// URI an authenticator app scans (the QR code's content). */
export function otpauthUri(secretBase32: string, account: string, issuer: string): string {
  return new TOTP({
    issuer,
    label: account,
    secret: Secret.fromBase32(secretBase32),
    algorithm: TOTP_ALGORITHM,
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SEC,
  }).toString();
}

/** The time step (RFC 6238's T) of a moment in milliseconds. */
export function totpStep(atMs: number): number {
  return TOTP.counter({ period: TOTP_PERIOD_SEC, timestamp: atMs });
}

/** The code for a moment; `digits` other than 6 only for the RFC's test vectors. */
export function totpCode(secretBase32: string, atMs: number, digits = TOTP_DIGITS): string {
  return TOTP.generate({ secret: Secret.fromBase32(secretBase32), algorithm: TOTP_ALGORITHM, digits, period: TOTP_PERIOD_SEC, timestamp: atMs });
}

/**
 * The step whose code `code` is, within the drift allowed around `nowMs`, or null. The caller
 * still has to record the step as used (MfaStore.useStep) before it counts: a code is good once.
 */
export function matchingStep(secretBase32: string, code: string, nowMs: number): number | null {
  if (!new RegExp(`^\\d{${TOTP_DIGITS}}$`).test(code)) return null;
  const delta = TOTP.validate({
    token: code,
    secret: Secret.fromBase32(secretBase32),
    algorithm: TOTP_ALGORITHM,
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SEC,
    timestamp: nowMs,
    window: TOTP_DRIFT_STEPS,
  });
  return delta === null ? null : totpStep(nowMs) + delta;
}
