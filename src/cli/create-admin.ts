// npm run create-admin -- EMAIL: creates an admin, or promotes (and enables) an existing user, in the store the environment configures.
import bcrypt from 'bcrypt';
import dotenv from 'dotenv';
import { bcryptInput, passwordProblem } from '../auth/passwords';
import { ConfigError, loadConfig, type Config } from '../config';
import { systemClock } from '../lib/clock';
import { normalizeEmail } from '../lib/email-address';
import { createLogger } from '../lib/logger';
import { randomId } from '../lib/random-id';
import { openStores } from '../stores/open-stores';
import { readPassword } from './read-password';

const USAGE = 'Usage: npm run create-admin -- EMAIL   (the password is asked for, or read from a pipe)';

/** Prints a line on stderr and gives the exit code. */
function fail(message: string, code: number): number {
  process.stderr.write(`${message}\n`);
  return code;
}

async function main(args: string[]): Promise<number> {
  dotenv.config({ quiet: true });
  if (args.length !== 1) return fail(USAGE, 2);
  const email = normalizeEmail(args[0]!);
  if (email === null) return fail(`"${args[0]}" is not a valid email address. ${USAGE}`, 2);

  let config: Config;
  try {
    config = loadConfig(process.env).config;
  } catch (error) {
    if (error instanceof ConfigError) return fail(error.message, 1);
    throw error;
  }
  // The memory store lives inside one server process: an admin made here would vanish on exit.
  if (!config.database && !config.redis) {
    return fail('Neither DATABASE_URL nor REDIS_URL is set: the memory store lives only inside a running server, so there is nowhere to create an admin. Set DATABASE_URL (or REDIS_URL) as the server has it, or use USERS_FILE.', 1);
  }

  const stores = await openStores(config, { clock: systemClock, logger: createLogger('silent') });
  try {
    const existing = await stores.users.findByEmail(email);
    if (existing) {
      await stores.users.update(existing.id, { role: 'admin', disabled: false });
      process.stdout.write(`${existing.role === 'admin' && !existing.disabled ? 'Already an admin' : 'Promoted to admin'}: ${email} (${existing.id}); the password is unchanged.\n`);
      return 0;
    }
    const password = await readPassword();
    // Registration's rules (length, NUL, the common-password list) and its pre-hash beyond 72 bytes.
    const problem = passwordProblem(password);
    if (problem) return fail(`The password ${problem.message}.`, 2);
    const id = randomId();
    const created = await stores.users.create({
      id,
      email,
      role: 'admin',
      passwordHash: await bcrypt.hash(bcryptInput(password), config.bcryptCost),
      createdAt: systemClock.now(),
      // The operator vouches for the address.
      emailVerified: true,
      disabled: false,
      lastLoginAt: null,
    });
    // Looked up a moment ago, so only a registration racing this command gets here.
    if (created === 'email_taken') return fail(`${email} was registered meanwhile; run the command again to promote it.`, 1);
    process.stdout.write(`Created admin ${email} (${id}).\n`);
    return 0;
  } finally {
    await stores.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // Messages from the stores name the variable and the host, never a URL with its password.
    process.stderr.write(`create-admin failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
