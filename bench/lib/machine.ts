// The machine a run measured: what the report prints above its tables.
import os from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  os: string;
  node: string;
  date: string;
}

export function describeMachine(now = new Date()): Machine {
  const cpus = os.cpus();
  return {
    cpu: (cpus[0]?.model ?? 'unknown').replace(/\s+/g, ' ').trim(),
    cores: os.availableParallelism(),
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    date: now.toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
  };
}

/** The load average over the last minute: other work on the machine skews every figure. */
export function loadAverage(): number {
  return os.loadavg()[0]!;
}
