// Reads the USERS_FILE format and adds its users, so operators can ship accounts without /register.
import { z } from 'zod';
import { normalizeEmail } from '../lib/email-address';
import { BCRYPT_HASH } from './passwords';
import type { AccountService } from './accounts';

const entrySchema = z
  .object({
    // The normal form /register and /login use, so that a provisioned user logs in however the address is written.
    email: z
      .string()
      .refine((value) => normalizeEmail(value) !== null)
      .overwrite((value) => normalizeEmail(value) ?? value),
    password_hash: z.string().regex(BCRYPT_HASH),
    role: z.enum(['user', 'admin']).default('user'),
  })
  .strict();

/** Raised when the file cannot be used; the message names entries and fields, never a hash. */
export class UsersFileError extends Error {
  constructor(problems: string[]) {
    super(`USERS_FILE is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'UsersFileError';
  }
}

const FIELD_HINTS: Record<string, string> = {
  email: 'must be an email address',
  password_hash: 'must be a bcrypt hash (see npm run hash-password)',
  role: 'must be "user" or "admin"',
};

export interface ProvisionedUser {
  email: string;
  passwordHash: string;
  role: 'user' | 'admin';
}

/**
 * Parses the file's text: a JSON array of {"email", "password_hash", "role"}. Every hash must be of
 * `bcryptCost`: a login of a user with a cheaper hash would answer faster than the dummy
 * comparison made for unknown emails, and so tell which emails exist.
 */
export function parseUsersFile(text: string, bcryptCost: number): ProvisionedUser[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UsersFileError(['the file is not valid JSON']);
  }
  if (!Array.isArray(data)) throw new UsersFileError(['the file must hold a JSON array of users']);

  const problems: string[] = [];
  const users: ProvisionedUser[] = [];
  const seen = new Set<string>();
  data.forEach((entry, index) => {
    const parsed = entrySchema.safeParse(entry);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const field = issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : String(issue.path[0] ?? '');
        const hint = issue.code === 'unrecognized_keys' ? 'unknown field' : (FIELD_HINTS[field] ?? 'invalid');
        problems.push(`entry ${index}: ${field || 'entry'} ${hint}`);
      }
      return;
    }
    const cost = Number(BCRYPT_HASH.exec(parsed.data.password_hash)![1]);
    if (cost !== bcryptCost) {
      problems.push(
        `entry ${index}: password_hash has cost ${cost}, not BCRYPT_COST ${bcryptCost} (make it with npm run hash-password)`,
      );
    }
    if (seen.has(parsed.data.email)) problems.push(`entry ${index}: email appears twice`);
    seen.add(parsed.data.email);
    // $2y$ (PHP's name) is the same bcrypt as $2b$, but node's bcrypt answers `false` for it at
    // once: that user could never log in, and the instant answer would tell that the email exists.
    const passwordHash = parsed.data.password_hash.replace(/^\$2y\$/, '$2b$');
    users.push({ email: parsed.data.email, passwordHash, role: parsed.data.role });
  });
  if (problems.length > 0) throw new UsersFileError(problems);
  return users;
}

/** Adds every user not yet present; returns how many were added. */
export async function provisionUsers(accounts: AccountService, users: ProvisionedUser[]): Promise<number> {
  let added = 0;
  for (const user of users) {
    if ((await accounts.provision(user)) === 'created') added += 1;
  }
  return added;
}
