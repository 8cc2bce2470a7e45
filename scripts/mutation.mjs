#!/usr/bin/env node
// Mutation testing of @waffle/core in parts (issue 13, item 7).
//
//   node scripts/mutation.mjs                 run every part, one after another
//   node scripts/mutation.mjs write routing   run the parts named
//   node scripts/mutation.mjs --score         the score of what mutation/ holds, per file and in all
//   node scripts/mutation.mjs --survivors     every mutant that survived or had no coverage, with its line
//
// A run over all of core takes hours on two cores, longer than one sitting.
// Each part keeps its results in mutation/<part>.json (Stryker's incremental
// file, a mutation-testing-report-schema report), which is committed: a part
// run again reuses the results of every mutant whose file and tests did not
// change, so the whole can be run a part at a time, and the score is read
// from the files without running anything.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = (names) => names.map((name) => `packages/core/src/${name}.ts`);

/**
 * Each part of core and its files (index.ts, adapter.ts and types.ts only
 * declare and re-export), each small enough to run in well under an hour.
 */
export const parts = {
  write: src(['write-path', 'notes', 'entity-parts', 'index-states']),
  read: src(['query', 'drain', 'streams']),
  routing: src(['routing', 'replicas', 'health']),
  placement: src(['placement', 'shard-strategy']),
  verify: src(['verify', 'anti-entropy']),
  transfer: src(['backfill', 'maintenance', 'transfer']),
  values: src(['codec', 'columns', 'order', 'cursor', 'predicate']),
  names: src([
    'secondary-index',
    'names',
    'id',
    'hash',
    'base64',
    'lines',
    'checks',
    'group',
    'doc',
    'errors',
  ]),
  entity: src(['entity']),
};

const counted = ['Killed', 'Timeout', 'Survived', 'NoCoverage'];

/** Each part with its report from mutation/<part>.json, or `undefined` when it has not run yet. */
function reports() {
  return Object.keys(parts).map((part) => {
    const file = `${root}mutation/${part}.json`;
    return [part, existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined];
  });
}

function score() {
  const totals = Object.fromEntries(
    ['Killed', 'Timeout', 'Survived', 'NoCoverage', 'CompileError', 'RuntimeError', 'Ignored'].map((s) => [
      s,
      0,
    ]),
  );
  const rows = [];
  for (const [part, report] of reports()) {
    if (!report) {
      rows.push(`${part}: not run yet`);
      continue;
    }
    for (const [path, { mutants }] of Object.entries(report.files)) {
      const byStatus = {};
      for (const mutant of mutants) {
        byStatus[mutant.status] = (byStatus[mutant.status] ?? 0) + 1;
        totals[mutant.status] = (totals[mutant.status] ?? 0) + 1;
      }
      const detected = (byStatus.Killed ?? 0) + (byStatus.Timeout ?? 0);
      const valid = counted.reduce((sum, s) => sum + (byStatus[s] ?? 0), 0);
      rows.push(
        `${part.padEnd(12)} ${path.replace('packages/core/src/', '').padEnd(22)} ${String(mutants.length).padStart(5)} mutants` +
          `  killed ${byStatus.Killed ?? 0}, timeout ${byStatus.Timeout ?? 0}, survived ${byStatus.Survived ?? 0},` +
          ` no coverage ${byStatus.NoCoverage ?? 0}  score ${valid ? ((100 * detected) / valid).toFixed(2) : '-'} %`,
      );
    }
  }
  const detected = totals.Killed + totals.Timeout;
  const valid = counted.reduce((sum, s) => sum + totals[s], 0);
  const covered = valid - totals.NoCoverage;
  console.log(rows.join('\n'));
  console.log(
    `\nall: ${valid} mutants, ${totals.Killed} killed, ${totals.Timeout} timed out, ${totals.Survived} survived, ` +
      `${totals.NoCoverage} without coverage, ${totals.CompileError + totals.RuntimeError} errors; ` +
      `score ${valid ? ((100 * detected) / valid).toFixed(2) : '-'} % (${covered ? ((100 * detected) / covered).toFixed(2) : '-'} % of the covered)`,
  );
}

/** Every surviving or uncovered mutant that mutation/ holds: file:line, mutator, the line and its replacement. */
function survivors() {
  for (const [, report] of reports()) {
    if (!report) continue;
    for (const [path, { source, mutants }] of Object.entries(report.files)) {
      const lines = source.split('\n');
      for (const m of mutants) {
        if (m.status !== 'Survived' && m.status !== 'NoCoverage') continue;
        const { start, end } = m.location;
        const original = lines[start.line - 1].trim();
        console.log(
          `${path.replace('packages/core/src/', '')}:${start.line}:${start.column} ${m.status} ${m.mutatorName}` +
            (start.line === end.line ? '' : ` (to line ${end.line})`) +
            `\n    ${original.slice(0, 160)}\n  → ${String(m.replacement ?? '')
              .replace(/\s+/g, ' ')
              .slice(0, 160)}`,
        );
      }
    }
  }
}

const args = process.argv.slice(2);
if (args.includes('--score')) {
  score();
} else if (args.includes('--survivors')) {
  survivors();
} else {
  const names = args.length > 0 ? args : Object.keys(parts);
  for (const name of names) {
    if (!parts[name]) {
      console.error(
        `mutation: no part named ${JSON.stringify(name)}; the parts: ${Object.keys(parts).join(', ')}`,
      );
      process.exit(2);
    }
  }
  for (const name of names) {
    console.log(`mutation: part ${name} (${parts[name].join(', ')})`);
    const run = spawnSync(
      'npx',
      [
        'stryker',
        'run',
        'stryker.config.mjs',
        '--mutate',
        parts[name].join(','),
        '--incrementalFile',
        `mutation/${name}.json`,
      ],
      { cwd: root, stdio: 'inherit' },
    );
    if (run.status !== 0) process.exit(run.status ?? 1);
  }
  score();
}
