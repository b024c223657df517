// The auth server's public keys fetched from its JWK Set URL: cached, looked up again for an unknown kid, rate-limited.
import { AppError } from '../errors';
import type { Clock } from '../lib/clock';
import { keyFromJwk, type KeyLookup, type VerificationKey } from './keys';

export interface JwksOptions {
  /** The JWK Set of the auth server, e.g. https://auth.example.com/.well-known/jwks.json. */
  url: string;
  /** Seconds a fetched key set is trusted before it is fetched again (default 600). */
  cacheMaxAge?: number;
  /** Seconds between two fetches at the least, however many unknown kids arrive (default 30). */
  cooldown?: number;
  /** Milliseconds one fetch may take (default 5000). */
  timeout?: number;
}

/** A JWK Set has a few keys; anything much larger is not one. */
const MAX_JWKS_BYTES = 64 * 1024;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The URL, checked: https, or http to this machine only (where nothing sits between the two processes). */
function jwksUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError('jwks.url must be an absolute URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
    throw new TypeError('jwks.url must use https (http is allowed only for localhost)');
  }
  return url;
}

function amount(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a number, 0 or more`);
  return value;
}

/** Reads the body, refusing more than `limit` bytes without buffering them. */
async function readCapped(response: Response, limit: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new Error('the JWK Set is too large');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Fetches and parses a JWK Set; keeps the ES256 signing keys it holds and ignores every other entry. */
async function fetchKeys(url: URL, timeoutMs: number): Promise<Map<string, VerificationKey>> {
  // No redirects: the configured URL is the only place keys come from.
  const response = await fetch(url, {
    redirect: 'error',
    signal: AbortSignal.timeout(timeoutMs),
    headers: { accept: 'application/json' },
  });
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new Error(`the JWK Set answered ${response.status}`);
  }
  const body = JSON.parse(await readCapped(response, MAX_JWKS_BYTES)) as { keys?: unknown };
  if (typeof body !== 'object' || body === null || !Array.isArray(body.keys)) throw new Error('not a JWK Set');
  const keys = new Map<string, VerificationKey>();
  for (const entry of body.keys) {
    const key = keyFromJwk(entry);
    if (key && !keys.has(key.kid)) keys.set(key.kid, key);
  }
  return keys;
}

/**
 * The keys of one JWK Set URL. Nothing is fetched until a token needs it; the set is fetched again
 * when it is older than `cacheMaxAge` or a token names a kid it lacks, but never more often than
 * once per `cooldown`, so tokens with made-up kids cannot turn this service against the auth server.
 * When a fetch fails, the keys fetched before stay in use.
 */
export class JwksClient implements KeyLookup {
  private readonly url: URL;
  private readonly maxAgeMs: number;
  private readonly cooldownMs: number;
  private readonly timeoutMs: number;
  private keys = new Map<string, VerificationKey>();
  private fetchedAt: number | null = null;
  private attemptedAt: number | null = null;
  private inFlight: Promise<void> | null = null;

  constructor(
    options: JwksOptions,
    private readonly clock: Clock,
  ) {
    this.url = jwksUrl(options.url);
    this.maxAgeMs = amount(options.cacheMaxAge, 600, 'jwks.cacheMaxAge') * 1000;
    this.cooldownMs = amount(options.cooldown, 30, 'jwks.cooldown') * 1000;
    this.timeoutMs = amount(options.timeout, 5000, 'jwks.timeout');
  }

  get(kid: string): VerificationKey | undefined {
    return this.keys.get(kid);
  }

  /** Fetches the set again when it has grown older than cacheMaxAge (and no fetch was tried lately). */
  async refreshIfStale(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (this.fetchedAt === null || this.clock.now() - this.fetchedAt < this.maxAgeMs) return;
    if (this.coolingDown()) return;
    return this.refresh();
  }

  /**
   * Fetches the set again because a token names a kid it lacks, unless a fetch was tried within the
   * cooldown. Rejects with AppError('unavailable') while no set has ever been fetched.
   */
  async refreshForUnknownKey(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (!this.coolingDown()) return this.refresh();
    if (this.fetchedAt === null) throw unavailable();
  }

  private coolingDown(): boolean {
    return this.attemptedAt !== null && this.clock.now() - this.attemptedAt < this.cooldownMs;
  }

  /** One fetch at a time: concurrent requests wait for the same one. */
  private refresh(): Promise<void> {
    this.inFlight ??= this.load().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async load(): Promise<void> {
    this.attemptedAt = this.clock.now();
    try {
      this.keys = await fetchKeys(this.url, this.timeoutMs);
      this.fetchedAt = this.clock.now();
    } catch (error) {
      if (this.fetchedAt === null) throw unavailable(error);
    }
  }
}

function unavailable(cause?: unknown): AppError {
  // Not "token invalid": the token may well be good, and the client should not be sent to log in again.
  return new AppError('unavailable', { description: 'The keys to check the token cannot be fetched right now.', cause });
}
