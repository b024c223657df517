// The server section: the environment it runs in, where it listens, and its HTTP edge (CORS, proxies) and log level.
import { isIP } from 'node:net';
import { z } from 'zod';
import { commaList, integer, type Parsed } from './fields';

export type TrustProxy = boolean | number | string[];

export interface ServerConfig {
  readonly nodeEnv: 'development' | 'production' | 'test';
  readonly port: number;
  readonly host: string;
  readonly corsOrigins: readonly string[];
  readonly trustProxy: TrustProxy;
  readonly logLevel: string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function originList() {
  return z
    .string()
    .default('')
    .transform((text, ctx) => {
      const origins = commaList(text);
      for (const origin of origins) {
        let parsed: URL | null = null;
        try {
          parsed = new URL(origin);
        } catch {
          parsed = null;
        }
        // Credentials are allowed per origin, so every entry must be an exact origin, never "*".
        if (!parsed || parsed.origin !== origin || !/^https?:$/.test(parsed.protocol)) {
          ctx.addIssue({
            code: 'custom',
            message: 'must be a comma-separated list of origins such as https://app.example.com',
          });
          return z.NEVER;
        }
      }
      return origins;
    });
}

/** Names Express's proxy-addr understands, besides addresses and CIDR ranges. */
const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isProxyAddress(item: string): boolean {
  if (PROXY_NAMES.has(item)) return true;
  const [address, prefix, ...rest] = item.split('/');
  const version = isIP(address ?? '');
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d+$/.test(prefix) && bits <= (version === 4 ? 32 : 128);
}

function trustProxy() {
  return z
    .string()
    .default('false')
    .transform((text, ctx): TrustProxy => {
      const value = text.trim();
      if (value === 'false') return false;
      if (value === 'true') return true;
      // A hop count larger than the real number of proxies lets clients pick their address.
      if (/^\d+$/.test(value) && Number(value) <= 10) return Number(value);
      const items = value.split(',').map((item) => item.trim());
      if (items.every(isProxyAddress)) return items;
      ctx.addIssue({
        code: 'custom',
        message: 'must be false, a hop count from 0 to 10, or a list of addresses, CIDR ranges, loopback, linklocal or uniquelocal',
      });
      return z.NEVER;
    });
}

/** The process: NODE_ENV decides what every other section refuses. */
export const processVariables = {
  NODE_ENV: z
    .enum(['development', 'production', 'test'], {
      error: 'must be development, production or test',
    })
    .default('development'),
  PORT: integer(3000, 0, 65535),
  HOST: z.string().default('127.0.0.1'),
};

/** The HTTP edge and the log. */
export const edgeVariables = {
  CORS_ORIGINS: originList(),
  TRUST_PROXY: trustProxy(),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
};

type ServerEnvironment = Parsed<typeof processVariables & typeof edgeVariables>;

/** What production refuses of the edge; a variable that failed its own check is missing from `env`. */
export function serverChecks(env: Partial<ServerEnvironment>, production: boolean, problems: string[]): void {
  if (production && env.TRUST_PROXY === true) {
    problems.push('TRUST_PROXY: "true" trusts any X-Forwarded-For in production; give a hop count or addresses');
  }
}

export function serverSettings(e: ServerEnvironment): ServerConfig {
  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    corsOrigins: e.CORS_ORIGINS,
    trustProxy: e.TRUST_PROXY,
    logLevel: e.LOG_LEVEL,
  };
}
