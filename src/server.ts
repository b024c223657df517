// The process: environment → config → stores → app → listen, and a graceful close on SIGTERM.
import { readFileSync } from 'node:fs';
import dotenv from 'dotenv';
import { createApp, type AppServices } from './app';
import { parseUsersFile, provisionUsers } from './auth/provision-users';
import { ConfigError, loadConfig } from './config';
import { systemClock } from './lib/clock';
import { drainOnClose, type Drain } from './lib/drain';
import { createLogger, type Logger } from './lib/logger';
import { openStores } from './stores/open-stores';
import type { Stores } from './stores/types';

const SWEEP_INTERVAL_MS = 60_000;
const SHUTDOWN_GRACE_MS = 10_000;
const REQUEST_TIMEOUT_MS = 10_000;

async function main(): Promise<void> {
  dotenv.config({ quiet: true });
  let loaded;
  try {
    loaded = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const { config, warnings } = loaded;
  const logger = createLogger(config.logLevel);
  for (const warning of warnings) logger.warn(warning);

  const stores = await openStores(config, { clock: systemClock, logger });
  const app = createApp(config, stores, { logger, clock: systemClock });

  if (config.usersFile) {
    const users = parseUsersFile(readFileSync(config.usersFile, 'utf8'), config.bcryptCost);
    const added = await provisionUsers(app.services.accounts, users);
    logger.info({ added, listed: users.length }, 'users provisioned from USERS_FILE');
  }

  const sweeper = setInterval(() => void stores.sweep(), SWEEP_INTERVAL_MS);
  sweeper.unref();

  const server = app.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    logger.info({ host: config.host, port, env: config.nodeEnv }, `listening on http://${config.host}:${port}`);
  });
  // Bodies are at most 10 kB: a client still sending after 10 s is holding a socket, not uploading.
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = REQUEST_TIMEOUT_MS;
  const connections = drainOnClose(server);
  server.on('error', (error) => {
    logger.fatal({ err: error }, 'cannot listen');
    process.exit(1);
  });

  const shutdown = (signal: string) => void closeGracefully(connections, app.services, stores, logger, signal, sweeper);
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

/**
 * Stops accepting connections, answers every request already read and closes each keep-alive
 * connection between two requests (see lib/drain.ts), then sends the mail still queued and closes the stores.
 */
async function closeGracefully(
  connections: Drain,
  { background, mailer }: Pick<AppServices, 'background' | 'mailer'>,
  stores: Stores,
  logger: Logger,
  signal: string,
  sweeper: NodeJS.Timeout,
) {
  logger.info({ signal }, 'shutting down');
  clearInterval(sweeper);
  const force = setTimeout(() => {
    logger.warn('in-flight requests did not finish in time; closing their connections');
    connections.closeAll();
  }, SHUTDOWN_GRACE_MS);
  force.unref();
  await connections.close();
  clearTimeout(force);
  // Mail the last requests asked for still goes out (or is given up on, within its bound).
  await background.idle();
  await mailer.close();
  await stores.close();
  logger.info('closed');
  logger.flush();
  process.exitCode = 0;
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`Start-up failed: ${message}\n`);
  process.exit(1);
});
