// Redis audit log: events as JSON in one hash, a log and per-user and per-type indexes as sorted sets by id, trimmed to a bound as each event is added (one step on one Redis, declared keys on a cluster).
import type { Clock } from '../../lib/clock';
import { AuditIds, auditIdRange, auditMatches, auditRecord } from '../audit-events';
import type { Logger } from '../../lib/logger';
import type { AuditEventRecord, AuditPage, AuditQuery, AuditStore, NewAuditEvent } from '../types';
import { guarded, LuaScript, unavailable, type RedisClient } from './connection';
import type { RedisKeys } from './keys';

/** Events kept by default: Redis is shared by every instance, so it keeps more than one process would. */
export const REDIS_AUDIT_MAX_EVENTS = 100_000;

/** Length of an id (see AuditIds): the log's members start with one, then a space. */
const ID_LENGTH = 26;

/** The oldest events trimmed by one record at most (more than one only after the bound was lowered). */
const TRIM_BATCH = 500;
/**
 * Cluster layout: log members a record returns beyond the ones it trims, as the ones likely to be
 * trimmed next, so that the next record declares their indexes. Every record of every instance
 * trims about one event, so this many other records can land between two of this instance's
 * before its guess runs out: a retry carries the same look-ahead and catches up at once.
 */
const HINT_SIZE = 192;
/** Cluster layout: attempts of one record while other instances keep trimming events it did not expect. */
const RECORD_ATTEMPTS = 5;

/**
 * One Redis: adds the event to the hash, the log and its indexes, then drops the oldest events
 * beyond the bound from all of them, in one step, naming the indexes of the trimmed events from
 * their prefixes (which only one Redis allows). This is the script of the time before clusters.
 */
const SINGLE_RECORD = new LuaScript(`
-- KEYS: log, events hash, type index, [user index]. ARGV: id, log member, event JSON, bound, user index prefix, type index prefix.
redis.call('ZADD', KEYS[1], 0, ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
if KEYS[4] then redis.call('ZADD', KEYS[4], 0, ARGV[1]) end
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[4])
if excess > 0 then
  for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, excess - 1)) do
    local id = string.sub(member, 1, ${ID_LENGTH})
    local rest = string.sub(member, ${ID_LENGTH + 2})
    local space = string.find(rest, ' ', 1, true)
    if space then
      redis.call('ZREM', ARGV[6] .. string.sub(rest, 1, space - 1), id)
      redis.call('ZREM', ARGV[5] .. string.sub(rest, space + 1), id)
    else
      redis.call('ZREM', ARGV[6] .. rest, id)
    end
    redis.call('HDEL', KEYS[2], id)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, excess - 1)
end
return 1
`);

/**
 * Cluster layout: adds the event to the hash, the log and its indexes, then drops the oldest events beyond the
 * bound from all of them, in one step: no reader ever sees more than the bound, nor an index entry
 * whose event is gone for good. The log's member names the type and user of each event, so the
 * trimming knows which index entries to remove without decoding any JSON.
 *
 * Every key it touches is declared (on a cluster they share the {audit} slot): the caller
 * declares the indexes of the events it expects to be trimmed, each with a label ("t:<type>" or
 * "u:<user id>"). When an event to trim has an index the caller did not declare, the script undoes
 * its one write and returns {'retry', members to trim and the HINT_SIZE after them}, and the
 * caller tries again with those; a record that succeeds near the bound returns {'ok', the members
 * to be trimmed next}. The caller's last attempt is lenient: it records the event anyway and trims
 * only the oldest events it can (up to the first undeclared one), so that a log busier than any
 * look-ahead stays a few events over its bound for a moment rather than lose an event; later
 * records trim the rest (up to TRIM_BATCH each).
 */
