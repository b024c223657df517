// HashGate: at most N password hashes at once, first come first served, a bounded queue, 503 beyond it.
import { HashGate, defaultHashConcurrency } from '../../src/auth/hash-gate';
import { AppError } from '../../src/errors';

/** A job the test finishes by hand, recording when it started. */
function controlledJob(log: string[], name: string) {
  let finish!: (value: string) => void;
  let fail!: (error: Error) => void;
  const done = new Promise<string>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const job = () => {
    log.push(`start ${name}`);
    return done;
  };
  return { job, finish: () => finish(name), fail: (error: Error) => fail(error) };
}

/** Lets every pending promise callback run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('HashGate', () => {
  it('runs at most `concurrency` jobs at once and starts the waiting ones in arrival order', async () => {
    const gate = new HashGate({ concurrency: 2, queue: 10 });
    const log: string[] = [];
    const jobs = ['a', 'b', 'c', 'd'].map((name) => controlledJob(log, name));
    const results = jobs.map(({ job }) => gate.run(job));
    await settle();
    expect(log).toEqual(['start a', 'start b']);
    expect({ active: gate.active, queued: gate.queued }).toEqual({ active: 2, queued: 2 });

    jobs[1]!.finish();
    await settle();
    expect(log).toEqual(['start a', 'start b', 'start c']);
    jobs[0]!.finish();
    await settle();
    expect(log).toEqual(['start a', 'start b', 'start c', 'start d']);

    jobs[2]!.finish();
    jobs[3]!.finish();
    await expect(Promise.all(results)).resolves.toEqual(['a', 'b', 'c', 'd']);
    expect({ active: gate.active, queued: gate.queued }).toEqual({ active: 0, queued: 0 });
  });

  it('refuses a job when the queue is full with 503 unavailable and a Retry-After of whole seconds', async () => {
    const gate = new HashGate({ concurrency: 1, queue: 1 });
    const log: string[] = [];
    const running = controlledJob(log, 'running');
    const waiting = controlledJob(log, 'waiting');
    const first = gate.run(running.job);
    const second = gate.run(waiting.job);

    const refused = gate.run(async () => 'never');
    await expect(refused).rejects.toBeInstanceOf(AppError);
    const error = (await refused.catch((caught: unknown) => caught)) as AppError;
    expect({ code: error.code, status: error.status }).toEqual({ code: 'unavailable', status: 503 });
    expect(error.description).toBe('Too many sign-ins at once; try again in a moment.');
    expect(error.headers['Retry-After']).toMatch(/^[1-9]\d*$/);
    expect(log).toEqual(['start running']);

    running.finish();
    waiting.finish();
    await expect(Promise.all([first, second])).resolves.toEqual(['running', 'waiting']);
  });

  it('with a queue of 0 refuses every job while all slots are taken, and takes one again once a slot is free', async () => {
    const gate = new HashGate({ concurrency: 1, queue: 0 });
    const log: string[] = [];
    const running = controlledJob(log, 'running');
    const first = gate.run(running.job);
    await expect(gate.run(async () => 'refused')).rejects.toMatchObject({ code: 'unavailable' });
    running.finish();
    await first;
    await expect(gate.run(async () => 'after')).resolves.toBe('after');
  });

  it('frees the slot of a job that fails, and passes the failure on', async () => {
    const gate = new HashGate({ concurrency: 1, queue: 1 });
    const log: string[] = [];
    const failing = controlledJob(log, 'failing');
    const next = controlledJob(log, 'next');
    const first = gate.run(failing.job);
    const second = gate.run(next.job);
    failing.fail(new Error('bcrypt failed'));
    await expect(first).rejects.toThrow('bcrypt failed');
    await settle();
    expect(log).toEqual(['start failing', 'start next']);
    next.finish();
    await expect(second).resolves.toBe('next');
    expect(gate.active).toBe(0);
  });

  it('refuses limits that could never run a job', () => {
    expect(() => new HashGate({ concurrency: 0, queue: 1 })).toThrow('concurrency must be 1 or more');
    expect(() => new HashGate({ concurrency: 1.5, queue: 1 })).toThrow('concurrency must be 1 or more');
    expect(() => new HashGate({ concurrency: 1, queue: -1 })).toThrow('queue must be 0 or more');
  });
});

describe('defaultHashConcurrency', () => {
  it.each([
    [1, 1],
    [2, 1],
    [3, 2],
    [4, 3],
    [8, 4],
    [64, 4],
  ])('on %i cores runs %i hashes at once: a core left to the event loop, no more than the libuv pool', (cores, expected) => {
    expect(defaultHashConcurrency(cores)).toBe(expected);
  });
});
