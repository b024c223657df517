// The Postman collection in postman/, run with newman's Node API against the built server (node dist/server.js), as a user would import it.
import path from 'node:path';
import { run, type RunSummary } from 'newman';
import { freePort, killStartedChildren, ROOT, spawnNode } from '../helpers/child-process';
import { ensureFreshBuild } from '../helpers/server-process';

const COLLECTION = path.join(ROOT, 'postman/auth-server.postman_collection.json');
const ENVIRONMENT = path.join(ROOT, 'postman/local.postman_environment.json');
const SERVER = path.join(ROOT, 'dist/server.js');

/** Small enough for the rate-limit folder to reach 429 quickly. */
const LOGIN_RATE_LIMIT_MAX = 3;

function runCollection(baseUrl: string): Promise<RunSummary> {
  return new Promise((resolve, reject) => {
    run(
      {
        collection: COLLECTION,
        environment: ENVIRONMENT,
        // The server below runs with REFRESH_REUSE_GRACE=1s: 1.5 s is past it.
        envVar: [
          { key: 'baseUrl', value: baseUrl },
          { key: 'reuse_wait_ms', value: '1500' },
        ],
        // newman's own report: every request, any failed assertion, and the summary table.
        reporters: ['cli'],
        reporter: { cli: { noSuccessAssertions: true } },
        color: 'off',
        timeoutRequest: 10_000,
        timeout: 60_000,
      },
      (error, summary) => (error ? reject(error) : resolve(summary)),
    );
  });
}

afterAll(() => killStartedChildren());

describe('the Postman collection', () => {
  it('passes every assertion of every request against node dist/server.js', async () => {
    ensureFreshBuild();
    const port = await freePort();
    const server = spawnNode(SERVER, {
      isolateConfig: true,
      env: {
        PORT: String(port),
        HOST: '127.0.0.1',
        BCRYPT_COST: '10',
        REFRESH_REUSE_GRACE: '1s',
        LOGIN_RATE_LIMIT_MAX: String(LOGIN_RATE_LIMIT_MAX),
      },
    });
    await server.waitForOutput(/"msg":"listening on /);

    const summary = await runCollection(`http://127.0.0.1:${port}`);
    const { stats, executions, failures } = summary.run;

    expect(failures.map(({ source, error }) => `${source?.name ?? '?'}: ${error.test ?? error.name}: ${error.message}`)).toEqual([]);
    for (const count of ['requests', 'assertions', 'testScripts', 'prerequestScripts'] as const) {
      expect({ count, failed: stats[count].failed }).toEqual({ count, failed: 0 });
    }

    // Each request asserts something of its own, besides the collection-wide checks.
    const shared = new Set(['carries an X-Request-Id', 'is JSON']);
    for (const { item, assertions } of executions) {
      const own = (assertions ?? []).filter(({ assertion, skipped }) => !shared.has(assertion) && !skipped);
      expect({ request: item.name, ownAssertions: own.length > 0 }).toEqual({ request: item.name, ownAssertions: true });
    }

    // The whole journey ran, the rate-limit request until its 429: LOGIN_RATE_LIMIT_MAX failures, then the limit.
    const limited = executions.filter(({ item }) => item.name === 'Wrong password until rate-limited');
    expect(limited.map(({ response }) => response?.code)).toEqual([...Array(LOGIN_RATE_LIMIT_MAX).fill(401), 429]);
    expect(new Set(executions.map(({ item }) => item.name)).size).toBe(stats.items.total - LOGIN_RATE_LIMIT_MAX);
    expect(stats.requests.total).toBe(executions.length);

    // The second-factor folder: an enrolment started, a wrong code refused, the factor left pending (so not active).
    const codes = (name: string) => executions.filter(({ item }) => item.name === name).map(({ response }) => response?.code);
    expect({
      enrol: codes('Start TOTP enrolment'),
      wrongCode: codes('Confirm with a wrong code'),
      stillOff: codes('Profile: two-step sign-in still off'),
      madeUpMfaToken: codes('Finish a sign-in with a made-up mfa_token'),
    }).toEqual({ enrol: [200], wrongCode: [401], stillOff: [200], madeUpMfaToken: [401] });

    // The admin routes a user's token reaches: every one refused, the user's own account included.
    expect({
      list: codes('Admin users (not an admin)'),
      details: codes("Admin: your own account's details (not an admin)"),
      promote: codes('Admin: promote yourself (not an admin)'),
      audit: codes('Admin: the audit log of your own account (not an admin)'),
    }).toEqual({ list: [403], details: [403], promote: [403], audit: [403] });
  }, 90_000);
});
