// The names of every Redis key and channel the stores use, all under one configurable prefix, hash-tagged on a cluster.

/**
 * 'single': one Redis, the names this server has always used. 'cluster': the keys a script
 * touches together share a hash tag placed right after the prefix ({u:<user id>} for a user's
 * sessions and their index, {users} for the creation order, {audit} for the audit log), so that
 * each script's keys live in one slot. Every other key is only ever touched alone and keeps its
 * name in both layouts.
 */
export type KeyLayout = 'single' | 'cluster';

/** Key names under `prefix`; ids are random base64url, emails normalised, so no name can collide. */
export function redisKeys(prefix: string, layout: KeyLayout = 'single') {
  const cluster = layout === 'cluster';
  const user = (userId: string) => `${prefix}{u:${userId}}:`;
  return {
    prefix,
    layout,
    /** String: the user record as JSON. */
    user: (id: string) => `${prefix}user:${id}`,
    /** String: the id of the user with this email. */
    userByEmail: (email: string) => `${prefix}user-email:${email}`,
    /** Sorted set: user ids scored by creation order. */
    users: cluster ? `${prefix}{users}` : `${prefix}users`,
    /** Counter behind that order. */
    userSequence: cluster ? `${prefix}{users}:seq` : `${prefix}users:seq`,
    /**
     * Pub/sub channel announcing the id of each user updated or deleted, so that every instance
     * drops its copy of that record (see redis-users.ts).
     */
    userChangedChannel: `${prefix}user-changed`,
    /**
     * Hash: one session and the state of its refresh-token chain. On a cluster it sits in its
     * user's slot, so the name needs the user id (found from the session id through sessionUser).
     */
    session: (userId: string, id: string) => (cluster ? `${user(userId)}session:${id}` : `${prefix}session:${id}`),
    /** Sorted set: a user's session ids scored by when each session expires. */
    userSessions: (userId: string) => (cluster ? `${user(userId)}sessions` : `${prefix}user-sessions:${userId}`),
    /**
     * String, cluster only: the user id of a session, which names the session's slot. Written
     * before the session and never changed; it expires with the session.
     */
    sessionUser: (id: string) => `${prefix}session-user:${id}`,
    /** Sorted set: ended session ids scored by when their last access token has surely expired. */
    revoked: `${prefix}revoked`,
    /** Pub/sub channel announcing each ended session as "<until> <session id>". */
    revokedChannel: `${prefix}revoked`,
    /** Hash: one rate-limit window (hits, resetAt). */
    rateLimit: (key: string) => `${prefix}rate:${key}`,
    /**
     * Hash: one outstanding one-time token (its record), under its purpose and SHA-256 hash. Its
     * TTL is the token's remaining life plus the expiry margin: Redis drops it unswept.
     */
    oneTimeToken: (purpose: string, hash: string) => `${prefix}ott:${purpose}:${hash}`,
    /** Sorted set: the hashes of a user's tokens of one purpose, scored by when each expires. */
    userOneTimeTokens: (purpose: string, userId: string) => `${prefix}user-ott:${purpose}:${userId}`,
    /** Hash: a user's TOTP factor, pending or confirmed (recovery code hashes as a JSON array). */
    mfa: (userId: string) => `${prefix}mfa:${userId}`,
    /**
     * Sorted set, every score 0 so that it sorts by member: the audit log, one member per event,
     * "<id> <type>" or "<id> <type> <user id>" (ids are fixed-width and sort by time; the rest
     * tells the trimming step which indexes to leave).
     */
    auditLog: cluster ? `${prefix}{audit}` : `${prefix}audit`,
    /** Hash: audit event id → the event as JSON. */
    auditEvents: cluster ? `${prefix}{audit}:events` : `${prefix}audit:events`,
    /** Sorted set (scores 0): the ids of one user's audit events. */
    auditByUser: (userId: string) => (cluster ? `${prefix}{audit}:user:${userId}` : `${prefix}audit-user:${userId}`),
    /** Sorted set (scores 0): the ids of the audit events of one type. */
    auditByType: (type: string) => (cluster ? `${prefix}{audit}:type:${type}` : `${prefix}audit-type:${type}`),
    /** String: a random value set once; a new value means Redis lost its data. */
    epoch: `${prefix}epoch`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;