const RECORD = new LuaScript(`
-- KEYS: log, events hash, then index keys. ARGV: id, log member, event JSON, bound, how many of
-- the index keys take the new event (its type's, then its user's), 'strict' or 'lenient', then
-- one label per index key.
local log, events = KEYS[1], KEYS[2]
local lenient = ARGV[6] == 'lenient'
local index_of = {}
for i = 7, #ARGV do index_of[ARGV[i]] = KEYS[i - 4] end
redis.call('ZADD', log, 0, ARGV[2])
local excess = math.min(redis.call('ZCARD', log) - tonumber(ARGV[4]), ${TRIM_BATCH})
local doomed = {}
if excess > 0 then doomed = redis.call('ZRANGE', log, 0, excess - 1) end
local trims = {}
for _, member in ipairs(doomed) do
  local id = string.sub(member, 1, ${ID_LENGTH})
  local rest = string.sub(member, ${ID_LENGTH + 2})
  local space = string.find(rest, ' ', 1, true)
  local by_type = index_of['t:' .. (space and string.sub(rest, 1, space - 1) or rest)]
  local by_user = true
  if space then by_user = index_of['u:' .. string.sub(rest, space + 1)] end
  if (not by_type or not by_user) and lenient then
    -- Trimmed in order only: the oldest ones it can, the rest by later records.
    excess = #trims
    break
  end
  if not by_type or not by_user then
    redis.call('ZREM', log, ARGV[2])
    return {'retry', unpack(redis.call('ZRANGE', log, 0, excess + ${HINT_SIZE} - 1))}
  end
  table.insert(trims, {id, by_type, space and by_user or nil})
end
redis.call('HSET', events, ARGV[1], ARGV[3])
for i = 1, tonumber(ARGV[5]) do redis.call('ZADD', KEYS[2 + i], 0, ARGV[1]) end
for _, trim in ipairs(trims) do
  redis.call('ZREM', trim[2], trim[1])
  if trim[3] then redis.call('ZREM', trim[3], trim[1]) end
  redis.call('HDEL', events, trim[1])
end
if excess > 0 then redis.call('ZREMRANGEBYRANK', log, 0, excess - 1) end
local next_ones = {}
if redis.call('ZCARD', log) + ${HINT_SIZE} > tonumber(ARGV[4]) then next_ones = redis.call('ZRANGE', log, 0, ${HINT_SIZE - 1}) end
return {'ok', unpack(next_ones)}
`);

/** Ids read per round trip while a page filtered by user and type looks for matches. */
const SCAN_BATCH = 200;

/**
 * Keeps the newest `maxEvents` events. A page reads the smallest index that answers its query
 * (the user's, else the type's, else the whole log) downwards from its cursor by id (ZREVRANGEBYLEX:
 * every score is 0), then the events themselves; an event trimmed between the two reads is
 * skipped, as if read a moment later. No sweep: the bound, not an age, limits what it holds.
 */
export class RedisAuditStore implements AuditStore {
  private readonly ids = new AuditIds();
  /** Cluster layout: the log members the last record said would be trimmed next (see RECORD). */
  private expected: string[] = [];
  /** Events this instance could not record (logged at error level each time). */
  droppedEvents = 0;

  constructor(
    private readonly client: RedisClient,
    private readonly keys: RedisKeys,
    private readonly clock: Clock,
    private readonly maxEvents = REDIS_AUDIT_MAX_EVENTS,
    private readonly logger?: Logger,
  ) {
    if (!Number.isInteger(maxEvents) || maxEvents < 1) throw new RangeError(`audit bound ${maxEvents} is not a positive whole number`);
  }

