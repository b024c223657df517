// The pino logger, with every place a credential could appear redacted.
import pino, { type DestinationStream, type Logger } from 'pino';
import { stdoutLogStream } from './log-stream';

export type { Logger };

/** Paths pino replaces with "[redacted]": credentials in requests, bodies and errors. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.password_hash',
  '*.passwordHash',
  '*.refresh_token',
  '*.access_token',
  '*.token',
];

/** Builds the process logger, writing to stdout; tests pass their own destination to read what was logged. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: undefined,
    },
    destination ?? stdoutLogStream(),
  );
}
