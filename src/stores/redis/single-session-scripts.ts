// The session scripts for one Redis (not a cluster): each derives its keys from prefixes, so one call does what the cluster layout needs several steps for.
import { LuaScript } from './connection';
import { LOAD_SESSION, ROTATE } from './session-lua';

/*
 * These are the scripts this server ran before it supported Redis Cluster, kept for the single
 * layout so that one Redis pays what it always paid: a refresh or a logout is one EVALSHA, and an
 * ended session is remembered in the revoked set in the very step that ends it. They name keys
 * built from prefixes inside Lua, which only one Redis allows; the cluster layout uses
 * session-scripts.ts instead.
 *
 * Every script starts with the same arguments, read here:
 * ARGV[1] session key prefix, ARGV[2] user-sessions key prefix, ARGV[3] revoked set (also the
 * channel), ARGV[4] now (ms, the app's clock), ARGV[5] access token lifetime (ms), ARGV[6] the
 * expiry margin (ms). A script's own arguments start at ARGV[7].
 */
const PRELUDE = `
local session_prefix, index_prefix, revoked = ARGV[1], ARGV[2], ARGV[3]
local now, access_ttl, margin = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
${LOAD_SESSION}
-- Ends a live session: drops it, remembers its id as revoked until its last access token has
-- surely expired, and tells every instance, all in this one step. Returns that time.
local function end_session(sid, s)
  redis.call('DEL', session_prefix .. sid)
  redis.call('ZREM', index_prefix .. s.userId, sid)
  local until_ms = math.min(now + access_ttl, tonumber(s.expiresAt)) + margin
  redis.call('ZREMRANGEBYSCORE', revoked, '-inf', ARGV[4])
  redis.call('ZADD', revoked, until_ms, sid)
  if redis.call('PTTL', revoked) < until_ms - now then redis.call('PEXPIRE', revoked, until_ms - now) end
  redis.call('PUBLISH', revoked, string.format('%d %s', until_ms, sid))
  return until_ms
end
`;

/** ARGV[7] session id, ARGV[8] expiresAt, ARGV[9] user id, ARGV[10..] the record's field/value pairs. */
export const SINGLE_CREATE_SESSION = new LuaScript(`${PRELUDE}
local sid, expires_at = ARGV[7], tonumber(ARGV[8])
local key, index = session_prefix .. sid, index_prefix .. ARGV[9]
local ttl = expires_at - now + margin
redis.call('HSET', key, unpack(ARGV, 10))
redis.call('PEXPIRE', key, ttl)
redis.call('ZREMRANGEBYSCORE', index, '-inf', ARGV[4])
redis.call('ZADD', index, expires_at, sid)
if redis.call('PTTL', index) < ttl then redis.call('PEXPIRE', index, ttl) end
return 1
`);

/**
 * Consume-and-rotate (see session-lua.ts). ARGV[7] session id, ARGV[8] presented jti, ARGV[9]
 * next jti, ARGV[10] next iat, ARGV[11] grace window (ms), ARGV[12] the refresh limit, ARGV[13]
 * its window (ms), ARGV[14] idle timeout (ms, 0 for none).
 */
export const SINGLE_ROTATE_SESSION = new LuaScript(`${PRELUDE}${ROTATE}
local sid = ARGV[7]
local key = session_prefix .. sid
local s = load_session(key)
if not s then return {'no_session'} end
return rotate(s, key, 8, ARGV[4], function() return end_session(sid, s) end)
`);

/** ARGV[7] session id. Returns the time until which it stays revoked, or 0 when it was not live. */
export const SINGLE_END_SESSION = new LuaScript(`${PRELUDE}
local s = load_session(session_prefix .. ARGV[7])
if not s then return 0 end
return end_session(ARGV[7], s)
`);

/**
 * ARGV[7] user id, ARGV[8] the session id to keep ('' for none). Returns {id, until, id, until, ...}
 * for each session it ended; expired leftovers are dropped without counting.
 */
export const SINGLE_END_USER_SESSIONS = new LuaScript(`${PRELUDE}
local index = index_prefix .. ARGV[7]
local ended = {}
for _, sid in ipairs(redis.call('ZRANGE', index, 0, -1)) do
  if sid ~= ARGV[8] then
    local s = load_session(session_prefix .. sid)
    if s then
      table.insert(ended, sid)
      table.insert(ended, end_session(sid, s))
    else
      redis.call('DEL', session_prefix .. sid)
      redis.call('ZREM', index, sid)
    end
  end
end
return ended
`);

/** ARGV[7] user id. Returns the field/value list of each live session of the user. */
export const SINGLE_LIST_USER_SESSIONS = new LuaScript(`${PRELUDE}
local out = {}
for _, sid in ipairs(redis.call('ZRANGEBYSCORE', index_prefix .. ARGV[7], '(' .. ARGV[4], '+inf')) do
  local flat = redis.call('HGETALL', session_prefix .. sid)
  if #flat > 0 then table.insert(out, flat) end
end
return out
`);
