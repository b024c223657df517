// Every migration in the order it runs. A new one is appended here with the next number; none is ever edited once released.
import type { Migration } from 'kysely';
import { initial } from './0001-initial';
import { refreshWindow } from './0002-refresh-window';
import { audit } from './0003-audit';

/** Names sort in run order: the Migrator refuses a database that ran one this list lacks. */
export const MIGRATIONS: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-refresh-window': refreshWindow,
  '0003-audit': audit,
};
