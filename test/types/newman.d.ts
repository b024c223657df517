// Types for the part of newman's Node API the Postman test uses (newman ships none).
declare module 'newman' {
  import type { EventEmitter } from 'node:events';

  export interface RunCount {
    total: number;
    pending: number;
    failed: number;
  }

  export interface RunExecution {
    item: { name: string };
    response?: { code: number };
    assertions?: { assertion: string; skipped?: boolean; error?: { message: string } }[];
  }

  export interface RunFailure {
    error: { name: string; message: string; test?: string };
    at?: string;
    source?: { name?: string };
  }

  export interface RunSummary {
    run: {
      stats: Record<
        'iterations' | 'items' | 'scripts' | 'prerequests' | 'requests' | 'tests' | 'assertions' | 'testScripts' | 'prerequestScripts',
        RunCount
      >;
      executions: RunExecution[];
      failures: RunFailure[];
      timings: { started: number; completed: number; responseAverage: number };
    };
  }

  export interface RunOptions {
    collection: string | object;
    environment?: string | object;
    envVar?: { key: string; value: string }[];
    reporters?: string | string[];
    reporter?: Record<string, Record<string, unknown>>;
    color?: 'on' | 'off' | 'auto';
    timeout?: number;
    timeoutRequest?: number;
    timeoutScript?: number;
  }

  export function run(options: RunOptions, callback: (error: Error | null, summary: RunSummary) => void): EventEmitter;
}