  async record(event: NewAuditEvent, at = this.clock.now()): Promise<AuditEventRecord> {
    const { keys } = this;
    const stored = auditRecord(this.ids.next(at), at, event);
    const member = stored.userId === null ? `${stored.id} ${stored.type}` : `${stored.id} ${stored.type} ${stored.userId}`;
    if (keys.layout !== 'cluster') {
      const indexes = [keys.auditByType(stored.type), ...(stored.userId === null ? [] : [keys.auditByUser(stored.userId)])];
      await guarded(
        SINGLE_RECORD.run(
          this.client,
          [keys.auditLog, keys.auditEvents, ...indexes],
          [stored.id, member, JSON.stringify(stored), this.maxEvents, keys.auditByUser(''), keys.auditByType('')],
        ),
      );
      return stored;
    }
    const own = [`t:${stored.type}`, ...(stored.userId === null ? [] : [`u:${stored.userId}`])];
    for (let attempt = 0; attempt < RECORD_ATTEMPTS; attempt += 1) {
      const labels = [...new Set([...own, ...this.expected.flatMap(labelsOf)])];
      const mode = attempt === RECORD_ATTEMPTS - 1 ? 'lenient' : 'strict';
      const reply = (await guarded(
        RECORD.run(
          this.client,
          [keys.auditLog, keys.auditEvents, ...labels.map((label) => this.indexKey(label))],
          [stored.id, member, JSON.stringify(stored), this.maxEvents, own.length, mode, ...labels],
        ),
      )) as string[];
      this.expected = reply.slice(1);
      if (reply[0] === 'ok') return stored;
    }
    // The last attempt is lenient and cannot answer 'retry': only a Redis that answers something
    // else gets here. Not silent: the event is gone, so an operator must hear of it. Only its type
    // and id are logged (never its details, address or user agent); the count is for metrics and tests.
    this.droppedEvents += 1;
    this.logger?.error(
      { auditEventType: stored.type, auditEventId: stored.id, droppedEvents: this.droppedEvents },
      `audit event not recorded after ${RECORD_ATTEMPTS} attempts`,
    );
    throw unavailable(new Error(`audit: could not record an event over ${RECORD_ATTEMPTS} attempts`));
  }

  /** The index key of a label: "t:<type>" or "u:<user id>". */
  private indexKey(label: string): string {
    const value = label.slice(2);
    return label.startsWith('u:') ? this.keys.auditByUser(value) : this.keys.auditByType(value);
  }

  async list(query: AuditQuery): Promise<AuditPage> {
    const { before, from, empty } = auditIdRange(query);
    const events: AuditEventRecord[] = [];
    if (empty) return { events, nextCursor: null };
    const { client, keys } = this;
    const source =
      query.userId !== undefined ? keys.auditByUser(query.userId) : query.type !== undefined ? keys.auditByType(query.type) : keys.auditLog;
    // Only a page filtered by both reads entries that may not match (the user's of other types).
    const batch = query.userId !== undefined && query.type !== undefined ? Math.max(query.limit + 1, SCAN_BATCH) : query.limit + 1;
    const min = from === null ? '-' : `[${from}`;
    let max = before === null ? '+' : `(${before}`;
    for (;;) {
      const members = await guarded(client.zrevrangebylex(source, max, min, 'LIMIT', 0, batch));
      if (members.length === 0) return { events, nextCursor: null };
      const ids = members.map((member) => member.slice(0, ID_LENGTH));
      const texts = await guarded(client.hmget(keys.auditEvents, ...ids));
      for (let i = 0; i < ids.length; i += 1) {
        // Exclusive: a log member ("<id> <type> ...") sorts above its id, so "(<id>" leaves it out too.
        max = `(${ids[i]!}`;
        const text = texts[i];
        if (text === null || text === undefined) continue;
        const event = fromJson(text);
        if (!auditMatches(event, query)) continue;
        // One match more than the page holds tells whether a next page exists at all.
        if (events.length === query.limit) return { events, nextCursor: events[events.length - 1]!.id };
        events.push(event);
      }
      if (members.length < batch) return { events, nextCursor: null };
    }
  }
}

/** The index labels of a log member "<id> <type>" or "<id> <type> <user id>". */
function labelsOf(member: string): string[] {
  const [, type, userId] = member.split(' ');
  return [...(type ? [`t:${type}`] : []), ...(userId ? [`u:${userId}`] : [])];
}

/** Only the record's own fields, whatever else the JSON holds. */
function fromJson(text: string): AuditEventRecord {
  const { id, at, type, userId, actorId, ip, userAgent, details } = JSON.parse(text) as AuditEventRecord;
  return { id, at, type, userId, actorId, ip, userAgent, details };
}
