// The Lua that the session scripts of one Redis and of a cluster share: reading a live session, and the refresh-token rotation rule.

/**
 * `load_session(key)`: the live session in the hash `key` as a table, or nil when it is gone or
 * past its expiresAt on the app's clock. For a script's PRELUDE, after it defines `now`.
 */
export const LOAD_SESSION = `
local function load_session(key)
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then return nil end
  local s = {}
  for i = 1, #flat, 2 do s[flat[i]] = flat[i + 1] end
  if tonumber(s.expiresAt) <= now then return nil end
  return s
end
`;

/**
 * decideRotation() of rotation.ts in Lua, as a function `rotate(s, key, first, now_text, end_it)`
 * for a script's body, after a PRELUDE that defines `now`. `s` is the live session read from the
 * hash `key`; its arguments are ARGV[first] onwards: the presented jti, the next jti, the next
 * iat, the grace window (ms), the refresh limit, its window (ms) and the idle timeout (ms, 0 for
 * none). `now_text` is now as the caller passed it (stored as given), and `end_it()` ends the
 * session the layout's way and returns the time until which it stays revoked. Returns {kind,
 * record}, {'reused' or 'idle', record, revoked until} or {'rate_limited', record, retry after (ms)}.
 */
export const ROTATE = `
local function rotate(s, key, first, now_text, end_it)
  local presented, next_jti, next_iat = ARGV[first], ARGV[first + 1], ARGV[first + 2]
  local grace, max, window, idle = tonumber(ARGV[first + 3]), tonumber(ARGV[first + 4]), tonumber(ARGV[first + 5]), tonumber(ARGV[first + 6])
  if idle > 0 and now - tonumber(s.lastUsedAt) >= idle then
    local record = redis.call('HGETALL', key)
    return {'idle', record, end_it()}
  end
  -- Two tabs refreshing at once present the same token: the loser gets the winner's successor
  -- instead of being treated as a thief, but only briefly and only for the token just rotated out;
  -- neither counted nor refused by the limit (it mints no token).
  if s.previousJti ~= '' and presented == s.previousJti and now - tonumber(s.rotatedAt) < grace then
    redis.call('HSET', key, 'lastUsedAt', now_text)
    return {'grace', redis.call('HGETALL', key)}
  end
  if presented ~= s.refreshJti then
    local record = redis.call('HGETALL', key)
    return {'reused', record, end_it()}
  end
  -- Sessions stored before the limit existed have no window yet: an old, empty one.
  local window_start, count = tonumber(s.refreshWindowStart or '0'), tonumber(s.refreshCount or '0')
  if now - window_start >= window then
    window_start, count = now, 1
  elseif count >= max then
    return {'rate_limited', redis.call('HGETALL', key), window_start + window - now}
  else
    count = count + 1
  end
  redis.call('HSET', key, 'previousJti', s.refreshJti, 'refreshJti', next_jti, 'refreshIat', next_iat, 'rotatedAt', now_text,
    'lastUsedAt', now_text, 'refreshWindowStart', window_start, 'refreshCount', count)
  return {'rotated', redis.call('HGETALL', key)}
end
`;
