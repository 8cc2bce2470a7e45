/**
 * Sizes and durations of a run, from the environment: the full run (about
 * ten minutes for the three dialects) or, with `WAFFLE_BENCH_SMOKE=1`, tiny
 * sizes that only show every operation still works (CI runs that).
 */
import { benchTiming, smokeMode, type Timing } from './harness/timing.js';

/** What one run measures, and for how long. */
export interface BenchConfig {
  readonly smoke: boolean;
  readonly timing: Timing;
  /** Records stored on every side before anything is measured; reads and queries pick among them. */
  readonly preload: number;
  /** Records per W2 batch. */
  readonly batch: number;
  /** Ids per R2 getMany. */
  readonly many: number;
  /** Records per Q1/Q2 range query. */
  readonly range: number;
  /** The two table sizes S1 scans, smaller first. */
  readonly scanSizes: readonly [small: number, large: number];
  /** Records per scan page, on both sides. */
  readonly scanPage: number;
  /** Rounds of S1 (a child process per side and size in each). */
  readonly scanRounds: number;
  /** The operations to measure (`WAFFLE_BENCH_OPS`, e.g. `Q1,W3`; all by default); `S1` for the scans. */
  readonly ops: ReadonlySet<string> | undefined;
}

/** The operations `WAFFLE_BENCH_OPS` lists (upper case), or undefined for all of them. */
export function chosenOps(env: NodeJS.ProcessEnv = process.env): ReadonlySet<string> | undefined {
  const list = (env.WAFFLE_BENCH_OPS ?? '')
    .split(',')
    .map((op) => op.trim().toUpperCase())
    .filter((op) => op !== '');
  return list.length > 0 ? new Set(list) : undefined;
}

/** Whether `op` (`W0` … `S1`) is measured in this run. */
export function measures(config: BenchConfig, op: string): boolean {
  return config.ops === undefined || config.ops.has(op);
}

/** The configuration of this run. */
export function benchConfig(): BenchConfig {
  const smoke = smokeMode();
  return {
    smoke,
    timing: benchTiming({ warmupMs: 500, roundMs: 1000, rounds: rounds() }),
    preload: smoke ? 200 : 10_000,
    batch: 500,
    many: 100,
    range: 100,
    scanSizes: smoke ? [500, 5000] : [10_000, 100_000],
    scanPage: 500,
    scanRounds: smoke ? 1 : 3,
    ops: chosenOps(),
  };
}

/** Rounds per operation: `WAFFLE_BENCH_ROUNDS` (an odd count reads best as a median), 5 by default. */
function rounds(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.WAFFLE_BENCH_ROUNDS ?? 5);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`WAFFLE_BENCH_ROUNDS must be a positive integer, got "${env.WAFFLE_BENCH_ROUNDS}"`);
  return n;
}

/**
 * The prefix of every table this run creates (and of their metadata keys):
 * unique per run, so that cleaning up never touches another run's tables, and
 * lower case, since MySQL may fold table names.
 */
export function runPrefix(): string {
  return `wb${Date.now().toString(36)}${process.pid.toString(36)}`;
}
