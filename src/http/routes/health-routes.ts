// GET /health (the process is alive) and GET /ready (its stores answer).
import { Router } from 'express';
import { AppError } from '../../errors';
import type { Logger } from '../../lib/logger';
import { defineRoute } from '../routing';

const READY_TIMEOUT_MS = 2000;

export function healthRoutes(ping: () => Promise<void>, logger: Logger): Router {
  const router = Router();

  defineRoute(router, '/health', {
    get: [(_req, res) => void res.json({ status: 'ok' })],
  });

  defineRoute(router, '/ready', {
    get: [
      async (_req, res) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error('store ping timed out')), READY_TIMEOUT_MS);
        });
        try {
          await Promise.race([ping(), timeout]);
        } catch (error) {
          logger.warn({ err: error }, 'readiness check failed');
          throw new AppError('unavailable', { description: 'A backing store is unreachable.' });
        } finally {
          clearTimeout(timer);
        }
        res.json({ status: 'ready' });
      },
    ],
  });

  return router;
}
