import { compareText } from './columns.js';
import type { Doc } from './doc.js';
import type { KeyPart } from './order.js';
import { isReplicated, scanRange } from './replicas.js';
import { byShard, replicasOfRow } from './routing.js';
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
  /**
   * The last record id compared so far (in progress reports: resume a
   * stopped pass with `{ after: cursor }`); undefined before the first.
   */
  readonly cursor?: string;
  /** A few record ids of each kind of difference (up to {@link SAMPLES} each). */
  readonly samples: { readonly missing: string[]; readonly orphaned: string[]; readonly stale: string[] };
}

/** How many record ids a report keeps of each kind of difference. */
export const SAMPLES = 5;

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
  /** The stored rows of the given records (tombstones included; missing ids absent), without notes. */
  read(ids: readonly string[]): Promise<Map<string, RecordRow>>;
}

/** Options of {@link checkIndex}. */
export interface CheckOptions {
  /** Write the missing rows and delete the others. */
  readonly fix: boolean;
  readonly batchSize: number;
  /**
   * How long, in milliseconds, a row tagged above its record's stored version
   * (or of a record that does not exist) is left alone before repair deletes
   * it: such a row may be a sync write's, put before its record commits.
   */
  readonly graceMs: number;
  readonly onProgress?: (progress: IndexReport) => void;
  readonly signal?: AbortSignal;
  /** Start after this record id (a cursor of an earlier pass). */
  readonly after?: string;
  /** At most this many records and index rows read per second. */
  readonly rowsPerSecond?: number;
}

/**
 * Merges pages of rows, each source in id order, into one stream in id order
 * (rows of equal ids one after another, in source order), each with the index
 * of its source. A source's `page()` returns its next rows, `[]` at its end.
 */
export async function* mergeById<R extends { readonly id: string }>(
  pages: readonly (() => Promise<R[]>)[],
): AsyncGenerator<{ row: R; source: number }> {
  const buffers: R[][] = await Promise.all(pages.map((page) => page()));
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
    yield { row: buffers[best]![offsets[best]!++]!, source: best };
  }
}

/** Every record of the entity, in id order across shards, read in pages. */
async function* recordsById(
  source: CheckSource<unknown>,
  batchSize: number,
  start: string | undefined,
): AsyncGenerator<RecordRow> {
  // Bucket range by bucket range: over replicas, each record once, from a reachable replica of its range.
  const pages = [...source.strategy.shards.keys()].map((owner) => {
    let after: string | undefined = start;
    let done = false;
    return async (): Promise<RecordRow[]> => {
      while (!done) {
        const page = await scanRange(source.strategy, source.table, owner, after, batchSize);
        done = page.done;
        after = page.last;
        if (page.rows.length > 0) return page.rows;
      }
      return [];
    };
  });
  for await (const { row } of mergeById(pages)) yield row;
}

/**
 * Compares an index with what its mapper produces from every record — a merge
 * join of the records and the index rows, both in id order, in pages — and,
 * with `fix`, writes the missing rows and deletes the others, each delete
 * conditional on the tag it was seen with, so that a writer's newer row
 * survives. A row that no committed version explains yet (tagged above its
 * record's stored version, or of a record that does not exist) may be a sync
 * write's in flight, put before its record commits: it is deleted only if,
 * `graceMs` after it was seen, its record is read again and still does not
 * explain it.
 */
