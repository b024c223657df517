// Redis audit log: events as JSON in one hash, a log and per-user and per-type indexes as sorted sets by id, trimmed to a bound as each event is added.
import type { Redis } from 'ioredis';
import type { Clock } from '../../lib/clock';
import { AuditIds, auditIdRange, auditMatches, auditRecord } from '../audit-events';
import type { AuditEventRecord, AuditPage, AuditQuery, AuditStore, NewAuditEvent } from '../types';
import { guarded, LuaScript } from './connection';
import type { RedisKeys } from './keys';

/** Events kept by default: Redis is shared by every instance, so it keeps more than one process would. */
export const REDIS_AUDIT_MAX_EVENTS = 100_000;

/** Length of an id (see AuditIds): the log's members start with one, then a space. */
const ID_LENGTH = 26;

/**
 * Adds the event to the hash, the log and its indexes, then drops the oldest events beyond the
 * bound from all of them, in one step: no reader ever sees more than the bound, nor an index entry
 * whose event is gone for good. The log's member names the type and user of each event, so the
 * trimming knows which index entries to remove without decoding any JSON.
 */
const RECORD = new LuaScript(`
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

  constructor(
    private readonly client: Redis,
    private readonly keys: RedisKeys,
    private readonly clock: Clock,
    private readonly maxEvents = REDIS_AUDIT_MAX_EVENTS,
  ) {
    if (!Number.isInteger(maxEvents) || maxEvents < 1) throw new RangeError(`audit bound ${maxEvents} is not a positive whole number`);
  }

  async record(event: NewAuditEvent, at = this.clock.now()): Promise<AuditEventRecord> {
    const { keys } = this;
    const stored = auditRecord(this.ids.next(at), at, event);
    const member = stored.userId === null ? `${stored.id} ${stored.type}` : `${stored.id} ${stored.type} ${stored.userId}`;
    const indexes = [keys.auditByType(stored.type), ...(stored.userId === null ? [] : [keys.auditByUser(stored.userId)])];
    await guarded(
      RECORD.run(
        this.client,
        [keys.auditLog, keys.auditEvents, ...indexes],
        [stored.id, member, JSON.stringify(stored), this.maxEvents, keys.auditByUserPrefix, keys.auditByTypePrefix],
      ),
    );
    return stored;
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

/** Only the record's own fields, whatever else the JSON holds. */
function fromJson(text: string): AuditEventRecord {
  const { id, at, type, userId, actorId, ip, userAgent, details } = JSON.parse(text) as AuditEventRecord;
  return { id, at, type, userId, actorId, ip, userAgent, details };
}
