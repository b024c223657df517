// npm run hash-password on a real terminal (a pseudo-terminal from util-linux `script`): it prompts, and the typed password never shows on the screen.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import bcrypt from 'bcrypt';
import { inCi } from '../helpers/ci';
import { ROOT } from '../helpers/child-process';

const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
const hasScript = spawnSync('script', ['--version']).status === 0;

/**
 * Runs `command` on a pseudo-terminal, types `keys` once `prompt` has appeared on the screen (and a
 * moment after, so that the program has switched its terminal mode), and returns the whole screen
 * (everything the terminal showed, echo included) once the program exits.
 */
function onTerminal(command: string, prompt: string, keys: string): Promise<{ screen: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', BCRYPT_COST: '10' } });
    let screen = '';
    let typed = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no exit within 20 s; the screen so far: ${JSON.stringify(screen)}`));
    }, 20_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      screen += chunk;
      if (!typed && screen.includes(prompt)) {
        typed = true;
        setTimeout(() => child.stdin.write(keys), 300);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ screen, code });
    });
  });
}

// Without util-linux `script` there is no terminal to type on: skipped with the reason in its name,
// except in CI, where nothing may skip (ci.ts).
const withTerminal = hasScript ? describe : describe.skip;
if (!hasScript && inCi()) {
  it('has util-linux script for a pseudo-terminal (CI)', () => {
    throw new Error('no `script` (util-linux) on PATH: CI must provide one to test the password prompt');
  });
}

withTerminal(`npm run hash-password at a terminal${hasScript ? '' : ' (SKIPPED: no util-linux script for a pseudo-terminal)'}`, () => {
  const password = 'Typed-Not-Shown-4711';

  it('the harness sees echo: a program that reads with echo on shows what was typed (so the check below can fail)', async () => {
    const { screen } = await onTerminal(`sh -c 'printf "Word: "; read word; printf "done\\n"'`, 'Word: ', `${password}\r`);
    expect(screen).toContain(password);
  });

  it('prompts "Password: " on the terminal, never shows the typed password, and prints a hash of it', async () => {
    const { screen, code } = await onTerminal(`${TSX} src/cli/hash-password.ts`, 'Password: ', `${password}\r`);
    expect(code).toBe(0);
    expect(screen).toMatch(/^Password: /);
    expect(screen).not.toContain(password);
    // Not even a part of it (a character echoed now and then, or a masked one per key, would show here).
    expect(screen).not.toMatch(/Typed|4711|\*{3,}/);
    const hash = /\$2b\$10\$[./A-Za-z0-9]{53}/.exec(screen)?.[0];
    expect(hash).toBeDefined();
    await expect(bcrypt.compare(password, hash!)).resolves.toBe(true);
  });
});
