// The Lua scripts of the Redis session store: each read-decide-write on sessions is one atomic step in Redis, on keys it is given.
import { LuaScript } from './connection';
import { LOAD_SESSION, ROTATE } from './session-lua';

/**
 * Every session script is given its keys (a user's session hashes and that user's index, one slot
 * on a cluster) and starts with the same arguments, read here: ARGV[1] the revocation channel,
 * ARGV[2] now (ms, the app's clock), ARGV[3] access token lifetime (ms), ARGV[4] the expiry margin
 * (ms). A script's own arguments start at ARGV[5].
 */
const PRELUDE = `
local channel = ARGV[1]
local now, access_ttl, margin = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
${LOAD_SESSION}
-- Ends a live session: drops it from its hash and its user's index, and tells every instance, in
-- this one step (PUBLISH names no key, so a cluster allows it here; it reaches every node).
-- Returns the time until which its id stays revoked: when its last access token has surely expired.
local function end_session(key, index, sid, s)
  redis.call('DEL', key)
  redis.call('ZREM', index, sid)
  local until_ms = math.min(now + access_ttl, tonumber(s.expiresAt)) + margin
  redis.call('PUBLISH', channel, string.format('%d %s', until_ms, sid))
  return until_ms
end
`;

/** KEYS: session, user index. ARGV[5] session id, ARGV[6] expiresAt, ARGV[7..] the record's field/value pairs. */
export const CREATE_SESSION = new LuaScript(`${PRELUDE}
local sid, expires_at = ARGV[5], tonumber(ARGV[6])
local ttl = expires_at - now + margin
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
redis.call('ZADD', KEYS[2], expires_at, sid)
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
`);

/**
 * Consume-and-rotate (see session-lua.ts). KEYS: session, user index. ARGV[5] session id,
 * ARGV[6] presented jti, ARGV[7] next jti, ARGV[8] next iat, ARGV[9] grace window (ms), ARGV[10]
 * the refresh limit, ARGV[11] its window (ms), ARGV[12] idle timeout (ms, 0 for none).
 */
export const ROTATE_SESSION = new LuaScript(`${PRELUDE}${ROTATE}
local key, index, sid = KEYS[1], KEYS[2], ARGV[5]
local s = load_session(key)
if not s then return {'no_session'} end
return rotate(s, key, 6, ARGV[2], function() return end_session(key, index, sid, s) end)
`);

/** KEYS: session, user index. ARGV[5] session id. Returns the time until which it stays revoked, or 0 when it was not live. */
export const END_SESSION = new LuaScript(`${PRELUDE}
local s = load_session(KEYS[1])
if not s then return 0 end
return end_session(KEYS[1], KEYS[2], ARGV[5], s)
`);

/**
 * KEYS: the user's index, then the hash of each session the caller read from it; ARGV[5] the
 * session id to keep ('' for none), ARGV[6..] the ids of those sessions, in the order of their
 * keys. A session in the index that the caller did not declare (created since it read the index)
 * cannot be touched: the script then changes nothing and returns {'retry'}, and the caller reads
 * the index again. Otherwise returns {'ended', id, until, id, until, ...} for each session it
 * ended; expired leftovers are dropped without counting.
 */
export const END_USER_SESSIONS = new LuaScript(`${PRELUDE}
local index, keep = KEYS[1], ARGV[5]
local declared = {}
for i = 6, #ARGV do declared[ARGV[i]] = KEYS[i - 4] end
local members = redis.call('ZRANGE', index, 0, -1)
for _, sid in ipairs(members) do
  if sid ~= keep and not declared[sid] then return {'retry'} end
end
local ended = {'ended'}
for _, sid in ipairs(members) do
  if sid ~= keep then
    local key = declared[sid]
    local s = load_session(key)
    if s then
      table.insert(ended, sid)
      table.insert(ended, end_session(key, index, sid, s))
    else
      redis.call('DEL', key)
      redis.call('ZREM', index, sid)
    end
  end
end
return ended
`);

/**
 * KEYS: the revoked set. ARGV[1] now, then pairs of (revoked until, session id). Remembers ended
 * sessions for the instances that read the set when they (re)subscribe; drops the entries whose
 * tokens have all expired, and keeps the set as long as its longest entry.
 */
export const REMEMBER_REVOKED = new LuaScript(`
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local longest = 0
for i = 2, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], ARGV[i], ARGV[i + 1])
  longest = math.max(longest, tonumber(ARGV[i]) - now)
end
if longest > 0 and redis.call('PTTL', KEYS[1]) < longest then redis.call('PEXPIRE', KEYS[1], longest) end
return 1
`);
