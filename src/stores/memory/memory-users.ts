// In-memory user store: the default for a single process.
import type { UserChanges, UserPage, UserPageQuery, UserRecord, UserStore } from '../types';
import { checkPageLimit, decodeUserCursor as decodeCursor, encodeUserCursor as encodeCursor, pickUserChanges, type UserPosition } from '../user-changes';

type Position = UserPosition;

export class MemoryUserStore implements UserStore {
  private readonly byId = new Map<string, UserRecord>();
  private readonly idByEmail = new Map<string, string>();
  /** Every user sorted by (createdAt, id): the paging order. */
  private readonly ordered: UserRecord[] = [];

  async create(user: UserRecord): Promise<'created' | 'email_taken'> {
    // Check and insert run in one synchronous step, so concurrent creates cannot both win.
    if (this.idByEmail.has(user.email)) return 'email_taken';
    const stored = { ...user };
    this.byId.set(user.id, stored);
    this.idByEmail.set(user.email, user.id);
    this.ordered.splice(this.indexAfter(stored), 0, stored);
    return 'created';
  }

  async findByEmail(email: string): Promise<UserRecord | null> {
    const id = this.idByEmail.get(email);
    return id === undefined ? null : this.copy(id);
  }

  async findById(id: string): Promise<UserRecord | null> {
    return this.copy(id);
  }

  async update(id: string, changes: UserChanges, ifPasswordHash?: string): Promise<UserRecord | null> {
    const current = this.byId.get(id);
    if (!current || (ifPasswordHash !== undefined && current.passwordHash !== ifPasswordHash)) return null;
    const updated: UserRecord = { ...current, ...pickUserChanges(changes) };
    this.byId.set(id, updated);
    // createdAt and id cannot change, so the user keeps its place in the order.
    this.ordered[this.indexOf(current)] = updated;
    return { ...updated };
  }

  async delete(id: string): Promise<boolean> {
    const user = this.byId.get(id);
    if (!user) return false;
    this.byId.delete(id);
    this.idByEmail.delete(user.email);
    this.ordered.splice(this.indexOf(user), 1);
    return true;
  }

  async listPage(query: UserPageQuery): Promise<UserPage> {
    checkPageLimit(query.limit);
    const after = query.cursor ? decodeCursor(query.cursor) : null;
    const users: UserRecord[] = [];
    for (let i = after ? this.indexAfter(after) : 0; i < this.ordered.length; i += 1) {
      const user = this.ordered[i]!;
      if (query.emailContains !== undefined && !user.email.includes(query.emailContains)) continue;
      // One match more than the page holds tells whether a next page exists at all.
      if (users.length === query.limit) return { users, nextCursor: encodeCursor(users[users.length - 1]!) };
      users.push({ ...user });
    }
    return { users, nextCursor: null };
  }

  private copy(id: string): UserRecord | null {
    const user = this.byId.get(id);
    return user ? { ...user } : null;
  }

  /** The index of the first user sorted after `position` (binary search). */
  private indexAfter(position: Position): number {
    let low = 0;
    let high = this.ordered.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compare(this.ordered[middle]!, position) <= 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private indexOf(user: UserRecord): number {
    return this.indexAfter(user) - 1;
  }
}

function compare(a: Position, b: Position): number {
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

