// Bench only: src/server.ts's Redis set-up with one switch, BENCH_REVOCATION=lookup, that makes verifyToken ask Redis per request.
import express from 'express';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { systemClock } from '../src/lib/clock';
import { createVerifyToken } from '../src/http/verify-token';
import { createLogger } from '../src/lib/logger';
import { createRedisStores } from '../src/stores/redis';
import type { Stores } from '../src/stores/types';

async function main(): Promise<void> {
  const { config } = loadConfig(process.env);
  if (!config.redis) throw new Error('REDIS_URL is required');
  const logger = createLogger(config.logLevel);
  const redis = createRedisStores({
    url: config.redis.url,
    keyPrefix: config.redis.keyPrefix,
    clock: systemClock,
    accessTtlMs: config.jwt.accessTtlSec * 1000,
    logger,
  });
  await redis.whenReady(5000);
  // Without `revocations`, createApp gives verifyToken sessions.isActive: one Redis round trip per request.
  const stores: Stores = process.env.BENCH_REVOCATION === 'lookup' ? { ...redis, revocations: undefined } : redis;
  const app = createApp(config, stores, { logger, clock: systemClock });
  // GET /bench/verify: verifyToken and nothing else, as in a service that only checks tokens.
  const outer = express();
  const verifyToken = createVerifyToken({ tokens: app.services.tokens, sessions: stores.revocations ?? stores.sessions });
  outer.get('/bench/verify', verifyToken, (req, res) => void res.json({ sub: req.auth!.userId }));
  outer.use(app);
  const server = outer.listen(config.port, config.host, () => process.stdout.write('listening\n'));
  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => void redis.close().then(() => process.exit(0)));
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench server failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
