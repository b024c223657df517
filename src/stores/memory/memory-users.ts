// In-memory user store: the default for a single process.
import type { UserRecord, UserStore } from '../types';

export class MemoryUserStore implements UserStore {
  private readonly byId = new Map<string, UserRecord>();
  private readonly idByEmail = new Map<string, string>();

  async create(user: UserRecord): Promise<'created' | 'email_taken'> {
    // Check and insert run in one synchronous step, so concurrent creates cannot both win.
    if (this.idByEmail.has(user.email)) return 'email_taken';
    this.byId.set(user.id, { ...user });
    this.idByEmail.set(user.email, user.id);
    return 'created';
  }

  async findByEmail(email: string): Promise<UserRecord | null> {
    const id = this.idByEmail.get(email);
    return id === undefined ? null : this.copy(id);
  }

  async findById(id: string): Promise<UserRecord | null> {
    return this.copy(id);
  }

  async list(): Promise<UserRecord[]> {
    return [...this.byId.values()].map((user) => ({ ...user }));
  }

  private copy(id: string): UserRecord | null {
    const user = this.byId.get(id);
    return user ? { ...user } : null;
  }
}
