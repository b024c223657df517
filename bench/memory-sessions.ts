// Heap cost of live sessions in the memory store, and whether a churn of logins and logouts gives the memory back.
//
//   node --expose-gc --max-old-space-size=4096 --import tsx bench/memory-sessions.ts live 1000000
//   node --expose-gc --import tsx bench/memory-sessions.ts churn 100000
//
// Started by bench/run.ts, one process per measurement so that each begins with a fresh heap. It
// fills a MemorySessionStore through its own API with records shaped as a login makes them, and
// prints one JSON line on stdout.
import { MemorySessionStore } from '../src/stores/memory';
import { randomId } from '../src/lib/random-id';
import { REFRESH_TTL_MS, sessionRecord, userIdsFor } from './lib/session-records';

/** A clock the churn can move past every session's end. */
const clock = { current: Date.now(), now(): number { return this.current; } };

declare const gc: () => void;

function heapUsed(): number {
  // Several passes: weak references and finalizers free more on the second and third.
  for (let i = 0; i < 3; i += 1) gc();
  return process.memoryUsage().heapUsed;
}

async function fill(store: MemorySessionStore, count: number, userIds: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (let n = 0; n < count; n += 1) {
    const record = sessionRecord(n, userIds, clock.now());
    await store.create(record);
    ids.push(record.id);
  }
  return ids;
}

/** Bytes of heap per live session once `count` sessions are in the store, each refreshed once. */
async function live(count: number) {
  const userIds = userIdsFor(count);
  const store = new MemorySessionStore(clock);
  // The array of ids is the bench's, not the store's: made before the first reading.
  const ids: string[] = new Array(count);
  const before = heapUsed();
  const made = await fill(store, count, userIds);
  for (let i = 0; i < count; i += 1) ids[i] = made[i]!;
  made.length = 0;
  // A session that has refreshed once holds two token ids (current and previous), as most do.
  for (const id of ids) {
    const session = (await store.get(id))!;
    await store.rotate(id, session.refreshJti, { jti: randomId(), iat: Math.floor(clock.now() / 1000) }, { graceMs: 10_000 });
  }
  const after = heapUsed();
  if (store.size !== count) throw new Error(`expected ${count} sessions, the store holds ${store.size}`);
  return { kind: 'live', sessions: count, heapBefore: before, heapAfter: after, bytesPerSession: (after - before) / count };
}

/**
 * Opens `count` sessions, ends half of them (logout) and lets the other half expire (sweep), twice
 * over, and compares the heap with the one before: what is left is what the store failed to free.
 */
async function churn(count: number) {
  const userIds = userIdsFor(count);
  const store = new MemorySessionStore(clock);
  // One round first, so that code compiled and caches warmed on the way are in the baseline too.
  await churnRound(store, count, userIds);
  const baseline = heapUsed();
  let peak = 0;
  for (let round = 0; round < 2; round += 1) peak = Math.max(peak, await churnRound(store, count, userIds));
  const after = heapUsed();
  return {
    kind: 'churn',
    sessions: count,
    rounds: 2,
    heapBaseline: baseline,
    heapPeak: peak,
    heapAfter: after,
    retainedBytes: after - baseline,
    sessionsLeft: store.size,
  };
}

/** One round of churn; returns the heap while its sessions were live. */
async function churnRound(store: MemorySessionStore, count: number, userIds: string[]): Promise<number> {
  const ids = await fill(store, count, userIds);
  const peak = heapUsed();
  for (let i = 0; i < ids.length; i += 2) await store.end(ids[i]!);
  clock.current += REFRESH_TTL_MS + 1;
  store.sweep();
  return peak;
}

async function main(): Promise<void> {
  if (typeof gc !== 'function') throw new Error('run with node --expose-gc');
  const [mode, countText] = process.argv.slice(2);
  const count = Number(countText);
  if (!Number.isInteger(count) || count <= 0) throw new Error('usage: memory-sessions.ts live|churn <sessions>');
  const result = mode === 'live' ? await live(count) : mode === 'churn' ? await churn(count) : null;
  if (!result) throw new Error(`unknown mode ${mode}`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
