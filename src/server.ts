#!/usr/bin/env node
// The process: .env → createAuth (config, stores, app) → listen, and a graceful close on SIGTERM.
import dotenv from 'dotenv';
import { ConfigError, createAuth, type Auth } from './index';
import { drainOnClose, type Drain } from './lib/drain';

const SHUTDOWN_GRACE_MS = 10_000;
const REQUEST_TIMEOUT_MS = 10_000;

async function main(): Promise<void> {
  dotenv.config({ quiet: true });
  let auth: Auth;
  try {
    auth = await createAuth({ env: process.env });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const { app, config, logger } = auth;

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

  const shutdown = (signal: string) => void closeGracefully(connections, auth, signal);
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

/**
 * Stops accepting connections, answers every request already read and closes each keep-alive
 * connection between two requests (see lib/drain.ts), then sends the mail still queued and closes the stores.
 */
async function closeGracefully(connections: Drain, { logger, close }: Auth, signal: string) {
  logger.info({ signal }, 'shutting down');
  const force = setTimeout(() => {
    logger.warn('in-flight requests did not finish in time; closing their connections');
    connections.closeAll();
  }, SHUTDOWN_GRACE_MS);
  force.unref();
  await connections.close();
  clearTimeout(force);
  await close();
  logger.info('closed');
  logger.flush();
  process.exitCode = 0;
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`Start-up failed: ${message}\n`);
  process.exit(1);
});
