// Turns the environment into one frozen, typed Config, or one error that lists every problem.
import { z } from 'zod';
import { accountSettings, accountVariables, type AccountConfig } from './accounts';
import { auditSettings, auditVariables, type AuditConfig } from './audit';
import { mailChecks, mailSettings, mailVariables, type MailConfig } from './mail';
import { metricsChecks, metricsSettings, metricsVariables, type MetricsConfig } from './metrics';
import { mfaChecks, mfaSettings, mfaVariables, type MfaConfig } from './mfa';
import { limitSettings, limitVariables, type LimitConfig } from './limits';
import { passwordSettings, passwordVariables, type PasswordConfig } from './passwords';
import { edgeVariables, processVariables, serverChecks, serverSettings, type ServerConfig } from './server';
import { sessionChecks, sessionSettings, sessionVariables, type SessionConfig } from './sessions';
import { storageSettings, storageVariables, type StorageConfig } from './storage';
import { keyChecks, tokenChecks, tokenSettings, tokenVariables, type TokenConfig } from './tokens';

export type { Role } from './accounts';
export type { RateLimitConfig } from './limits';
export type { TrustProxy } from './server';
export { SECRET_PLACEHOLDERS, secretWeakness } from './secrets';

/** Everything the server needs to know, parsed and checked once at start-up. */
export interface Config extends ServerConfig, TokenConfig, PasswordConfig, AccountConfig, LimitConfig, SessionConfig, StorageConfig, MailConfig, MfaConfig, MetricsConfig, AuditConfig {}

/** Raised when the environment is unusable; the message names each variable, never a value. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

// Every variable of every section; the problems of single variables are listed in this order.
const environmentSchema = z.object({
  ...processVariables,
  ...tokenVariables,
  ...passwordVariables,
  ...accountVariables,
  ...limitVariables,
  ...sessionVariables,
  ...storageVariables,
  ...mailVariables,
  ...mfaVariables,
  ...metricsVariables,
  ...auditVariables,
  ...edgeVariables,
});

type Environment = z.infer<typeof environmentSchema>;

export interface LoadedConfig {
  config: Config;
  /** Things an operator should hear about at start-up (never containing a secret). */
  warnings: string[];
}

/**
 * Parses the environment. Throws ConfigError listing every problem at once.
 * Outside production a missing secret is replaced by a random one, with a warning.
 */
export function loadConfig(rawEnv: Record<string, string | undefined>): LoadedConfig {
  // An empty value (KEY= in a .env file) means "not set".
  const env = Object.fromEntries(
    Object.entries(rawEnv).filter(([, value]) => value !== undefined && value !== ''),
  );
  // Each variable is parsed on its own, so that one bad value does not hide the other problems.
  const parsed: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, schema] of Object.entries(environmentSchema.shape)) {
    const result = schema.safeParse(env[name]);
    if (result.success) parsed[name] = result.data;
    else problems.push(...result.error.issues.map((issue) => `${name}: ${issue.message}`));
  }
  // Then the rules across variables. A variable that failed its own check is missing from
  // `checked`; the rules that need it are skipped (its own problem is already listed).
  const checked = parsed as Partial<Environment>;
  const production = checked.NODE_ENV === 'production';
  tokenChecks(checked, production, problems);
  serverChecks(checked, production, problems);
  sessionChecks(checked, problems);
  mailChecks(checked, production, problems);
  mfaChecks(checked, production, problems);
  metricsChecks(checked, production, problems);
  const keyWarnings = keyChecks(checked, production, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  const e = parsed as Environment;
  const warnings: string[] = [];
  const config: Config = {
    ...serverSettings(e),
    ...tokenSettings(e, warnings),
    ...passwordSettings(e),
    ...accountSettings(e),
    ...limitSettings(e),
    ...sessionSettings(e),
    ...storageSettings(e),
    ...mailSettings(e),
    ...mfaSettings(e, warnings),
    ...metricsSettings(e, warnings),
    ...auditSettings(e),
  };
  warnings.push(...keyWarnings);
  return { config: deepFreeze(config), warnings };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
