// Accounts: registration, look-ups and provisioning of users.
import type { Role } from '../config';
import { AppError } from '../errors';
import type { Clock } from '../lib/clock';
import { randomId } from '../lib/random-id';
import type { UserRecord, UserStore } from '../stores/types';
import type { PasswordHasher } from './passwords';

export class AccountService {
  constructor(
    private readonly users: UserStore,
    private readonly hasher: PasswordHasher,
    private readonly clock: Clock,
  ) {}

  /** Registers a user; the email must already be normalised and the password checked. */
  async register(email: string, password: string, role: Role = 'user'): Promise<UserRecord> {
    const user: UserRecord = {
      id: randomId(),
      email,
      role,
      passwordHash: await this.hasher.hash(password),
      createdAt: this.clock.now(),
    };
    if ((await this.users.create(user)) === 'email_taken') throw new AppError('email_taken');
    return user;
  }

  /** Adds a user whose password hash was made elsewhere (USERS_FILE). */
  async provision(entry: { email: string; passwordHash: string; role: Role }): Promise<'created' | 'email_taken'> {
    return this.users.create({ id: randomId(), ...entry, createdAt: this.clock.now() });
  }

  findById(id: string): Promise<UserRecord | null> {
    return this.users.findById(id);
  }

  list(): Promise<UserRecord[]> {
    return this.users.list();
  }
}
