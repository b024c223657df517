// The names of every Redis key and channel the stores use, all under one configurable prefix.

/** Key names under `prefix`; ids are random base64url, emails normalised, so no name can collide. */
export function redisKeys(prefix: string) {
  return {
    prefix,
    /** String: the user record as JSON. */
    user: (id: string) => `${prefix}user:${id}`,
    /** String: the id of the user with this email. */
    userByEmail: (email: string) => `${prefix}user-email:${email}`,
    /** Sorted set: user ids scored by creation order. */
    users: `${prefix}users`,
    /** Counter behind that order. */
    userSequence: `${prefix}users:seq`,
    /**
     * Pub/sub channel announcing the id of each user updated or deleted, so that every instance
     * drops its copy of that record (see redis-users.ts).
     */
    userChangedChannel: `${prefix}user-changed`,
    /** Hash: one session and the state of its refresh-token chain. */
    sessionPrefix: `${prefix}session:`,
    session: (id: string) => `${prefix}session:${id}`,
    /** Sorted set: a user's session ids scored by when each session expires. */
    userSessionsPrefix: `${prefix}user-sessions:`,
    userSessions: (userId: string) => `${prefix}user-sessions:${userId}`,
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
    oneTimeTokenPrefix: (purpose: string) => `${prefix}ott:${purpose}:`,
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
    auditLog: `${prefix}audit`,
    /** Hash: audit event id → the event as JSON. */
    auditEvents: `${prefix}audit:events`,
    /** Sorted set (scores 0): the ids of one user's audit events. */
    auditByUserPrefix: `${prefix}audit-user:`,
    auditByUser: (userId: string) => `${prefix}audit-user:${userId}`,
    /** Sorted set (scores 0): the ids of the audit events of one type. */
    auditByTypePrefix: `${prefix}audit-type:`,
    auditByType: (type: string) => `${prefix}audit-type:${type}`,
    /** String: a random value set once; a new value means Redis lost its data. */
    epoch: `${prefix}epoch`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;
