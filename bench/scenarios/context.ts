// What every scenario is given: the settings, the running servers, a token, and a way to say what it is doing.
import type { ServerProcess } from '../lib/processes';
import type { Settings } from '../lib/settings';
import type { VariantKey } from '../variants';

export interface BenchContext {
  settings: Settings;
  /** The running servers; the Redis variant is absent when no Redis answers. */
  servers: Partial<Record<VariantKey, ServerProcess>>;
  /** An access token from a real login on each of this server's variants; the memory one for the others. */
  accessTokens: Partial<Record<VariantKey, string>>;
  /** The registered user each of this server's variants logs in. */
  emails: Partial<Record<VariantKey, string>>;
  log(message: string): void;
}

export function url(server: ServerProcess, path: string): string {
  return `http://127.0.0.1:${server.port}${path}`;
}
