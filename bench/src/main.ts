/**
 * `pnpm bench`: waffle beside the raw drivers (and Keyv and Pongo on
 * PostgreSQL) on each dialect of WAFFLE_DIALECTS, one after another in this
 * process. Prints a Markdown table per dialect and writes results/latest.json
 * and results/latest.md. `WAFFLE_BENCH_SMOKE=1`: tiny sizes, to check it runs.
 * Exits 1 when a dialect failed (after cleaning up what it made).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { type Dialect, enabledDialects } from '@waffle/testkit';
import { benchConfig } from './config.js';
import type { DialectSetup } from './dialects/dialect.js';
import { libsqlSetup } from './dialects/libsql.js';
import { mysqlSetup } from './dialects/mysql.js';
import { postgresSetup } from './dialects/postgres.js';
import { markdownReport } from './report.js';
import type { DialectResult } from './results.js';
import { cleanUpInterrupted, runDialect } from './run.js';

const SETUPS: Record<Dialect, (prefix: string) => Promise<DialectSetup>> = {
  libsql: libsqlSetup,
  postgres: postgresSetup,
  mysql: mysqlSetup,
};

// An interrupted run still drops its tables.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: cleaning up`);
    void cleanUpInterrupted().finally(() => process.exit(130));
  });
}

const config = benchConfig();
const started = new Date();
const results: DialectResult[] = [];
for (const dialect of enabledDialects()) {
  const log = (line: string) => console.error(`[${dialect}] ${line}`);
  const result = await runDialect(dialect, SETUPS[dialect], config, log);
  if (result.error) log(`failed: ${result.error}`);
  results.push(result);
}

const report = markdownReport(results, config, started);
console.log(report);
const dir = new URL('../results/', import.meta.url);
mkdirSync(dir, { recursive: true });
writeFileSync(new URL('latest.md', dir), report);
writeFileSync(
  new URL('latest.json', dir),
  `${JSON.stringify({ started, node: process.version, config, results }, null, 2)}\n`,
);
// Exit now: a driver's pool left open by a failure must not keep CI waiting.
process.exit(results.some((r) => r.error) ? 1 : 0);
