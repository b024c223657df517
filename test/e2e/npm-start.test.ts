// `npm start` as the README gives it: no compile when dist/ is current, and a SIGTERM to npm's own PID stops the server.
import { statSync } from 'node:fs';
import path from 'node:path';
import { acceptsConnections, freePort, killStartedChildren, requestJson, ROOT, spawnNode } from '../helpers/child-process';
import { ensureFreshBuild, STRONG_SECRETS } from '../helpers/server-process';

/** npm's own entry point, beside the node running the tests: the npm a user's `npm start` runs. */
const NPM_CLI = path.join(path.dirname(process.execPath), '../lib/node_modules/npm/bin/npm-cli.js');
const BUILT = ['dist/server.js', 'dist/app.js', 'dist/index.js'].map((file) => path.join(ROOT, file));

afterEach(() => killStartedChildren());

describe('npm start', () => {
  it('starts the built server without compiling it again, and stops it when the PID npm printed is sent SIGTERM', async () => {
    ensureFreshBuild();
    const builtAt = BUILT.map((file) => statSync(file).mtimeMs);
    const port = await freePort();
    const npm = spawnNode(NPM_CLI, { isolateConfig: true, args: ['start'], env: { PORT: String(port), HOST: '127.0.0.1', ...STRONG_SECRETS } });
    await npm.waitForOutput(/"msg":"listening on /, 60_000);

    expect(BUILT.map((file) => statSync(file).mtimeMs)).toEqual(builtAt);
    expect((await requestJson(port, 'GET', '/health')).status).toBe(200);

    // What `kill <pid>` does: the signal goes to npm alone, not to its process group.
    process.kill(npm.pid, 'SIGTERM');
    const exit = await npm.waitForExit(15_000);
    expect(npm.stdout()).toMatch(/"signal":"SIGTERM","msg":"shutting down"/);
    expect(npm.stdout()).toMatch(/"msg":"closed"/);
    expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
    await expect(acceptsConnections(port)).resolves.toBe(false);
  }, 90_000);
});
