// Rules every audit store applies alike: the event types, the ids that sort by time, what of an event is kept, what a page may ask for.
import { randomFillSync } from 'node:crypto';
import type { AuditDetailValue, AuditEventRecord, AuditEventType, AuditQuery, NewAuditEvent } from './types';
import { invalidCursor } from './user-changes';

/** Every audit event type of the contract, in its order (for validating `?type`). */
export const AUDIT_EVENT_TYPES = [
  'user.registered',
  'user.created',
  'user.updated',
  'user.disabled',
  'user.enabled',
  'user.deleted',
  'login.succeeded',
  'login.failed',
  'login.rate_limited',
  'refresh.reuse_detected',
  'logout',
  'session.ended',
  'password.changed',
  'password.reset_requested',
  'password.reset',
  'email.verified',
  'mfa.enabled',
  'mfa.disabled',
  'mfa.failed',
] as const satisfies readonly AuditEventType[];

// Fails to compile when the union gains a type the list lacks.
const everyTypeListed: AuditEventType extends (typeof AUDIT_EVENT_TYPES)[number] ? true : never = true;
void everyTypeListed;

const TYPES: ReadonlySet<string> = new Set(AUDIT_EVENT_TYPES);

export function isAuditEventType(text: string): text is AuditEventType {
  return TYPES.has(text);
}

/** The most characters kept of `ip`, `userAgent` and each detail key and string. */
export const AUDIT_TEXT_LIMIT = 512;

/** The most events one page may hold. */
export const AUDIT_PAGE_LIMIT = 200;

/** How long a database keeps audit events when AUDIT_RETENTION is not given (90 days). */
export const DEFAULT_AUDIT_RETENTION_MS = 90 * 86_400_000;

/** Crockford's base32: no I, L, O or U, and in ASCII order, so ids compare as strings in time order. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_CHARS = 10;
const RANDOM_CHARS = 16;
/** The latest time an id can carry: 10 characters of 5 bits (about the year 37,000). */
const MAX_AT = 2 ** (5 * TIME_CHARS) - 1;
const ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

function encodeTime(at: number): string {
  let text = '';
  let rest = at;
  for (let i = 0; i < TIME_CHARS; i += 1) {
    text = ALPHABET[rest % 32]! + text;
    rest = Math.floor(rest / 32);
  }
  return text;
}

/**
 * Hands out event ids in the ULID layout: the time, then 80 random bits. Ids of one millisecond
 * from one source count up from the first one's random part, so that they sort in the order they
 * were made; sources on other instances draw their own random parts, so ids never collide (2^-80).
 */
export class AuditIds {
  private lastAt = -1;
  private readonly digits = new Uint8Array(RANDOM_CHARS);
  private readonly bytes = Buffer.alloc((RANDOM_CHARS * 5) / 8);

  next(at: number): string {
    if (!Number.isSafeInteger(at) || at < 0 || at > MAX_AT) throw new RangeError(`audit time ${at} is not a time an id can carry`);
    // A second id of the same millisecond counts up; one that cannot (80 bits all ones, in
    // practice never) draws afresh, still unique, no longer in order within that millisecond.
    if (at !== this.lastAt || !this.increment()) this.draw();
    this.lastAt = at;
    let text = encodeTime(at);
    for (const digit of this.digits) text += ALPHABET[digit]!;
    return text;
  }

  private draw(): void {
    randomFillSync(this.bytes);
    // 10 bytes are 16 groups of 5 bits, read from the most significant end.
    let bits = 0;
    let held = 0;
    let digit = 0;
    for (const byte of this.bytes) {
      bits = (bits << 8) | byte;
      held += 8;
      while (held >= 5) {
        held -= 5;
        this.digits[digit] = (bits >> held) & 31;
        digit += 1;
      }
      bits &= (1 << held) - 1;
    }
  }

  /** Adds one to the random part; false when it would overflow. */
  private increment(): boolean {
    for (let i = RANDOM_CHARS - 1; i >= 0; i -= 1) {
      if (this.digits[i]! < 31) {
        this.digits[i]! += 1;
        return true;
      }
      this.digits[i] = 0;
    }
    return false;
  }
}

/**
 * The smallest id an event at `at` can have: every id of that millisecond or later is >= it, every
 * earlier one below it. Times outside what an id can carry are brought to the nearest end.
 */
