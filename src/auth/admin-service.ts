// What admins do to accounts: find, create (with a password or an invitation mail), change role and state, end sessions, remove factors, delete; never leaving no active admin.
import { randomBytes } from 'node:crypto';
import type { Role } from '../config';
import { AppError } from '../errors';
import type { Clock } from '../lib/clock';
import type { Logger } from '../lib/logger';
import { randomId } from '../lib/random-id';
import type { RateLimitCounter, SessionRecord, SessionStore, UserPage, UserRecord, UserStore } from '../stores/types';
import type { AccountDeletionService } from './account-deletion';
import type { AccountMail } from './account-mail';
import type { MfaService } from './mfa-service';
import type { PasswordHasher } from './passwords';
import type { SessionService } from './session-service';

export interface AdminServiceDeps {
  users: UserStore;
  /** The shared counters, used as a lease lock so that instances change roles one at a time. */
  counters: RateLimitCounter;
  sessionStore: SessionStore;
  sessions: SessionService;
  deletion: AccountDeletionService;
  mfa: MfaService;
  mail: AccountMail;
  hasher: PasswordHasher;
  clock: Clock;
  logger: Logger;
}

export interface NewUser {
  email: string;
  /** Absent: the user gets a reset mail as an invitation and sets their own. */
  password?: string;
  role: Role;
  emailVerified: boolean;
}

export interface UserChangesByAdmin {
  role?: Role;
  disabled?: boolean;
  emailVerified?: boolean;
}

/** Users read per page while counting admins. */
const ADMIN_SCAN_PAGE = 1000;
/** The lock every instance takes for a role or state change, and how long one may hold it if it dies holding it. */
const ROLE_LOCK_KEY = 'admin-role-change';
const ROLE_LOCK_LEASE_MS = 10_000;
/** How often and how long a change waits for the lock before answering 503. */
const ROLE_LOCK_RETRY_MS = 50;
const ROLE_LOCK_TRIES = 100;

export class AdminService {
  /**
   * Role and state changes, one at a time: the last-admin check and the change it guards are then
   * one step. On this instance they queue here; across instances they take a lock in the shared
   * counters (see withRoleLock), since the stores have no conditional count of admins.
   */
  private roleChanges: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: AdminServiceDeps) {}

  /** A page of users, oldest first, optionally those whose email contains `email`. */
  list(query: { limit: number; cursor: string | null; email?: string }): Promise<UserPage> {
    return this.deps.users.listPage({ limit: query.limit, cursor: query.cursor, ...(query.email ? { emailContains: query.email.toLowerCase() } : {}) });
  }

  async get(userId: string): Promise<{ user: UserRecord; sessions: SessionRecord[] }> {
    const user = await this.found(userId);
    return { user, sessions: await this.deps.sessions.list(user.id) };
  }

  /**
   * Creates an account. Without a password it gets a random one nobody knows and a reset mail as
   * its invitation, so mail must be on (501 not_configured otherwise).
   */
  async create(input: NewUser, clientIp: string): Promise<UserRecord> {
    const { users, hasher, mail, clock, logger } = this.deps;
    if (input.password === undefined && !mail.enabled) {
      throw new AppError('not_configured', { description: 'Mail is not configured (SMTP_URL): give the user a password.' });
    }
    const password = input.password ?? randomBytes(32).toString('base64url');
    const user: UserRecord = {
      id: randomId(),
      email: input.email,
      role: input.role,
      passwordHash: await hasher.hash(password, clientIp),
      createdAt: clock.now(),
      emailVerified: input.emailVerified,
      disabled: false,
      lastLoginAt: null,
    };
    if ((await users.create(user)) === 'email_taken') throw new AppError('email_taken');
    logger.info({ userId: user.id, role: user.role }, 'user created by an admin');
    if (input.password === undefined) await mail.sendReset(user);
    return user;
  }

  /** Changes role, state or verification; disabling or demoting an admin ends every session at once. Returns the user before and after. */
  async update(userId: string, changes: UserChangesByAdmin): Promise<{ before: UserRecord; user: UserRecord }> {
    return this.oneAtATime(async () => {
      const user = await this.found(userId);
      const losesAdmin = user.role === 'admin' && !user.disabled && (changes.role === 'user' || changes.disabled === true);
      if (losesAdmin) await this.refuseLastAdmin(user.id);
      const updated = await this.deps.users.update(user.id, changes);
      if (!updated) throw notFound();
      // A disabled user is out at once; so is a demoted admin, whose access tokens still say admin.
      const demoted = user.role === 'admin' && updated.role !== 'admin';
      if ((changes.disabled === true && !user.disabled) || demoted) {
        const ended = await this.deps.sessionStore.endAllForUser(user.id);
        this.deps.logger.info({ userId: user.id, sessionsEnded: ended }, demoted ? 'admin demoted' : 'user disabled');
      }
      return { before: user, user: updated };
    });
  }

  async remove(userId: string): Promise<void> {
    await this.oneAtATime(async () => {
      const user = await this.found(userId);
      if (user.role === 'admin' && !user.disabled) await this.refuseLastAdmin(user.id);
      await this.deps.deletion.remove(user.id);
    });
  }

  async endSessions(userId: string): Promise<void> {
    const user = await this.found(userId);
    await this.deps.sessionStore.endAllForUser(user.id);
  }

  async removeFactors(userId: string): Promise<void> {
    const user = await this.found(userId);
    await this.deps.mfa.removeAll(user.id);
  }

  private async found(userId: string): Promise<UserRecord> {
    const user = await this.deps.users.findById(userId);
    if (!user) throw notFound();
    return user;
  }

  /** 409 last_admin unless an active admin other than `userId` exists. */
  private async refuseLastAdmin(userId: string): Promise<void> {
    let cursor: string | null = null;
    do {
      const page: UserPage = await this.deps.users.listPage({ limit: ADMIN_SCAN_PAGE, cursor });
      if (page.users.some((user) => user.role === 'admin' && !user.disabled && user.id !== userId)) return;
      cursor = page.nextCursor;
    } while (cursor !== null);
    throw new AppError('last_admin');
  }

  private oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    const result = this.roleChanges.then(() => this.withRoleLock(work));
    this.roleChanges = result.catch(() => undefined);
    return result;
  }

  /**
   * Runs `work` holding the lock every instance takes for role and state changes: the first hit on
   * the counter in its window holds it (increments are atomic in every store), the release clears
   * it, and a holder that died lets go when the window ends. Hand-written because no store here
   * offers a lock, and these changes are rare.
   */
  private async withRoleLock<T>(work: () => Promise<T>): Promise<T> {
    const { counters } = this.deps;
    for (let tries = 1; (await counters.increment(ROLE_LOCK_KEY, ROLE_LOCK_LEASE_MS)).totalHits !== 1; tries += 1) {
      if (tries >= ROLE_LOCK_TRIES) throw new AppError('unavailable', { description: 'Another role change is in progress; try again.' });
      await new Promise((resolve) => setTimeout(resolve, ROLE_LOCK_RETRY_MS));
    }
    try {
      return await work();
    } finally {
      await counters.resetKey(ROLE_LOCK_KEY);
    }
  }
}

function notFound(): AppError {
  return new AppError('not_found', { description: 'No such user.' });
}
