/**
 * `backfill()` (DESIGN.md, "Index lifecycle"): fills an index that is being
 * built from the stored records, shard by shard in id order, while the
 * application keeps writing. Writes maintain every index in every state, so
 * what the backfill must not do is bring back an older row: each batch's rows
 * are put tagged with the version read, then the batch's records are read
 * again and, of those that changed meanwhile, the rows the version now stored
 * does not produce are withdrawn (only where still tagged as put; a writer's
 * newer row survives).
 * The checkpoint (the last id done per entity shard) is kept in the index's
 * state, so a cancelled or crashed backfill goes on where it stopped. An
 * index rebuilt for a new mapper version ends with a repair pass, which
 * removes the rows the new mapper no longer produces. Then the index is ready.
 */
import { checkCount, checkOptions } from './checks.js';
import { isTombstone } from './codec.js';
import { type EntityParts, readRows } from './entity-parts.js';
import { ValidationError } from './errors.js';
import { type IndexState, storeState } from './index-states.js';
import { DEFAULT_GRACE_MS } from './maintenance.js';
import { describe } from './names.js';
import { scanRange } from './replicas.js';
import { byShard } from './routing.js';
import type { Index } from './secondary-index.js';
import type { IndexRow, RecordRow } from './types.js';
import { checkIndex, withdrawChanged } from './verify.js';

/** Options of `Entity.backfill`. */
export interface BackfillOptions {
  /** Records read per statement (default 500). */
  readonly batchSize?: number;
  /** Called after each batch with the counts so far. */
  readonly onProgress?: (progress: BackfillReport) => void;
  /** Stops between batches (the checkpoint kept: the next backfill goes on from there). */
  readonly signal?: AbortSignal;
  /** At most this many records (rows of the entity table) read per second (default: as fast as the databases go). */
  readonly rowsPerSecond?: number;
  /** The grace period of the repair pass that ends a rebuild: see `repair`'s `graceMs`. */
  readonly graceMs?: number;
}

/** What `Entity.backfill` did for one index. */
export interface BackfillReport {
  readonly index: string;
  /** Records read by this run (a resumed run skips those done before). */
  readonly records: number;
  /** Index rows written. */
  readonly rows: number;
  /** Rows withdrawn again because their record changed meanwhile (its writer wrote its own). */
  readonly withdrawn: number;
  /** Rows the new mapper version no longer produces, removed by the closing repair pass of a rebuild. */
  readonly removed: number;
  /** True when the index is ready now. */
  readonly ready: boolean;
}

/** Checks the options of a backfill before anything is read. */
export function checkBackfillOptions(
  name: string,
  options: BackfillOptions,
): Required<Pick<BackfillOptions, 'batchSize' | 'graceMs'>> {
  const where = `${name}.backfill()`;
  checkOptions(options, where);
  const batchSize = checkCount(options.batchSize ?? 500, 1, where, 'batchSize');
  const graceMs = checkCount(options.graceMs ?? DEFAULT_GRACE_MS, 0, where, 'graceMs');
  const rate = options.rowsPerSecond;
  if (rate !== undefined && (typeof rate !== 'number' || !(rate > 0) || !Number.isFinite(rate))) {
    throw new ValidationError(`${where}: rowsPerSecond must be a positive number, got ${describe(rate)}`);
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new ValidationError(`${where}: onProgress must be a function, got ${describe(options.onProgress)}`);
  }
  return { batchSize, graceMs };
}

/**
 * Fills (or rebuilds) `index` from the stored records, from its state `start`
 * as just read from its shards (another process may have made progress, or
 * finished); see the module comment.
 */
export async function backfill<T>(
  parts: EntityParts<T>,
  index: Index<T, any>,
  start: IndexState,
  options: BackfillOptions,
): Promise<BackfillReport> {
  const { batchSize, graceMs } = checkBackfillOptions(parts.name, options);
  const { placement, table, codec } = parts;
  let state = start;
  const report = {
    index: index.name,
    records: 0,
    rows: 0,
    withdrawn: 0,
    removed: 0,
    ready: state.state === 'ready',
  };
  if (report.ready) return report;
  const source = {
    strategy: placement.strategy,
    table,
    decode: (row: RecordRow) => codec.docOf(row),
    read: (ids: readonly string[]) => readRows(parts, ids, false),
  };
  const after: Record<string, string> = { ...(state.after ?? {}) };
  const finished = new Set(state.finished ?? []);
  const started = Date.now();
  const building = {
    state: 'building' as const,
    version: index.version,
    ...(state.rebuild ? { rebuild: true } : {}),
  };
  // Bucket range by bucket range (over replicas, each read on a reachable replica of it).
  for (const position of placement.strategy.shards.keys()) {
    if (finished.has(position)) continue;
    for (;;) {
      options.signal?.throwIfAborted();
      const page = await scanRange(placement.strategy, table, position, after[position], batchSize);
      const { rows } = page;
      const put: IndexRow[] = [];
      for (const row of rows) {
        if (isTombstone(row)) continue;
        for (const values of index.storedRowsOf(codec.decode(row)))
          put.push({ id: row.id, values, version: row.version });
      }
      await Promise.all(byShard(index, put).map((g) => g.shard.putIndexRows(index.table, g.rows)));
      // The records read again: see withdrawChanged.
      const withdrawn = await withdrawChanged(source, index, put);
      report.records += rows.length;
      report.rows += put.length;
      report.withdrawn += withdrawn;
      if (page.last !== undefined) after[position] = page.last;
      if (page.done) finished.add(position);
      const checkpoint = { ...building, after: { ...after }, finished: [...finished].sort((a, b) => a - b) };
      // The checkpoint lives on the index's first shard; the others say building.
      state = await storeState(index, state, (_, at) => (at === 0 ? checkpoint : building));
      placement.states.set(index, state);
      options.onProgress?.({ ...report });
      const rate = options.rowsPerSecond;
      if (rate !== undefined) {
        const wait = (report.records / rate) * 1000 - (Date.now() - started);
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      if (page.done) break;
    }
  }
  if (state.rebuild) {
    options.signal?.throwIfAborted();
    const repaired = await checkIndex(source, index, { fix: true, batchSize, graceMs });
    report.removed = repaired.stale + repaired.orphaned;
  }
  state = await storeState(index, state, () => ({ state: 'ready', version: index.version }));
  placement.states.set(index, state);
  report.ready = state.state === 'ready';
  options.onProgress?.({ ...report });
  return report;
}
