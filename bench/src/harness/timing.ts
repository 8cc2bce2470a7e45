/**
 * The timing harness every waffle benchmark shares: warm-up, rates, rounds
 * that alternate between the things compared (so that a busy moment of the
 * machine weighs on all of them alike) and medians. Benchmarks print figures;
 * nothing here asserts anything about timing.
 */
import { performance } from 'node:perf_hooks';
import { GCProfiler } from 'node:v8';

/** The median of `values` (the upper one of an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

/** Units per second of `run`, called one after another for at least `ms` milliseconds. */
export async function rate(run: () => Promise<void>, units: number, ms: number): Promise<number> {
  const start = performance.now();
  let calls = 0;
  let elapsed = 0;
  do {
    await run();
    calls++;
    elapsed = performance.now() - start;
  } while (elapsed < ms);
  return (calls * units * 1000) / elapsed;
}

/**
 * Runs `work` and returns its result with the time the garbage collector
 * paused the process meanwhile, in milliseconds (every collection, young and
 * full, from V8's own accounting: `v8.GCProfiler`, which counts them as they
 * end, also when `work` never returns to the event loop).
 */
export async function withGcTime<T>(work: () => Promise<T>): Promise<[result: T, gcMs: number]> {
  const profiler = new GCProfiler();
  let micros = 0;
  profiler.start();
  let result: T;
  try {
    result = await work();
  } finally {
    for (const gc of profiler.stop().statistics) micros += gc.cost;
  }
  return [result, micros / 1000];
}

/** Calls per second of a synchronous `work`, called in groups of 8 for at least `ms` milliseconds. */
export function opsPerSecond(work: () => unknown, ms: number): number {
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 8; i++) work();
    n += 8;
    elapsed = performance.now() - start;
  }
  return n / (elapsed / 1000);
}

/** Calls a synchronous `work` for `ms` milliseconds, so that the JIT has seen it before it is measured. */
export function warmUp(work: () => unknown, ms: number): void {
  const start = performance.now();
  while (performance.now() - start < ms) work();
}

/**
 * Runs `rounds` rounds, each measuring every case in turn; `measure` gives
 * one or more figures per case and round. Returns, per case, the median of
 * each figure. Every other round runs the cases in reverse order, so that no
 * case always follows the same one (and pays for what it left: garbage to
 * collect, dirty pages to write).
 */
export async function alternateRounds<T>(
  cases: readonly T[],
  rounds: number,
  measure: (item: T) => readonly number[] | Promise<readonly number[]>,
): Promise<number[][]> {
  const figures = cases.map((): number[][] => []);
  const forward = [...cases.keys()];
  const backward = [...forward].reverse();
  for (let round = 0; round < rounds; round++) {
    for (const i of round % 2 === 0 ? forward : backward) {
      for (const [f, value] of (await measure(cases[i]!)).entries()) {
        const series = figures[i]![f] ?? [];
        series.push(value);
        figures[i]![f] = series;
      }
    }
  }
  return figures.map((perFigure) => perFigure.map(median));
}

/** How long a benchmark warms up and measures, in milliseconds, and how many rounds it takes. */
export interface Timing {
  readonly warmupMs: number;
  readonly roundMs: number;
  readonly rounds: number;
}

/** True when `WAFFLE_BENCH_SMOKE` is set (and not `0`): tiny sizes and times, to check that benchmarks run. */
export function smokeMode(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.WAFFLE_BENCH_SMOKE) && env.WAFFLE_BENCH_SMOKE !== '0';
}

/** `full`, or in smoke mode a single short round: what CI runs to see that a benchmark still works. */
export function benchTiming(full: Timing): Timing {
  return smokeMode() ? { warmupMs: 10, roundMs: 50, rounds: 1 } : full;
}
