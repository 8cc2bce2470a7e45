/**
 * S1: each scan in a child process of its own (node with tsx, as the bench
 * runs), so that its peak RSS is that scan's alone; rounds alternate over the
 * sides and sizes, and each figure is a median.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { alternateRounds } from '../harness/timing.js';
import type { ScanAnswer, ScanJob } from './job.js';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));

/** Runs one scan in a child process. */
async function scanInChild(job: ScanJob): Promise<ScanAnswer> {
  try {
    const { stdout } = await run(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', CHILD, JSON.stringify(job)],
      { cwd: PACKAGE_DIR, maxBuffer: 1 << 20 },
    );
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as ScanAnswer;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`scan of ${job.table} (${job.side}) failed${stderr ? `:\n${stderr}` : ''}`, {
      cause: error,
    });
  }
}

/** One side's S1 figures, by size (smaller first). */
export interface ScanFigures {
  readonly rates: [small: number, large: number];
  readonly peakRss: [small: number, large: number];
}

/** Median rate and peak RSS of every side's scans (`jobs`: per side, the small and the large table). */
export async function measureScans(
  jobs: ReadonlyMap<'waffle' | 'raw', readonly [ScanJob, ScanJob]>,
  rounds: number,
): Promise<Map<'waffle' | 'raw', ScanFigures>> {
  const cases = [0, 1].flatMap((size) => [...jobs].map(([side, pair]) => ({ side, size, job: pair[size]! })));
  const medians = await alternateRounds(cases, rounds, async ({ job }) => {
    const answer = await scanInChild(job);
    return [answer.rate, answer.peakRss];
  });
  const figures = new Map<'waffle' | 'raw', ScanFigures>();
  for (const side of jobs.keys()) {
    const at = (size: number) => medians[cases.findIndex((c) => c.side === side && c.size === size)]!;
    figures.set(side, { rates: [at(0)[0]!, at(1)[0]!], peakRss: [at(0)[1]!, at(1)[1]!] });
  }
  return figures;
}
