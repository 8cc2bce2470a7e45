/**
 * Maintenance of a live entity: scanning every stored row, rewriting rows of
 * older codecs (`reencode`), and comparing or repairing indices against what
 * their mappers produce (`verify`, `repair`).
 */
import { checkCount, checkOptions } from './checks.js';
import { isTombstone } from './codec.js';
import { type EntityParts, readRows, ready } from './entity-parts.js';
import { ValidationError } from './errors.js';
import { describe } from './names.js';
import { scanRange } from './replicas.js';
import { settleAll } from './routing.js';
import type { Index } from './secondary-index.js';
import type { RecordRow } from './types.js';
import { checkIndex, type IndexReport, type VerifyReport } from './verify.js';

/** Options of `Entity.reencode`. */
export interface ReencodeOptions {
  /** Records read per statement (default 500). */
  readonly batchSize?: number;
  /** Called after each batch with the counts so far. */
  readonly onProgress?: (progress: ReencodeReport) => void;
  /** Stops the rewrite between batches. */
  readonly signal?: AbortSignal;
}

/** What `Entity.reencode` did. */
export interface ReencodeReport {
  /** Records read. */
  readonly scanned: number;
  /** Records rewritten with the current serializer. */
  readonly rewritten: number;
  /** Records skipped because a writer changed them meanwhile (they are then written with the current codec). */
  readonly skipped: number;
}

/**
 * Stored rows (tombstones included), shard by shard in id order, a batch at
 * a time. Over replicas, bucket range by bucket range: each read on the
 * range's first reachable replica (falling over to the next between
 * batches), keeping only the rows of that range, so every record comes once.
 */
export async function* scanRows(
  parts: EntityParts<any>,
  batchSize: number,
  what: string,
): AsyncGenerator<RecordRow[]> {
  checkCount(batchSize, 1, `${parts.name}.${what}()`, 'batchSize');
  await ready(parts);
  const { strategy } = parts.placement;
  for (const owner of strategy.shards.keys()) {
    let after: string | undefined;
    for (;;) {
      const page = await scanRange(strategy, parts.table, owner, after, batchSize);
      if (page.rows.length > 0) yield page.rows;
      if (page.done) break;
      after = page.last;
    }
  }
}

/**
 * Rewrites the rows of other codecs than the current serializer's: see
 * `Entity.reencode`. Shard by shard, each row compare-and-set (at its own
 * version) on the shard it was read from: over replicas, every copy.
 */
export async function reencode<T>(parts: EntityParts<T>, options: ReencodeOptions): Promise<ReencodeReport> {
  const { codec, placement, table } = parts;
  const batchSize = checkCount(options.batchSize ?? 500, 1, `${parts.name}.reencode()`, 'batchSize');
  await ready(parts);
  let scanned = 0;
  let rewritten = 0;
  let skipped = 0;
  const report = () => ({ scanned, rewritten, skipped });
  for (const shard of placement.strategy.shards) {
    let after: string | undefined;
    for (;;) {
      const rows = await shard.scanRecords(table, { after, limit: batchSize });
      options.signal?.throwIfAborted();
      scanned += rows.length;
      const stale = rows.filter((row) => !isTombstone(row) && row.codec !== codec.current.codec);
      await settleAll(
        stale.map(async (row) => {
          const body = codec.encode(codec.decode(row));
          codec.checkSize(row.id, body, shard);
          const next: RecordRow = { ...row, codec: codec.current.codec, body };
          const [done] = await shard.commit({ table, writes: [{ row: next, expected: row.version }] });
          if (done) rewritten++;
          else skipped++;
        }),
      );
      if (rows.length > 0) options.onProgress?.(report());
      if (rows.length < batchSize) break;
      after = rows[rows.length - 1]!.id;
    }
  }
  return report();
}

/** Options of `Entity.verify` and `Entity.repair`. */
export interface CheckIndexOptions {
  /** Records and index rows read per statement (default 500). */
  readonly batchSize?: number;
  /**
   * `repair` only: how long, in milliseconds, a row that no committed version
   * explains yet (tagged above its record's stored version, or of a record
   * that does not exist) is left alone, as a sync write in flight may have
   * put it before its record commits; after that, if its record still does
   * not explain it, the row is deleted. Default 10,000; a write whose commit
   * lands later than that after its index rows may need the next repair to
   * write them again.
   */
  readonly graceMs?: number;
  /** Called every `batchSize` records (and at the end of each index) with that index's counts so far. */
  readonly onProgress?: (progress: IndexReport) => void;
  /** Stops between batches. */
  readonly signal?: AbortSignal;
  /** Start after this record id: the `cursor` of a progress report of a pass that stopped. */
  readonly after?: string;
  /** At most this many records and index rows read per second (default: as fast as the databases go). */
  readonly rowsPerSecond?: number;
}

/** Default of {@link CheckIndexOptions.graceMs}. */
export const DEFAULT_GRACE_MS = 10_000;

/** Verifies (or, with `fix`, repairs) one index or all: see `Entity.verify` and `Entity.repair`. */
export async function checkIndices<T>(
  parts: EntityParts<T>,
  index: Index<T, any> | undefined,
  fix: boolean,
  options: CheckIndexOptions,
  what: string,
): Promise<VerifyReport> {
  const { name, indices, placement, table, codec } = parts;
  if (index !== undefined && !indices.includes(index)) {
    throw new ValidationError(
      `${name}.${what}(): index "${(index as { name?: unknown })?.name}" is not one of this entity's indices`,
    );
  }
  checkOptions(options, `${name}.${what}()`);
  const batchSize = checkCount(options.batchSize ?? 500, 1, `${name}.${what}()`, 'batchSize');
  const graceMs = checkCount(options.graceMs ?? DEFAULT_GRACE_MS, 0, `${name}.${what}()`, 'graceMs');
  const rate = options.rowsPerSecond;
  if (rate !== undefined && (typeof rate !== 'number' || !(rate > 0) || !Number.isFinite(rate))) {
    throw new ValidationError(
      `${name}.${what}(): rowsPerSecond must be a positive number, got ${describe(rate)}`,
    );
  }
  if (options.after !== undefined && typeof options.after !== 'string') {
    throw new ValidationError(
      `${name}.${what}(): after must be a record id (a string), got ${describe(options.after)}`,
    );
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new ValidationError(
      `${name}.${what}(): onProgress must be a function, got ${describe(options.onProgress)}`,
    );
  }
  await ready(parts);
  const source = {
    strategy: placement.strategy,
    table,
    decode: (row: RecordRow) => codec.docOf(row),
    read: (ids: readonly string[]) => readRows(parts, ids, false),
  };
  const reports: IndexReport[] = [];
  for (const ix of index ? [index] : indices) {
    reports.push(
      await checkIndex(source, ix, {
        fix,
        batchSize,
        graceMs,
        onProgress: options.onProgress,
        signal: options.signal,
        after: options.after,
        rowsPerSecond: rate,
      }),
    );
  }
  const sum = (key: 'missing' | 'orphaned' | 'stale') => reports.reduce((n, r) => n + r[key], 0);
  return { missing: sum('missing'), orphaned: sum('orphaned'), stale: sum('stale'), indices: reports };
}
