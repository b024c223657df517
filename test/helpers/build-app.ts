// Builds the app as a test needs it: test config, memory stores, a fake clock, captured logs.
import { createApp, type AuthApp } from '../../src/app';
import type { Config } from '../../src/config';
import { createLogger } from '../../src/lib/logger';
import { createMemoryStores } from '../../src/stores/memory';
import type { Stores } from '../../src/stores/types';
import { FakeClock } from './fake-clock';
import { logLines } from './log-lines';
import { testConfig } from './test-config';

export interface TestApp {
  app: AuthApp;
  config: Config;
  stores: Stores;
  clock: FakeClock;
  /** Every log line the app wrote, as raw JSON text. */
  logs: string[];
}

export function buildTestApp(options: { env?: Record<string, string>; clock?: FakeClock; stores?: Stores } = {}): TestApp {
  const config = testConfig(options.env);
  const clock = options.clock ?? new FakeClock();
  const stores = options.stores ?? createMemoryStores(clock);
  const { lines: logs, sink } = logLines();
  const logger = createLogger(config.logLevel, sink);
  const app = createApp(config, stores, { logger, clock });
  return { app, config, stores, clock, logs };
}
