// Every user a store holds, read page by page the way a caller of the store contract must.
import type { UserRecord, UserStore } from '../../src/stores/types';

export async function allUsers(users: UserStore): Promise<UserRecord[]> {
  const all: UserRecord[] = [];
  let cursor: string | null = null;
  do {
    const page = await users.listPage({ limit: 1000, cursor });
    all.push(...page.users);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return all;
}
