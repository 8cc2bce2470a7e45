/**
 * Measures every operation on every side that supports it: a warm-up each,
 * then rounds alternating over the sides, and the median of each side; with
 * it, the median time the garbage collector took per second of the side's
 * rounds (what the rate does not show: a side can lose to the collector
 * rather than to its own code).
 */
import { performance } from 'node:perf_hooks';
import { type BenchConfig, measures } from './config.js';
import { alternateRounds, rate, withGcTime } from './harness/timing.js';
import { OPERATIONS, type Operation, type Side, type SideName } from './workload/operations.js';

/**
 * Measures `sides`, handing each operation's medians (per side that supports
 * it) to `record` as soon as they are known, so that a failure later keeps them.
 */
export async function measureOperations(
  sides: readonly Side[],
  config: BenchConfig,
  record: (
    op: Operation,
    figures: ReadonlyMap<SideName, number>,
    gcMsPerSecond: ReadonlyMap<SideName, number>,
  ) => void,
): Promise<void> {
  const { warmupMs, roundMs, rounds } = config.timing;
  for (const op of OPERATIONS) {
    if (!measures(config, op.id)) continue;
    const cases = sides.filter((side) => side.ops[op.id] !== undefined);
    const units = op.units(config);
    for (const side of cases) await rate(side.ops[op.id]!, units, warmupMs);
    const medians = await alternateRounds(cases, rounds, async (side) => {
      const start = performance.now();
      const [perSecond, gcMs] = await withGcTime(() => rate(side.ops[op.id]!, units, roundMs));
      return [perSecond, (gcMs * 1000) / (performance.now() - start)];
    });
    const bySide = new Map(cases.map((side, i) => [side.name, medians[i]![0]!]));
    const gc = new Map(cases.map((side, i) => [side.name, medians[i]![1]!]));
    record(op, bySide, gc);
  }
}
