// HashGate: at most N password hashes at once, a bounded queue shared fairly between client addresses, 503 beyond it.
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
    expect(() => new HashGate({ concurrency: 1, queue: 1, queuePerAddress: -1 })).toThrow('queuePerAddress must be 0 or more');
  });
});

describe('HashGate between client addresses', () => {
  /** Starts `count` controlled jobs of `address`, each recording its start and its outcome. */
  function jobsOf(gate: HashGate, log: string[], address: string, count: number) {
    return Array.from({ length: count }, (_, i) => {
      const name = `${address}#${i + 1}`;
      const job = controlledJob(log, name);
      const result = gate.run(job.job, address).then(
        (value) => value,
        (error: AppError) => `refused ${name}: ${error.status} ${error.code}`,
      );
      return { ...job, name, result };
    });
  }

  /** Finishes the running jobs one at a time, in start order, until nothing runs. */
  async function drain(jobs: ReturnType<typeof jobsOf>, log: string[]) {
    for (let finished = 0; finished < log.length; finished += 1) {
      jobs.find((job) => `start ${job.name}` === log[finished])!.finish();
      await settle();
    }
  }

  it('lets one address hold at most `queuePerAddress` places of the queue: its next job gets 503, another address still gets in', async () => {
    const gate = new HashGate({ concurrency: 1, queue: 10, queuePerAddress: 2 });
    const log: string[] = [];
    const flood = jobsOf(gate, log, '127.0.0.30', 5);
    await settle();
    expect({ active: gate.active, queued: gate.queued, ofFlood: gate.queuedFor('127.0.0.30') }).toEqual({ active: 1, queued: 2, ofFlood: 2 });
    await expect(flood[3]!.result).resolves.toBe('refused 127.0.0.30#4: 503 unavailable');
    await expect(flood[4]!.result).resolves.toBe('refused 127.0.0.30#5: 503 unavailable');
    expect(() => gate.refuseIfFull('127.0.0.30')).toThrow(AppError);

    expect(() => gate.refuseIfFull('127.0.0.2')).not.toThrow();
    const other = jobsOf(gate, log, '127.0.0.2', 1);
    await settle();
    expect(gate.queued).toBe(3);
    await drain([...flood, ...other], log);
    await expect(other[0]!.result).resolves.toBe('127.0.0.2#1');
  });

  it('gives a freed slot to each waiting address in turn: a job waits for at most one job of another address', async () => {
    const gate = new HashGate({ concurrency: 1, queue: 10, queuePerAddress: 4 });
    const log: string[] = [];
    const flood = jobsOf(gate, log, '127.0.0.30', 5);
    await settle();
    const late = jobsOf(gate, log, '127.0.0.2', 2);
    const later = jobsOf(gate, log, '127.0.0.3', 1);
    await settle();
    await drain([...flood, ...late, ...later], log);
    expect(log).toEqual([
      'start 127.0.0.30#1',
      'start 127.0.0.30#2',
      'start 127.0.0.2#1',
      'start 127.0.0.3#1',
      'start 127.0.0.30#3',
      'start 127.0.0.2#2',
      'start 127.0.0.30#4',
      'start 127.0.0.30#5',
    ]);
  });

  it('when the queue is full, lets an address with fewer waiting take the place of the last job of the address with most', async () => {
    const gate = new HashGate({ concurrency: 1, queue: 4, queuePerAddress: 4 });
    const log: string[] = [];
    const flood = jobsOf(gate, log, '127.0.0.30', 5);
    await settle();
    expect(gate.queued).toBe(4);

    expect(() => gate.refuseIfFull('127.0.0.2')).not.toThrow();
    const other = jobsOf(gate, log, '127.0.0.2', 1);
    await expect(flood[4]!.result).resolves.toBe('refused 127.0.0.30#5: 503 unavailable');
    expect({ queued: gate.queued, ofFlood: gate.queuedFor('127.0.0.30'), ofOther: gate.queuedFor('127.0.0.2') }).toEqual({
      queued: 4,
      ofFlood: 3,
      ofOther: 1,
    });
    await drain([...flood, ...other], log);
    await expect(other[0]!.result).resolves.toBe('127.0.0.2#1');
    expect(log).toEqual(['start 127.0.0.30#1', 'start 127.0.0.30#2', 'start 127.0.0.2#1', 'start 127.0.0.30#3', 'start 127.0.0.30#4']);
  });

  it('refuses a newcomer when the full queue holds no line longer than its own by two: nobody is pushed out for a swap', async () => {
    const gate = new HashGate({ concurrency: 1, queue: 2, queuePerAddress: 2 });
    const log: string[] = [];
    const jobs = [...jobsOf(gate, log, '10.0.0.1', 2), ...jobsOf(gate, log, '10.0.0.2', 1)];
    await settle();
    expect(gate.queued).toBe(2);
    expect(() => gate.refuseIfFull('10.0.0.3')).toThrow(AppError);
    const refused = jobsOf(gate, log, '10.0.0.3', 1);
    await expect(refused[0]!.result).resolves.toBe('refused 10.0.0.3#1: 503 unavailable');
    await drain(jobs, log);
    await expect(Promise.all(jobs.map((job) => job.result))).resolves.toEqual(['10.0.0.1#1', '10.0.0.1#2', '10.0.0.2#1']);
  });

  it('counts an IPv4-mapped IPv6 address as its IPv4 address, and an IPv6 /56 as one address', async () => {
    const gate = new HashGate({ concurrency: 1, queue: 10, queuePerAddress: 1 });
    const log: string[] = [];
    const jobs = [...jobsOf(gate, log, '2001:db8:1:200::1', 2), ...jobsOf(gate, log, '127.0.0.9', 1)];
    await settle();
    expect(gate.queuedFor('::ffff:127.0.0.9')).toBe(1);
    expect(gate.queuedFor('2001:db8:1:2ff:ffff:ffff:ffff:ffff')).toBe(1);
    expect(() => gate.refuseIfFull('2001:db8:1:2aa::7')).toThrow(AppError);
    expect(() => gate.refuseIfFull('::ffff:127.0.0.9')).toThrow(AppError);
    expect(() => gate.refuseIfFull('2001:db8:1:300::1')).not.toThrow();
    await drain(jobs, log);
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
