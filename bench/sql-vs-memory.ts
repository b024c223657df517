// `npm run bench:sql`: the PostgreSQL and PGlite stores against the memory store alone, as `npm run bench` measures them (issue 21).
//
//   npm run bench:sql                                    the full run's settings (about four minutes on two cores)
//   BENCH_DURATION=3 BENCH_ROUNDS=1 npm run bench:sql    shorter: seconds per run, interleaved rounds
//   BENCH_CONNECTIONS (default 50) · --smoke: the smoke run's settings
//
// PostgreSQL: DATABASE_URL (postgres://…), else postgres://postgres@127.0.0.1:5432/test when it
// answers; schemas of this run's own, dropped at the end. Prints the targets and tables of the
// report's SQL section (Markdown) on stdout, progress on stderr.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { findPostgres } from './lib/postgres';
import { ROOT } from './lib/processes';
import { FULL, SMOKE, settingsFromEnv } from './lib/settings';
import { sqlReportMarkdown } from './report/markdown';
import { sqlFigures } from './report/summary';
import { sqlVsMemory } from './scenarios/sql';

async function main(): Promise<void> {
  if (!existsSync(path.join(ROOT, 'dist', 'server.js'))) throw new Error('dist/server.js is missing: run `npm run build` first');
  const settings = settingsFromEnv(process.argv.includes('--smoke') ? SMOKE : FULL);
  const log = (message: string) => process.stderr.write(`[bench:sql] ${message}\n`);
  const found = await findPostgres();
  const postgres = 'postgres' in found ? found.postgres : null;
  log(postgres ? `PostgreSQL ${postgres.version} at ${postgres.where}` : `PostgreSQL rows skipped: ${'skipped' in found ? found.skipped : ''}`);
  log(`${settings.throughput.connections} connections, ${settings.throughput.durationSec} s per run, rounds: ${settings.rounds} (interleaved; medians)`);
  const sql = sqlFigures(await sqlVsMemory({ settings, postgres, log }));
  const where = postgres ? { where: postgres.where, version: postgres.version } : { skipped: 'skipped' in found ? found.skipped : 'no PostgreSQL' };
  process.stdout.write(sqlReportMarkdown({ settings, postgres: where, sql }));
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:sql failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
