// Mutation testing of @waffle/core (issue 13, item 7): `pnpm test:mutation`
// runs it in parts (scripts/mutation.mjs: `pnpm test:mutation write` for one
// part, `pnpm test:mutation:score` for the score of what mutation/ holds).
// Not in CI: it runs the tests once per mutant (hours for all of core on two
// cores). By hand: `npx stryker run stryker.config.mjs --mutate 'packages/core/src/drain.ts'`.
// The tests are core's own and the libSQL conformance suite, through
// vitest.mutation.config.ts (which makes every package import the mutated
// core in Stryker's sandbox). Results: reports/mutation/ (HTML and JSON).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  coverageAnalysis: 'perTest',
  mutate: [
    'packages/core/src/**/*.ts',
    // Type declarations and re-exports only.
    '!packages/core/src/index.ts',
    '!packages/core/src/adapter.ts',
    '!packages/core/src/types.ts',
  ],
  // What the tests need in the sandbox: the packages they import, their sources and configs.
  ignorePatterns: [
    '/*',
    '!/package.json',
    '!/tsconfig.base.json',
    '!/vitest.mutation.config.ts',
    '!/packages',
    '/packages/*',
    '!/packages/core',
    '!/packages/sql',
    '!/packages/libsql',
    '!/packages/testkit',
    '!/packages/serializer-json',
    'dist',
    '*.db',
  ],
  // One test process at a time: the machine has two cores, and the others' work needs one.
  concurrency: 1,
  timeoutMS: 30_000,
  timeoutFactor: 2,
  dryRunTimeoutMinutes: 60,
  // Results of unchanged mutants and tests are reused by the next run
  // (scripts/mutation.mjs gives each part its own file, mutation/<part>.json, committed).
  incremental: true,
  incrementalFile: 'reports/mutation/incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
