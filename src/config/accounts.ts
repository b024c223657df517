// The accounts section: the roles a user can have, users provisioned from a file, and whether registration is open.
import { flag, optionalText, type Parsed } from './fields';

export type Role = 'user' | 'admin';

export interface AccountConfig {
  readonly usersFile: string | null;
  readonly allowRegistration: boolean;
}

export const accountVariables = {
  USERS_FILE: optionalText(),
  ALLOW_REGISTRATION: flag(true),
};

export function accountSettings(e: Parsed<typeof accountVariables>): AccountConfig {
  return { usersFile: e.USERS_FILE ?? null, allowRegistration: e.ALLOW_REGISTRATION };
}
