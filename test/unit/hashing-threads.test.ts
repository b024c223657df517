// The hashing threads: real bcrypt on threads of their own, at the lowest CPU priority on Linux, and failures that stay contained.
import { readFileSync } from 'node:fs';
import { DEFAULT_HASHING_NICE, HashingThreads, hashingThreads } from '../../src/auth/hashing-threads';
import { BCRYPT_HASH } from '../../src/auth/passwords';

/** A thread's nice value as the kernel reports it: field 19 of /proc/self/task/<tid>/stat. */
function niceOf(tid: number): number {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[19 - 3]);
}

describe('HashingThreads', () => {
  const threads = new HashingThreads(DEFAULT_HASHING_NICE);

  it('hashes with bcrypt and compares against the hash', async () => {
    const hash = await threads.hash('correct horse', 4);
    expect(hash).toMatch(BCRYPT_HASH);
    expect(hash.startsWith('$2b$04$')).toBe(true);
    await expect(threads.compare('correct horse', hash)).resolves.toBe(true);
    await expect(threads.compare('correct horsE', hash)).resolves.toBe(false);
  });

  it('hashes and compares bytes as well as text (a pre-hashed password is bytes)', async () => {
    const bytes = Buffer.from([0xff, ...Buffer.from('pre-hashed digest')]);
    const hash = await threads.hash(bytes, 4);
    await expect(threads.compare(bytes, hash)).resolves.toBe(true);
    await expect(threads.compare(Buffer.from([0xfe, ...Buffer.from('pre-hashed digest')]), hash)).resolves.toBe(false);
    await expect(threads.compare('\u00ffpre-hashed digest', hash)).resolves.toBe(false);
  });

  it('runs several jobs at once, each with its own answer', async () => {
    const passwords = ['one password', 'two password', 'three password'];
    const hashes = await Promise.all(passwords.map((password) => threads.hash(password, 4)));
    const checks = await Promise.all(
      passwords.map((password, i) => threads.compare(password, hashes[(i + 1) % 3]!)),
    );
    expect(checks).toEqual([false, false, false]);
    const own = await Promise.all(passwords.map((password, i) => threads.compare(password, hashes[i]!)));
    expect(own).toEqual([true, true, true]);
  });

  it('runs at its nice value on Linux, and leaves the event loop thread as it was', async () => {
    const info = await threads.info();
    if (process.platform === 'linux') {
      expect(info).toEqual({ tid: expect.any(Number), nice: DEFAULT_HASHING_NICE });
      expect(info.tid).not.toBe(process.pid);
      expect(niceOf(info.tid!)).toBe(DEFAULT_HASHING_NICE);
      // The main thread's id is the process id.
      expect(niceOf(process.pid)).toBe(0);
    } else {
      expect(info).toEqual({ tid: null, nice: null });
    }
  });

  it("keeps the process's priority with nice 0, and shares one pool per nice value in a process", async () => {
    expect(hashingThreads(0)).toBe(hashingThreads(0));
    expect(hashingThreads(0)).not.toBe(hashingThreads(19));
    const info = await hashingThreads(0).info();
    if (process.platform === 'linux') expect(niceOf(info.tid!)).toBe(0);
    else expect(info.nice).toBeNull();
    await expect(hashingThreads(19).info()).resolves.toEqual(process.platform === 'linux' ? { tid: expect.any(Number), nice: 19 } : { tid: null, nice: null });
  });

  it('rejects a job bcrypt refuses, and the next job still runs', async () => {
    await expect(threads.hash('x', 1000)).rejects.toThrow(/^bcrypt failed: Invalid salt/);
    await expect(threads.compare('x', 'not a bcrypt hash')).resolves.toBe(false);
  });
});
