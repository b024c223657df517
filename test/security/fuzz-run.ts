// Runs a model fuzz: random sequences of steps, each against a fresh world; a failure names its seed, its step and the steps that led there.
import fc from 'fast-check';

/** What the runs added up to: the requests sent, the steps taken, and how often each outcome came up. */
export interface FuzzResult {
  requests: number;
  steps: number;
  seen: Map<string, number>;
}

/** What the runner reads of a world: the steps it traced (for a failure) and what it counted. */
export interface FuzzWorld {
  readonly trace: string[];
  readonly seen: Map<string, number>;
  readonly requests: number;
}

/** One kind of model fuzz: how its world is made and set up, and how it takes one step. */
export interface ModelFuzz<Step, World extends FuzzWorld> {
  /** The run as a failure names it: `run`, `account run`, `second-factor run`. */
  name: string;
  /** What the world is doing before its first step, as a failure names it. */
  settingUp: string;
  world(run: number): World;
  setUp(world: World, run: number): Promise<void>;
  step(world: World, step: Step): Promise<void>;
  /** Waits for the work the last answers started (mail), so that none of it outlives the run. */
  settle?(): Promise<void>;
}

/** Runs `options.runs` sequences of `options.steps` steps drawn from `steps`, each in a new world of `fuzz`. */
export async function runModelFuzz<Step, World extends FuzzWorld>(
  steps: fc.Arbitrary<Step>,
  options: { seed: number; runs: number; steps: number; backend: string },
  fuzz: ModelFuzz<Step, World>,
): Promise<FuzzResult> {
  const result: FuzzResult = { requests: 0, steps: 0, seen: new Map() };
  let run = 0;
  const property = fc.asyncProperty(fc.array(steps, { minLength: options.steps, maxLength: options.steps }), async (sequence) => {
    run += 1;
    const world = fuzz.world(run);
    let current = fuzz.settingUp;
    try {
      await fuzz.setUp(world, run);
      for (const [i, step] of sequence.entries()) {
        current = `step ${i + 1} of ${sequence.length}`;
        await fuzz.step(world, step);
        result.steps += 1;
      }
    } catch (error) {
      const trace = world.trace.slice(-12).map((line) => `    ${line}`);
      throw new Error(
        `${options.backend}, ${fuzz.name} ${run}, ${current} (FUZZ_SEED=${options.seed} replays it); the last lines are the failing step:\n${trace.join('\n')}\n${(error as Error).message}`,
      );
    } finally {
      await fuzz.settle?.();
      result.requests += world.requests;
      for (const [outcome, times] of world.seen) result.seen.set(outcome, (result.seen.get(outcome) ?? 0) + times);
    }
  });
  // Not shrunk: each run costs logins and password hashes, and the trace already says which step failed and why.
  const details = await fc.check(property, { seed: options.seed, numRuns: options.runs, endOnFailure: true });
  if (details.failed) throw details.errorInstance instanceof Error ? details.errorInstance : new Error(String(details.errorInstance));
  return result;
}

/** The requests and the outcomes seen, each with its count, in a stable order: one line of a run's report. */
export function fuzzSummary(result: FuzzResult): string {
  const seen = [...result.seen].sort(([a], [b]) => (a < b ? -1 : 1)).map(([outcome, times]) => `${outcome} ×${times}`);
  return `${result.requests} requests; ${seen.join(', ')}`;
}
