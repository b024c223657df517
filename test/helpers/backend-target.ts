// The attack suites' target (attack.ts) and test app (build-app.ts) on one storage backend: each gets a fresh clock and stores of its own there.
import { target, type ResponseRecorder, type Target } from './attack';
import { buildTestApp, type TestApp } from './build-app';
import { FakeClock } from './fake-clock';
import type { StoreBackend } from './store-backends';

/**
 * A target whose stores are opened on `backend` (closed and removed after the suite, see
 * store-backends.ts): the same server, victim and recorder as target(), on memory, PostgreSQL or
 * Redis as the suite runs.
 */
export async function targetOn(backend: StoreBackend, recorder: ResponseRecorder, env: Record<string, string> = {}): Promise<Target> {
  const clock = new FakeClock();
  return target(recorder, env, { clock, stores: await backend.open(clock) });
}

/** buildTestApp() on stores of its own on `backend`, with a fresh clock. */
export async function appOn(backend: StoreBackend, env: Record<string, string> = {}): Promise<TestApp> {
  const clock = new FakeClock();
  return buildTestApp({ env, clock, stores: await backend.open(clock) });
}
