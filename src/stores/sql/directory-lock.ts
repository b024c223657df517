// One process per PGlite directory: a lock file holding the owner's pid, refused while that process lives.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const LOCK_FILE = 'auth-server.lock';

/**
 * PGlite keeps a whole PostgreSQL in this process's memory and writes its files without any lock
 * of its own (it writes no postmaster.pid), so a second process on the same directory would
 * corrupt it. Written by hand: no kept library takes an exclusive, pid-checked lock synchronously
 * without a native addon; the rule is small. A lock left by a process that died is taken over.
 */
export class DirectoryLock {
  private released = false;

  private constructor(private readonly path: string) {}

  /** Takes the lock, or throws an Error naming the directory and the process that holds it. */
  static acquire(directory: string): DirectoryLock {
    const path = join(directory, LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        const fd = openSync(path, 'wx', 0o600);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return new DirectoryLock(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const owner = readOwner(path);
      if (owner !== null && owner !== process.pid && isAlive(owner)) {
        throw new Error(`the database directory ${directory} is in use by another process (pid ${owner}); one process may open it at a time`);
      }
      if (owner === process.pid) {
        throw new Error(`the database directory ${directory} is already open in this process`);
      }
      // The owner is gone (a crash or kill -9): its lock is stale.
      try {
        unlinkSync(path);
      } catch {
        // Another starting process removed it first; the next attempt decides.
      }
    }
    throw new Error(`the database directory ${directory} is being opened by another process`);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    try {
      if (readOwner(this.path) === process.pid) unlinkSync(this.path);
    } catch {
      // Already gone: nothing to release.
    }
  }
}

function readOwner(path: string): number | null {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
