// examples/embedded-app: its own jest + supertest suite, run where it was installed from the packed tarball.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { installedPackage } from '../helpers/packed-package';

const run = promisify(execFile);

it("passes the example app's own tests, with auth-server imported by name from the tarball", async () => {
  const { appDir } = await installedPackage();
  const jest = path.join(appDir, 'node_modules/jest/bin/jest.js');
  // The example's own jest, its own config (package.json), with no CI or npm variables of this run.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(npm_|JEST_|CI$)/i.test(name)));
  const { stderr } = await run(process.execPath, [jest, '--ci', '--colors=false'], { cwd: appDir, env, timeout: 120_000 });
  expect(stderr).toMatch(/Tests:\s+6 passed, 6 total/);
  expect(stderr).toMatch(/PASS .*app\.test\.js/);
}, 420_000);