export async function checkIndex<T>(
  source: CheckSource<T>,
  index: Index<T, any>,
  options: CheckOptions,
): Promise<IndexReport> {
  const { fix, batchSize, graceMs, onProgress, signal, rowsPerSecond } = options;
  let sinceProgress = 0;
  const started = Date.now();
  const parts: KeyPart[] = [
    { ref: index.idRef, position: -1, direction: 'asc' },
    ...index.columnNames.map((name, position) => ({
      ref: index.c[name],
      position,
      direction: 'asc' as const,
    })),
  ];
  const order = parts.map((p) => ({ column: p.ref.name, direction: p.direction }));
  const replicated = isReplicated(index.strategy);
  // Every shard of the index, each row marked with where it was read (over replicas, each replica is compared).
  const rows = mergeStreams(
    index.strategy.shards.map(
      (shard, position) =>
        new ShardStream(
          async (where, limit) =>
            (await shard.queryIndex(index.table, { where, orderBy: order, limit })).map((hit) => ({
              ...hit,
              position,
            })),
          parts,
          options.after === undefined ? undefined : { op: 'gt', column: index.idRef, value: options.after },
          batchSize,
        ),
    ),
    parts,
  );
  const records = recordsById(source as CheckSource<unknown>, batchSize, options.after);
  const samples = { missing: [] as string[], orphaned: [] as string[], stale: [] as string[] };
  const report: { -readonly [K in keyof IndexReport]: IndexReport[K] } = {
    index: index.name,
    records: 0,
    rows: 0,
    missing: 0,
    orphaned: 0,
    stale: 0,
    samples,
  };
  const found = (kind: 'missing' | 'orphaned' | 'stale', id: string) => {
    report[kind]++;
    const ids = samples[kind];
    if (ids.length < SAMPLES && ids[ids.length - 1] !== id) ids.push(id);
  };
  const toWrite: IndexRow[] = [];
  const toDelete: IndexRow[] = [];
  /** Rows no committed version explains yet, and when they were seen. */
  const suspects: { row: IndexRow; seen: number }[] = [];
  const flush = async (force: boolean) => {
    if (!fix || (!force && toWrite.length + toDelete.length < batchSize)) return;
    const written = toWrite.splice(0);
    await Promise.all([
      ...byShard(index, written).map((g) => g.shard.putIndexRows(index.table, g.rows)),
      ...byShard(index, toDelete.splice(0)).map((g) => g.shard.deleteIndexRows(index.table, g.rows)),
    ]);
    // A writer may have moved a record on since it was read: the rows written for it must not outlive it.
    await withdrawChanged(source, index, written);
  };
  let record = await records.next();
  let row = await rows.next();
  while (!record.done || !row.done) {
    const id =
      record.done || (!row.done && compareText(row.value.id, record.value.id) < 0)
        ? row.value!.id
        : record.value.id;
    let expected: RowValues[] = [];
    /** The stored version (of the record, or of its deletion); 0 when none. */
    let stored = 0;
    let live = false;
    if (!record.done && record.value.id === id) {
      stored = record.value.version;
      const doc = source.decode(record.value);
      if (doc) {
        live = true;
        report.records++;
        expected = index.storedRowsOf(doc);
      }
      record = await records.next();
    }
    const actual: (IndexRow & { position?: number })[] = [];
    while (!row.done && row.value.id === id) {
      actual.push(row.value);
      report.rows++;
      row = await rows.next();
    }
    // Over replicas, a row is where it should be on each replica of its bucket; without, anywhere it is read.
    const at = (values: RowValues): readonly (number | undefined)[] =>
      replicated ? replicasOfRow(index, id, values) : [undefined];
    const holds = (r: { position?: number }, position: number | undefined) =>
      position === undefined || r.position === position;
    for (const values of expected) {
      let lacking = false;
      for (const position of at(values)) {
        if (actual.some((r) => holds(r, position) && index.sameValues(r.values, values))) continue;
        found('missing', id);
        lacking = true;
      }
      // Written once: put on every replica of its bucket.
      if (lacking) toWrite.push({ id, values, version: stored });
    }
    for (const r of actual) {
      if (
        expected.some((values) => index.sameValues(r.values, values) && at(values).some((p) => holds(r, p)))
      )
        continue;
      found(live ? 'stale' : 'orphaned', id);
      // Tagged at or below the stored version, which does not produce it: no write can make it valid again.
      if (r.version <= stored) toDelete.push({ ...r, version: r.version + 1 });
      else suspects.push({ row: r, seen: Date.now() });
    }
    await flush(false);
    if (++sinceProgress >= batchSize) {
      sinceProgress = 0;
      // Everything up to this id is compared and, with fix, written: a pass resumed after it misses nothing.
      await flush(true);
      report.cursor = id;
      signal?.throwIfAborted();
      onProgress?.({ ...report, samples: { ...samples } });
      if (rowsPerSecond !== undefined) {
        const wait = ((report.records + report.rows) / rowsPerSecond) * 1000 - (Date.now() - started);
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }
  await flush(true);
  if (fix && suspects.length > 0) await settleSuspects(source, index, suspects, graceMs);
  onProgress?.({ ...report, samples: { ...samples } });
  return report;
}

/**
 * Rows just put, tagged with the version of their record as read, go again
 * where the record changed meanwhile and its version now stored does not
 * produce them (only where still tagged as put: a writer's newer row
 * survives; a row a write left as it is keeps its old tag and is still
 * produced, so it stays). Returns how many were withdrawn. Used by backfill
 * and repair, which put rows beside running writers.
 */
export async function withdrawChanged<T>(
  source: Pick<CheckSource<T>, 'decode' | 'read'>,
  index: Index<T, any>,
  put: readonly IndexRow[],
): Promise<number> {
  if (put.length === 0) return 0;
  const now = await source.read([...new Set(put.map((r) => r.id))]);
  const produced = new Map<string, readonly RowValues[]>();
  const withdrawn = put
    .filter((r) => {
      const current = now.get(r.id);
      if (current?.version === r.version) return false;
      let rows = produced.get(r.id);
      if (rows === undefined) {
        const doc = current ? source.decode(current) : undefined;
        rows = doc ? index.storedRowsOf(doc) : [];
        produced.set(r.id, rows);
      }
      return !index.includesRow(rows, r.values);
    })
    .map((r) => ({ ...r, version: r.version + 1 }));
  await Promise.all(byShard(index, withdrawn).map((g) => g.shard.deleteIndexRows(index.table, g.rows)));
  return withdrawn.length;
}

/**
 * Deletes the suspect rows that their records, read again `graceMs` after
 * each was seen, still do not explain; the others are a write's that
 * committed meanwhile.
 */
async function settleSuspects<T>(
  source: CheckSource<T>,
  index: Index<T, any>,
  suspects: readonly { row: IndexRow; seen: number }[],
  graceMs: number,
): Promise<void> {
  const wait = suspects[suspects.length - 1]!.seen + graceMs - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  const stored = await source.read([...new Set(suspects.map((s) => s.row.id))]);
  const dead: IndexRow[] = [];
  for (const { row } of suspects) {
    const current = stored.get(row.id);
    const version = current?.version ?? 0;
    if (row.version > version) {
      dead.push({ ...row, version: row.version + 1 });
      continue;
    }
    // Committed meanwhile: the row goes only if the version now stored does not produce it.
    const doc = current ? source.decode(current) : undefined;
    const produced = doc ? index.storedRowsOf(doc) : [];
    if (!index.includesRow(produced, row.values)) {
      dead.push({ ...row, version: row.version + 1 });
    }
  }
  await Promise.all(byShard(index, dead).map((g) => g.shard.deleteIndexRows(index.table, g.rows)));
}
