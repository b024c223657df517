// npm run hash-password: reads a password (prompt or stdin) and prints its bcrypt hash for USERS_FILE, by the server's own password rules.
import bcrypt from 'bcrypt';
import dotenv from 'dotenv';
import { bcryptInput, passwordProblem } from '../auth/passwords';
import { loadConfig } from '../config';

/** Reads one password without echoing it on a terminal; from a pipe, reads all of stdin. */
async function readPassword(): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  process.stderr.write('Password: ');
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  return new Promise((resolve) => {
    let password = '';
    const onData = (key: string) => {
      for (const char of key) {
        if (char === '\r' || char === '\n' || char === '\u0004') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          resolve(password);
          return;
        }
        if (char === '\u0003') process.exit(130);
        // Backspace takes off one character, an emoji's two UTF-16 units together.
        password = char === '\u007f' ? Array.from(password).slice(0, -1).join('') : password + char;
      }
    };
    stdin.on('data', onData);
  });
}

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
