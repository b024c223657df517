// The user records an instance has read, kept so that GET /profile costs no round trip; trusted only while a feed of changes is current.
import type { UserRecord } from './types';

/** How many user records an instance keeps by default: a few MB at most. */
export const USER_COPY_SIZE = 10_000;

/** What the copy needs of the subscription that tells this instance of changed users. */
export interface UserChangeFeed {
  /** True while every change made on any instance reaches this one. */
  readonly isCurrent: boolean;
}

/**
 * Shared by the Redis and SQL user stores. The store drops a user on every change it makes or
 * hears of, and drops everything when its feed is lost (changes may have gone unheard). A record
 * is served only while the feed is current, and a read is kept only if the feed stayed current
 * and no drop happened while it was in flight: its answer may predate that change. Only found
 * records are kept, so a user registered elsewhere is found at once. Callers get copies.
 */
export class UserCopy {
  /** In the order read: when full, the record copied longest ago makes room. */
  private readonly records = new Map<string, UserRecord>();
  /** Bumped by every drop: a read that saw it move may hold an answer older than the change. */
  private drops = 0;

  /** `feed` null: nothing tells this instance of changes, so nothing is kept. */
  constructor(
    private readonly feed: UserChangeFeed | null,
    private readonly size = USER_COPY_SIZE,
  ) {}

  /** The user from the copy when it can be trusted, else as `load` reads it (kept when safe). */
  async read(id: string, load: () => Promise<UserRecord | null>): Promise<UserRecord | null> {
    const trusted = this.feed?.isCurrent === true;
    const known = trusted ? this.records.get(id) : undefined;
    if (known) return { ...known };
    const dropsBefore = this.drops;
    const user = await load();
    if (!user) return null;
    if (trusted && this.feed?.isCurrent && dropsBefore === this.drops) this.remember(user);
    return { ...user };
  }

  drop(id: string): void {
    this.drops += 1;
    this.records.delete(id);
  }

  dropAll(): void {
    this.drops += 1;
    this.records.clear();
  }

  has(id: string): boolean {
    return this.records.has(id);
  }

  private remember(user: UserRecord): void {
    // Two concurrent misses for one user both land here: the second must not evict anyone.
    if (!this.records.has(user.id) && this.records.size >= this.size) this.records.delete(this.records.keys().next().value!);
    this.records.set(user.id, { ...user });
  }
}
