import { compareText } from './columns.js';
import type { Doc } from './doc.js';
import type { KeyPart } from './order.js';
import { byShard } from './routing.js';
import type { Index, RowValues } from './secondary-index.js';
import { mergeStreams, ShardStream } from './streams.js';
import type { EntityTableSpec, IndexRow, RecordRow, ShardStrategy } from './types.js';

/** What {@link Entity.verify} found, or {@link Entity.repair} fixed, in one index. */
export interface IndexReport {
  /** The index name. */
  readonly index: string;
  /** Records read. */
  readonly records: number;
  /** Index rows read. */
  readonly rows: number;
  /** Rows a record's mapper produces that the index lacks. */
  readonly missing: number;
  /** Rows of records that do not exist. */
  readonly orphaned: number;
  /** Rows of existing records that their mapper no longer produces. */
  readonly stale: number;
}

/** What {@link Entity.verify} found, or {@link Entity.repair} fixed, over indices. */
export interface VerifyReport {
  readonly missing: number;
  readonly orphaned: number;
  readonly stale: number;
  /** The report of each index. */
  readonly indices: readonly IndexReport[];
}

/** What checking an index reads of its entity. */
export interface CheckSource<T> {
  readonly strategy: ShardStrategy;
  readonly table: EntityTableSpec;
  /** The record of a stored row, or `undefined` for a row that is no record (a deletion's tombstone). */
  decode(row: RecordRow): Doc<T> | undefined;
}

/** Every record of the entity, in id order across shards, read in pages. */
async function* recordsById(source: CheckSource<unknown>, batchSize: number): AsyncGenerator<RecordRow> {
  const pages = source.strategy.shards.map((shard) => {
    let after: string | undefined;
    let done = false;
    return async (): Promise<RecordRow[]> => {
      if (done) return [];
      const rows = await shard.scanRecords(source.table, { after, limit: batchSize });
      done = rows.length < batchSize;
      after = rows[rows.length - 1]?.id ?? after;
      return rows;
    };
  });
  const buffers: RecordRow[][] = await Promise.all(pages.map((page) => page()));
  const offsets = buffers.map(() => 0);
  for (;;) {
    let best = -1;
    for (let i = 0; i < buffers.length; i++) {
      if (offsets[i]! >= buffers[i]!.length) {
        buffers[i] = await pages[i]!();
        offsets[i] = 0;
      }
      const head = buffers[i]![offsets[i]!];
      if (head && (best < 0 || compareText(head.id, buffers[best]![offsets[best]!]!.id) < 0)) best = i;
    }
    if (best < 0) return;
    yield buffers[best]![offsets[best]!++]!;
  }
}

/**
 * Compares an index with what its mapper produces from every record — a merge
 * join of the records and the index rows, both in id order, in pages — and,
 * with `fix`, writes the missing rows and deletes the others (each delete
 * conditional on the tag it was seen with, so a writer's newer row survives).
 */
export async function checkIndex<T>(
  source: CheckSource<T>,
  index: Index<T, any>,
  fix: boolean,
  batchSize: number,
): Promise<IndexReport> {
  const parts: KeyPart[] = [
    { ref: index.idRef, position: -1, direction: 'asc' },
    ...index.columnNames.map((name, position) => ({
      ref: index.c[name],
      position,
      direction: 'asc' as const,
    })),
  ];
  const order = parts.map((p) => ({ column: p.ref.name, direction: p.direction }));
  const rows = mergeStreams(
    index.strategy.shards.map(
      (shard) =>
        new ShardStream(
          (where, limit) => shard.queryIndex(index.table, { where, orderBy: order, limit }),
          parts,
          undefined,
          batchSize,
        ),
    ),
    parts,
  );
  const records = recordsById(source as CheckSource<unknown>, batchSize);
  const report = { index: index.name, records: 0, rows: 0, missing: 0, orphaned: 0, stale: 0 };
  const toWrite: IndexRow[] = [];
  const toDelete: IndexRow[] = [];
  const flush = async (force: boolean) => {
    if (!fix || (!force && toWrite.length + toDelete.length < batchSize)) return;
    await Promise.all([
      ...byShard(index, toWrite.splice(0)).map((g) => g.shard.putIndexRows(index.table, g.rows)),
      ...byShard(index, toDelete.splice(0)).map((g) => g.shard.deleteIndexRows(index.table, g.rows)),
    ]);
  };
  let record = await records.next();
  let row = await rows.next();
  while (!record.done || !row.done) {
    const id =
      record.done || (!row.done && compareText(row.value.id, record.value.id) < 0)
        ? row.value!.id
        : record.value.id;
    let expected: RowValues[] = [];
    let version = 0;
    if (!record.done && record.value.id === id) {
      const doc = source.decode(record.value);
      if (doc) {
        report.records++;
        version = doc.version;
        expected = index.storedRowsOf(doc);
      }
      record = await records.next();
    }
    const actual: IndexRow[] = [];
    while (!row.done && row.value.id === id) {
      actual.push(row.value);
      report.rows++;
      row = await rows.next();
    }
    for (const values of expected) {
      if (actual.some((r) => index.sameValues(r.values, values))) continue;
      report.missing++;
      toWrite.push({ id, values, version });
    }
    for (const r of actual) {
      if (expected.some((values) => index.sameValues(r.values, values))) continue;
      if (version === 0) report.orphaned++;
      else report.stale++;
      toDelete.push({ ...r, version: r.version + 1 });
    }
    await flush(false);
  }
  await flush(true);
  return report;
}
