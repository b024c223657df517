// Waiting in tests for something that happens asynchronously, with a bound instead of a sleep.

/** Polls `condition` every 5 ms until it holds; fails after `timeoutMs` (a bound on waiting, not an assertion on speed). */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
