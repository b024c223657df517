// The ids of sessions an instance has seen live in the store: a token of one skips the round trip, an unknown id never does.

/** Enough for the sessions one instance serves at once; beyond it the oldest are asked for again. */
const CAPACITY = 50_000;

/**
 * Only ever trusted behind the copy of ended sessions: a session that ends after it was seen live
 * is in that copy (checked first) for as long as any of its access tokens lives. Without this set,
 * "not ended" would have to mean "live", and a token signed for a session id that never existed
 * (a key shared with another deployment, a store restored from a backup) would pass.
 */
export class LiveSessions {
  /** Insertion order is age: the first entries are dropped first. */
  private readonly ids = new Set<string>();

  add(sessionId: string): void {
    if (this.ids.has(sessionId)) return;
    if (this.ids.size >= CAPACITY) this.ids.delete(this.ids.values().next().value!);
    this.ids.add(sessionId);
  }

  has(sessionId: string): boolean {
    return this.ids.has(sessionId);
  }

  clear(): void {
    this.ids.clear();
  }
}
