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

  /**
   * Registers a user; the email must already be normalised and the password checked. `clientIp`,
   * the address asking, takes its turn in the hashing queue ('' for none: provisioning, tests).
   */
  async register(email: string, password: string, role: Role = 'user', clientIp = ''): Promise<UserRecord> {
    const user: UserRecord = {
      id: randomId(),
      email,
      role,
      passwordHash: await this.hasher.hash(password, clientIp),
      createdAt: this.clock.now(),
      emailVerified: false,
      disabled: false,
      lastLoginAt: null,
    };
    if ((await this.users.create(user)) === 'email_taken') throw new AppError('email_taken');
    return user;
  }

  /**
   * Adds a user whose password hash was made elsewhere (USERS_FILE). The operator vouches for the
   * address, so it counts as verified: REQUIRE_EMAIL_VERIFICATION never locks out a provisioned admin.
   */
  async provision(entry: { email: string; passwordHash: string; role: Role }): Promise<'created' | 'email_taken'> {
    const { email, passwordHash, role } = entry;
    return this.users.create({
      id: randomId(),
      email,
      passwordHash,
      role,
      createdAt: this.clock.now(),
      emailVerified: true,
      disabled: false,
      lastLoginAt: null,
    });
  }

  findByEmail(email: string): Promise<UserRecord | null> {
    return this.users.findByEmail(email);
  }

  findById(id: string): Promise<UserRecord | null> {
    return this.users.findById(id);
  }
}
