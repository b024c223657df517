// Memory of the memory store: heap per live session, and the heap after a churn of logins and logouts.
import { runToEnd } from '../lib/processes';
import type { BenchContext } from './context';

export interface LiveSessions {
  sessions: number;
  bytesPerSession: number;
}

export interface Churn {
  sessions: number;
  rounds: number;
  heapBaseline: number;
  heapPeak: number;
  retainedBytes: number;
  sessionsLeft: number;
}

/** Each measurement in a fresh process with --expose-gc; a million sessions need more than the default heap. */
function measure(mode: 'live' | 'churn', sessions: number): Promise<string> {
  const heapMb = Math.max(512, Math.ceil((sessions * 2500) / 2 ** 20));
  return runToEnd([process.execPath, '--expose-gc', `--max-old-space-size=${heapMb}`, '--import', 'tsx', 'bench/memory-sessions.ts', mode, String(sessions)]);
}

export async function liveSessions(context: BenchContext): Promise<LiveSessions[]> {
  const results: LiveSessions[] = [];
  for (const sessions of context.settings.memory.live) {
    const out = JSON.parse(await measure('live', sessions)) as LiveSessions;
    context.log(`memory: ${sessions} live sessions, ${out.bytesPerSession.toFixed(0)} bytes of heap each`);
    results.push({ sessions, bytesPerSession: out.bytesPerSession });
  }
  return results;
}

export async function churn(context: BenchContext): Promise<Churn> {
  const out = JSON.parse(await measure('churn', context.settings.memory.churn)) as Churn;
  context.log(`memory: churn of ${out.sessions} sessions × ${out.rounds}, ${out.retainedBytes} bytes left over the baseline`);
  return out;
}