export function firstAuditIdAt(at: number): string {
  return encodeTime(Math.min(Math.max(Math.floor(at), 0), MAX_AT)) + '0'.repeat(RANDOM_CHARS);
}

// A lone surrogate has no UTF-8 form, and PostgreSQL's text cannot hold NUL: each store would
// change them its own way, so every store replaces them alike.
// eslint-disable-next-line no-control-regex -- matching NUL is the point
const UNKEEPABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Well-formed, and at most AUDIT_TEXT_LIMIT characters without splitting a surrogate pair. */
function keptText(text: string): string {
  const whole = text.replace(UNKEEPABLE, '\uFFFD');
  if (whole.length <= AUDIT_TEXT_LIMIT) return whole;
  const high = whole.charCodeAt(AUDIT_TEXT_LIMIT - 1);
  return whole.slice(0, high >= 0xd800 && high <= 0xdbff ? AUDIT_TEXT_LIMIT - 1 : AUDIT_TEXT_LIMIT);
}

function keptDetails(details: NewAuditEvent['details'] | undefined): Record<string, AuditDetailValue> {
  const kept: [string, AuditDetailValue][] = [];
  for (const [key, value] of Object.entries(details ?? {})) {
    if (typeof value === 'string') kept.push([keptText(key), keptText(value)]);
    else if (value === null || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) kept.push([keptText(key), value]);
    // Anything else (an object, undefined, NaN) has no exact form in every store: left out.
  }
  // fromEntries defines each key as an own property: a "__proto__" detail stays a detail.
  return Object.fromEntries(kept);
}

/**
 * The record a store keeps for `event`: its own fields only, trimmed as NewAuditEvent says. An
 * unknown type is a bug in the recorder (RangeError): every store indexes by type.
 */
export function auditRecord(id: string, at: number, event: NewAuditEvent): AuditEventRecord {
  if (!isAuditEventType(event.type)) throw new RangeError(`unknown audit event type ${JSON.stringify(event.type)}`);
  return {
    id,
    at,
    type: event.type,
    userId: event.userId ?? null,
    actorId: event.actorId ?? null,
    ip: keptText(String(event.ip ?? '')),
    userAgent: keptText(String(event.userAgent ?? '')),
    details: keptDetails(event.details),
  };
}

/** The ids a page may hold, from a checked query: `from` <= id < `before` (a bound is absent when null). */
export interface AuditIdRange {
  before: string | null;
  from: string | null;
  /** No id can match (since >= until, or a bound beyond every time an id can carry). */
  empty: boolean;
}

/** Checks a page query as every store does, and turns its cursor and times into a range of ids. */
export function auditIdRange(query: AuditQuery): AuditIdRange {
  const { limit, cursor, since, until } = query;
  if (!Number.isInteger(limit) || limit < 1 || limit > AUDIT_PAGE_LIMIT) {
    throw new RangeError(`audit page limit ${limit} is not 1 to ${AUDIT_PAGE_LIMIT}`);
  }
  for (const [name, value] of [['since', since], ['until', until]] as const) {
    if (value !== undefined && !Number.isSafeInteger(value)) throw new RangeError(`audit ${name} ${value} is not a whole number of ms`);
  }
  // The cursor is the id of the last event handed out: the next page starts below it.
  if (cursor && !ID_PATTERN.test(cursor)) throw invalidCursor();
  let before = cursor || null;
  let from: string | null = null;
  let empty = false;
  if (until !== undefined) {
    if (until <= 0) empty = true;
    else if (until <= MAX_AT) {
      const bound = firstAuditIdAt(until);
      if (before === null || bound < before) before = bound;
    }
  }
  if (since !== undefined && since > 0) {
    if (since > MAX_AT) empty = true;
    else from = firstAuditIdAt(since);
  }
  if (from !== null && before !== null && from >= before) empty = true;
  return { before, from, empty };
}

/** Whether the event passes the query's user and type filters (its time is the id range's job). */
export function auditMatches(event: AuditEventRecord, query: AuditQuery): boolean {
  return (query.userId === undefined || event.userId === query.userId) && (query.type === undefined || event.type === query.type);
}

/** A copy the caller may change without changing the store. */
export function copyAuditRecord(event: AuditEventRecord): AuditEventRecord {
  return { ...event, details: { ...event.details } };
}
