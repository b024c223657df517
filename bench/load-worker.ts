// A load generator in a process of its own: the login load of the latency scenario, so that its
// work does not delay the driver's event loop while the driver times GET /profile.
//
//   node --import tsx bench/load-worker.ts '<JSON of PacedOptions>' <start, ms since the epoch>
//   prints the LoadResult as JSON
import { runPaced, type PacedOptions } from './lib/paced';

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '') as PacedOptions;
  // Starts with the driver's own load, whatever this process took to load.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(process.argv[3] ?? 0) - Date.now())));
  const result = await runPaced(options);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
