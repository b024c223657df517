// npm run hash-password: reads a password (prompt or stdin) and prints its bcrypt hash for USERS_FILE, by the server's own password rules.
import bcrypt from 'bcrypt';
import dotenv from 'dotenv';
import { bcryptInput, passwordProblem } from '../auth/passwords';
import { loadConfig } from '../config';
import { readPassword } from './read-password';

async function main(): Promise<void> {
  let cost: number;
  try {
    // The server's BCRYPT_COST (environment, then .env) by the server's own rules.
    dotenv.config({ quiet: true });
    cost = loadConfig({ BCRYPT_COST: process.env.BCRYPT_COST }).config.bcryptCost;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  const password = await readPassword();
  // The rules of registration (length, NUL, the common-password list), and its pre-hash beyond
  // bcrypt's 72 bytes: the hash logs in exactly as a registered user's would.
  const problem = passwordProblem(password);
  if (problem) {
    process.stderr.write(`The password ${problem.message}.\n`);
    process.exit(2);
  }
  process.stdout.write(`${await bcrypt.hash(bcryptInput(password), cost)}\n`);
}

void main();
