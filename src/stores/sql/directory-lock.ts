// One process per PGlite directory: a lock proper-lockfile keeps fresh while the process lives, refused to any other.
import { join } from 'node:path';
import lockfile from 'proper-lockfile';

/** PGlite writes no lock of its own (no postmaster.pid): a second process would corrupt the directory. */
const LOCK_NAME = 'auth-server.lock';
/**
 * The lock's mtime is renewed every UPDATE_MS; one not renewed for STALE_MS belongs to a process
 * that is gone (killed, or on a host that died) and may be taken. Renewals run on the event loop,
 * which a first start keeps busy for seconds while PGlite creates its cluster: hence the margin.
 */
const STALE_MS = 30_000;
const UPDATE_MS = 10_000;

/**
 * Takes the directory's lock, or throws an Error naming the directory. A lock directory made with
 * mkdir (atomic, and it works across containers sharing a volume) replaces the pid file of earlier
 * versions: a pid may be reused after a crash, and two processes could both take over a stale one.
 */
export async function lockDirectory(directory: string): Promise<{ release(): Promise<void> }> {
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(directory, {
      lockfilePath: join(directory, LOCK_NAME),
      realpath: false,
      stale: STALE_MS,
      update: UPDATE_MS,
      retries: 0,
      onCompromised: () => {
        // Another process may now write the same files: going on could corrupt them.
        throw new Error(`lost the lock on the database directory ${directory}: stopping before another process writes to it`);
      },
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new Error(
        `the database directory ${directory} is in use by another process (or by one that stopped less than ${STALE_MS / 1000} s ago); one process may open it at a time`,
      );
    }
    throw error;
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await release().catch(() => undefined);
    },
  };
}
