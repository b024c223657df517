// The ids of recently ended sessions an instance remembers, each until its last access token has surely expired.

/** A few hundred bytes an entry; pruned as entries pass their time, so bounded by the ends of one access-token lifetime. */
export class EndedSessions {
  /** Session id → when its last access token has surely expired (ms). */
  private readonly until = new Map<string, number>();

  /**
   * Records an end; of two times for one session the later one counts. An end already past its
   * time by `now` is not recorded: a message that arrives late (pub/sub across a cluster's nodes)
   * would otherwise bring back an entry the last prune removed, and nothing would prune it soon.
   */
  add(sessionId: string, revokedUntil: number, now: number): void {
    if (revokedUntil <= now) return;
    const known = this.until.get(sessionId);
    if (known === undefined || known < revokedUntil) this.until.set(sessionId, revokedUntil);
  }

  has(sessionId: string): boolean {
    return this.until.has(sessionId);
  }

  /** Forgets sessions whose access tokens have all expired by `now`. */
  prune(now: number): void {
    for (const [sessionId, until] of this.until) if (until <= now) this.until.delete(sessionId);
  }

  get size(): number {
    return this.until.size;
  }
}
