/**
 * The tests a mutation run (`pnpm test:mutation`, stryker.config.mjs) judges
 * core's mutants with: core's own tests and the libSQL conformance suite
 * (testkit's suites and the shard contract on libSQL files), in one Vitest
 * run from the repository root.
 *
 * Stryker runs them in a sandbox copy of the repository whose node_modules
 * are links to the real ones; through those links `@waffle/core` would
 * resolve to the real, unmutated sources. So every workspace package the
 * tests import is aliased to its sources next to this file: in the sandbox,
 * the mutated core is what core's tests, testkit, @waffle/sql and
 * @waffle/libsql all import.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

const alias = [
  { find: /^@waffle\/core\/adapter$/, replacement: here('./packages/core/src/adapter.ts') },
  { find: /^@waffle\/core$/, replacement: here('./packages/core/src/index.ts') },
  { find: /^@waffle\/sql$/, replacement: here('./packages/sql/src/index.ts') },
  { find: /^@waffle\/libsql$/, replacement: here('./packages/libsql/src/index.ts') },
  { find: /^@waffle\/testkit$/, replacement: here('./packages/testkit/src/index.ts') },
  { find: /^@waffle\/serializer-json$/, replacement: here('./packages/serializer-json/src/index.ts') },
];

export default defineConfig({
  resolve: { alias, conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['packages/core/test/**/*.test.ts', 'packages/libsql/test/conformance.test.ts'],
    // The randomized suites at a fifth of their size (200 model sequences instead of 1000, …):
    // the tests run once per mutant. `WAFFLE_SCALE=1 pnpm test:mutation` runs them in full.
    env: { WAFFLE_SCALE: process.env.WAFFLE_SCALE ?? '0.2' },
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
