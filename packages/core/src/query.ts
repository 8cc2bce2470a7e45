import type { ColumnValue } from './columns.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { Doc } from './doc.js';
import { ShardUnavailableError, ValidationError } from './errors.js';
import { shardHealth } from './health.js';
import { describe } from './names.js';
import { afterKey, compareKeys, type KeyPart, rowKey, toIndexOrder } from './order.js';
import {
  type ColumnRef,
  evaluate,
  forEachColumn,
  isPredicate,
  type OrderTerm,
  type Predicate,
} from './predicate.js';
import { isReplicated, onFirstReachable } from './replicas.js';
import { byShard } from './routing.js';
import type { Index, RowValues } from './secondary-index.js';
import { coveringPositions, replicaCount, replicaPositions } from './shard-strategy.js';
import { conjunction, Merge, ShardStream } from './streams.js';
import type { EntityTableSpec, IndexHit, IndexRow, RecordRow, Shard } from './types.js';

/** Options of `Entity.select`. */
export interface SelectOptions {
  /** Sort terms on the index's columns (`index.c.time.desc()`); ties are broken by record id. */
  readonly orderBy?: OrderTerm | readonly OrderTerm[];
  /** At most this many records (a positive integer). */
  readonly limit?: number;
  /** Resume after the page whose `next` cursor this is. */
  readonly after?: string;
  /** Query an index that is still being built (it may miss records) instead of failing with `IndexNotReadyError`. */
  readonly partial?: boolean;
}

/** One page of results and the cursor of the next one (`undefined` after the last page). */
export interface Page<T> {
  readonly records: Doc<T>[];
  readonly next: string | undefined;
}

/** What a query reads from its entity. */
export interface QuerySource<T> {
  readonly name: string;
  readonly indices: readonly Index<T, any>[];
  /**
   * Fetches records by id, batched per shard: the records found, and the
   * version of the deletion of those that were deleted (missing ids absent from both).
   */
  fetch(ids: readonly string[]): Promise<{ docs: Map<string, Doc<T>>; deleted: Map<string, number> }>;
  /** Resolves when the shards' identities have been checked: those `index` and the records need, or all. */
  ready(index?: Index<T, any>): Promise<void>;
  /** Whether queries delete the stale index rows they meet. */
  readonly readRepair: boolean;
  /**
   * The entity's table, when `index` lives beside the records (see
   * `colocated`): each index shard then returns its rows JOINed with their records.
   */
  joined(index: Index<T, any>): EntityTableSpec | undefined;
  /** The record of a stored row, or `undefined` for a deletion's tombstone. */
  decode(row: RecordRow): Doc<T> | undefined;
  /** Refuses (`IndexNotReadyError`) a query on an index still being built, unless `partial`; after `ready()`. */
  queryable(index: Index<T, any>, partial: boolean, what: string): Promise<void>;
}

/** A record a query met, with its rows in the index (from its mapper), kept for its next rows. */
interface Met<T> {
  readonly doc: Doc<T>;
  readonly current: RowValues[];
}

/** A planned query: one index, its predicate, its total order. */
interface Plan<T> {
  readonly index: Index<T, any>;
  readonly where: Predicate | undefined;
  /** The order of records: the orderBy terms, then the id. */
  readonly recordParts: readonly KeyPart[];
  /** The order of index rows: record order, then the remaining index columns, so that it is total. */
  readonly rowParts: readonly KeyPart[];
  readonly limit: number | undefined;
  readonly signature: string;
  readonly partial: boolean;
}

function plan<T>(source: QuerySource<T>, where: Predicate | undefined, options: SelectOptions): Plan<T> {
  const what = `${source.name}.select()`;
  if (where !== undefined && !isPredicate(where)) {
    throw new ValidationError(`${what}: the first argument must be a predicate, got ${describe(where)}`);
  }
  if (typeof options !== 'object' || options === null) {
    throw new ValidationError(`${what}: options must be an object, got ${describe(options)}`);
  }
  const terms: OrderTerm[] =
    options.orderBy === undefined
      ? []
      : Array.isArray(options.orderBy)
        ? [...options.orderBy]
        : [options.orderBy as OrderTerm];
  const refs: ColumnRef[] = [];
  if (where) forEachColumn(where, (ref) => refs.push(ref));
  for (const term of terms) {
    if (
      typeof term !== 'object' ||
      term === null ||
      !term.column ||
      (term.direction !== 'asc' && term.direction !== 'desc')
    ) {
      throw new ValidationError(
        `${what}: orderBy takes terms such as index.c.time.desc(), got ${describe(term)}`,
      );
    }
    refs.push(term.column);
  }
  if (refs.length === 0) {
    throw new ValidationError(
      `${what}: give a predicate or an orderBy on an index's columns, to choose the index`,
    );
  }
  const owner = refs[0]!.owner;
  const other = refs.find((r) => r.owner !== owner);
  if (other) {
    throw new ValidationError(
      `${what}: a query uses the columns of one index, but this one uses "${owner.name}" and "${other.owner.name}"`,
    );
  }
  const index = source.indices.find((ix) => ix === owner);
  if (!index) {
    throw new ValidationError(`${what}: index "${owner.name}" is not one of this entity's indices`);
  }
  for (const ref of refs) {
    // `index.c` refuses a name the index does not have; a reference it did not make (built by hand) is refused here.
    if (index.c[ref.name] !== ref) {
      throw new ValidationError(
        `${what}: the reference to column "${ref.name}" is not index "${index.name}"'s own: use ${index.name}.c.${ref.name}`,
      );
    }
  }
  const limit = options.limit;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) {
    throw new ValidationError(`${what}: limit must be a positive integer, got ${describe(limit)}`);
  }
  const positionOf = (ref: ColumnRef) => index.columnNames.indexOf(ref.name);
  const ordered = terms.length
    ? terms.map((t) => ({ ref: t.column, position: positionOf(t.column), direction: t.direction }))
    : index.columnNames.map((name) => ({
        ref: index.c[name] as ColumnRef,
        position: positionOf(index.c[name]),
        direction: 'asc' as const,
      }));
  const seen = new Set<number>();
  const recordParts: KeyPart[] = [];
  for (const part of ordered) {
    if (!seen.has(part.position)) recordParts.push(part);
    seen.add(part.position);
  }
  const lastDirection = recordParts[recordParts.length - 1]!.direction;
  recordParts.push({ ref: index.idRef, position: -1, direction: lastDirection });
  const rowParts = [
    ...recordParts,
    ...index.columnNames
      .map((name, position) => ({ ref: index.c[name] as ColumnRef, position, direction: 'asc' as const }))
      .filter((p) => !seen.has(p.position)),
  ];
  const signature = `${index.name}:${recordParts.map((p) => `${p.ref.name}${p.direction === 'desc' ? '-' : '+'}`).join(',')}`;
  if (options.partial !== undefined && typeof options.partial !== 'boolean') {
    throw new ValidationError(`${what}: partial must be true or false, got ${describe(options.partial)}`);
  }
  return { index, where, recordParts, rowParts, limit, signature, partial: options.partial === true };
}

/** A verified record and the index row it was found by (whose key a page's cursor is made of). */
interface Hit<T> {
  readonly doc: Doc<T>;
  readonly row: IndexHit;
}

/**
 * Runs a plan: the verified records in order, a batch at a time (a page of
 * index rows per shard, merged, then checked), so that a query pauses per
 * page, not per record.
 */
async function* execute<T>(
  source: QuerySource<T>,
  p: Plan<T>,
  after: ColumnValue[] | undefined,
  limit: number | undefined,
): AsyncGenerator<Hit<T>[]> {
  await source.ready(p.index);
  const { index, where, recordParts, rowParts } = p;
  await source.queryable(index, p.partial, 'select');
  // A cursor's key ends with its record's id, never null (decodeCursor): a key always has keys after it.
  const resume = after && afterKey(recordParts, after);
  const base = conjunction([where, resume]);
  const pageSize = Math.min(Math.max(limit ?? 500, 16), 1000);
  const order = toIndexOrder(rowParts);
  const records = source.joined(index);
  const streams = readers(index, where, rowParts, (shard, w, n) =>
    shard.queryIndex(index.table, { where: w, orderBy: order, limit: n, records }),
  ).map((read) => new ShardStream(read, rowParts, base, pageSize));
  const merge = new Merge(streams, rowParts);
  const emitted = new Set<string>();
  // Records met with several rows in the index, by id: a record with one row is met once (its
  // other rows, stale ones, are rare), so the common case keeps no map of records.
  const several = new Map<string, Met<T>>();
  let remaining = limit ?? Number.POSITIVE_INFINITY;
  const chunkSize = limit === undefined ? 256 : Math.min(limit, 1000);
  let exhausted = false;
  while (remaining > 0 && !exhausted) {
    const chunk: IndexHit[] = [];
    while (chunk.length < Math.min(remaining, chunkSize)) {
      const want = Math.min(remaining, chunkSize) - chunk.length;
      const rows = await merge.next(want);
      for (const row of rows) if (!emitted.has(row.id)) chunk.push(row);
      if (rows.length < want) {
        exhausted = true;
        break;
      }
    }
    if (chunk.length === 0) return;
    const fetched = records ? undefined : await source.fetch([...new Set(chunk.map((r) => r.id))]);
    const stale: IndexRow[] = [];
    const hits: Hit<T>[] = [];
    try {
      for (const row of chunk) {
        // The row's record: JOINed to it, or fetched; the one met before when its version is the same.
        let met = several.size === 0 ? undefined : several.get(row.id);
        let doc: Doc<T> | undefined;
        let gone: number | undefined;
        if (fetched) {
          doc = fetched.docs.get(row.id);
          if (!doc) gone = fetched.deleted.get(row.id);
        } else if (row.record) {
          const stored = row.record;
          doc = met?.doc.version === stored.version ? met.doc : source.decode(stored);
          if (!doc) gone = stored.version;
        }
        if (!doc) {
          // A row of a deleted record, tagged up to its deletion, can never be valid again (a record
          // saved later under the id goes on after the tombstone). A row of a record that does not
          // exist may be a writer's in flight: left to drain and repair.
          if (gone !== undefined && row.version <= gone) stale.push({ ...row, version: gone + 1 });
          continue;
        }
        if (met && met.doc.version !== doc.version) met = undefined;
        const current = met ? met.current : index.storedRowsOf(doc);
        if (!met && current.length > 1) several.set(row.id, { doc, current });
        const produced = index.includesRow(current, row.values);
        // A row the record's committed version no longer produces, tagged by that version or an
        // older one, can never become valid again: a later writer re-adds its rows with a newer tag.
        if (row.version <= doc.version && !produced) {
          stale.push({ ...row, version: doc.version + 1 });
          continue;
        }
        if (emitted.has(row.id)) continue;
        // A record with one row in this index: the row the shard matched is its first match.
        const only = produced && current.length === 1;
        if (!only && !isFirstMatch(index, where, recordParts, row.id, current, rowKey(recordParts, row)))
          continue;
        emitted.add(row.id);
        remaining--;
        hits.push({ doc, row });
        if (remaining === 0) break;
      }
    } finally {
      if (stale.length > 0 && source.readRepair) await repair(index, stale);
    }
    if (hits.length > 0) yield hits;
  }
}

/** Reads one page of index rows on a shard: `limit` rows matching `where`, in the query's order. */
type PageRead = (where: Predicate | undefined, limit: number) => Promise<IndexHit[]>;

/**
 * The readers of a query on `index`, one per shard to read. Without
 * replicas, every shard that can hold a match. Over replicas, one reachable
 * replica per owner range (`coveringPositions`); a page read there that
 * fails as unavailable (or whose breaker is open) is read instead on the
 * next reachable replica of each of its ranges, their rows merged in order.
 * A shard also returns the rows of the other ranges it holds: duplicates of
 * rows read elsewhere, which the query drops by record id and counts by id.
 */
function readers(
  index: Index<any, any>,
  where: Predicate | undefined,
  parts: readonly KeyPart[],
  read: (shard: Shard, where: Predicate | undefined, limit: number) => Promise<IndexHit[]>,
): PageRead[] {
  const { strategy } = index;
  const { shards } = strategy;
  if (!isReplicated(strategy))
    return strategy.shardsFor(where).map((pos) => (w, n) => read(shards[pos]!, w, n));
  const replicas = replicaCount(strategy);
  return coveringPositions(strategy, where, (p) => shardHealth.isPreferred(shards[p]!)).map(
    ({ position, ranges }) =>
      async (w, n) => {
        const shard = shards[position]!;
        if (shardHealth.isUp(shard)) {
          try {
            const rows = await read(shard, w, n);
            shardHealth.reportAnswered(shard);
            return rows;
          } catch (error) {
            shardHealth.reportFailure(shard, error);
            if (!ShardUnavailableError.is(error)) throw error;
          }
        }
        const pages = await Promise.all(
          ranges.map((range) =>
            onFirstReachable(
              shards,
              replicaPositions(range, shards.length, replicas).filter((p) => p !== position),
              (other) => read(other, w, n),
            ),
          ),
        );
        const keyed = pages.flat().map((row) => ({ row, key: rowKey(parts, row) }));
        keyed.sort((a, b) => compareKeys(parts, a.key, b.key));
        const out: IndexHit[] = [];
        let last: ColumnValue[] | undefined;
        for (const { row, key } of keyed) {
          if (last && compareKeys(parts, last, key) === 0) continue;
          out.push(row);
          last = key;
          if (out.length === n) break;
        }
        return out;
      },
  );
}

/**
 * Read-repair: deletes stale index rows met by a query, only where their tag
 * is still older than the version given, so that a concurrent writer's rows
 * survive. Best effort: a failure leaves the rows to `drain` and `repair`.
 */
async function repair<T>(index: Index<T, any>, rows: readonly IndexRow[]): Promise<void> {
  await Promise.allSettled(byShard(index, rows).map((g) => g.shard.deleteIndexRows(index.table, g.rows)));
}

/**
 * Verification: true when the record's current rows (from its mapper) include
 * one that matches the predicate, and the first such row in query order has
 * exactly `key`. A stale row (the record changed) fails; so does a later row
 * of a record already returned at its first matching row, which keeps every
 * record exactly once across pages.
 */
function isFirstMatch<T>(
  index: Index<T, any>,
  where: Predicate | undefined,
  parts: readonly KeyPart[],
  id: string,
  current: readonly RowValues[],
  key: readonly ColumnValue[],
): boolean {
  let best: ColumnValue[] | undefined;
  for (const values of current) {
    if (
      where &&
      evaluate(where, (ref) => (ref.name === '__id' ? id : values[index.columnNames.indexOf(ref.name)]!)) !==
        true
    ) {
      continue;
    }
    const candidate = rowKey(parts, { id, values });
    if (!best || compareKeys(parts, candidate, best) < 0) best = candidate;
  }
  return best !== undefined && compareKeys(parts, best, key) === 0;
}

/**
 * The result of `Entity.select`: await it for an array of records, iterate it
 * with `for await` to stream them, or call {@link Query.page} for a page and
 * the cursor of the next.
 */
export class Query<T> implements PromiseLike<Doc<T>[]>, AsyncIterable<Doc<T>> {
  private readonly plan: Plan<T>;
  private readonly after: ColumnValue[] | undefined;

  /** @internal */
  constructor(
    private readonly source: QuerySource<T>,
    where: Predicate | undefined,
    options: SelectOptions = {},
  ) {
    this.plan = plan(source, where, options);
    this.after =
      options.after === undefined
        ? undefined
        : decodeCursor(options.after, this.plan.signature, this.plan.recordParts);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Doc<T>> {
    for await (const hits of execute(this.source, this.plan, this.after, this.plan.limit)) {
      for (const hit of hits) yield hit.doc;
    }
  }

  /** All matching records (up to `limit`), in order. */
  async toArray(): Promise<Doc<T>[]> {
    const out: Doc<T>[] = [];
    for await (const hits of execute(this.source, this.plan, this.after, this.plan.limit)) {
      for (const hit of hits) out.push(hit.doc);
    }
    return out;
  }

  // biome-ignore lint/suspicious/noThenProperty: a query is awaitable by design
  then<A = Doc<T>[], B = never>(
    onFulfilled?: ((value: Doc<T>[]) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.toArray().then(onFulfilled, onRejected);
  }

  /**
   * The first `limit` records (all, without a limit) and `next`, the cursor to
   * pass as `after` for the following page; `next` is undefined after the last page.
   */
  async page(): Promise<Page<T>> {
    const { limit } = this.plan;
    const hits: Hit<T>[] = [];
    for await (const batch of execute(
      this.source,
      this.plan,
      this.after,
      limit === undefined ? undefined : limit + 1,
    )) {
      hits.push(...batch);
    }
    if (limit === undefined || hits.length <= limit)
      return { records: hits.map((h) => h.doc), next: undefined };
    const page = hits.slice(0, limit);
    return {
      records: page.map((h) => h.doc),
      next: encodeCursor(
        this.plan.signature,
        this.plan.recordParts,
        rowKey(this.plan.recordParts, page[page.length - 1]!.row),
      ),
    };
  }

  /** Counts the matching records, verifying each (fetched and checked as by a select). */
  async verifiedCount(): Promise<number> {
    await this.source.ready(this.plan.index);
    await this.source.queryable(this.plan.index, this.plan.partial, 'count');
    let n = 0;
    for await (const hits of execute(this.source, this.plan, this.after, this.plan.limit)) n += hits.length;
    return n;
  }

  /**
   * Counts the distinct record ids of the matching index rows, in SQL: one
   * `count(distinct)` per index shard when an index row's shard follows its
   * record's id (a record's rows are then all on one shard), else the ids
   * read page by page (no record is fetched) and counted once.
   */
  async count(): Promise<number> {
    await this.source.ready(this.plan.index);
    const { index, where, rowParts } = this.plan;
    await this.source.queryable(index, this.plan.partial, 'count');
    if (!index.strategy.columns?.length && !isReplicated(index.strategy)) {
      const shards = index.strategy.shardsFor(where).map((pos) => index.strategy.shards[pos]!);
      const counts = await Promise.all(shards.map((shard) => shard.countIndex(index.table, where)));
      return counts.reduce((a, b) => a + b, 0);
    }
    // The ids, read page by page and counted once: over replicas a shard holds several ranges' rows.
    const ids = new Set<string>();
    const order = toIndexOrder(rowParts);
    await Promise.all(
      readers(index, where, rowParts, (shard, w, n) =>
        shard.queryIndex(index.table, { where: w, orderBy: order, limit: n }),
      ).map(async (read) => {
        const stream = new ShardStream(read, rowParts, where, 1000);
        while (true) {
          await stream.fill();
          if (!stream.head()) return;
          while (stream.head()) ids.add(stream.take().id);
        }
      }),
    );
    return ids.size;
  }
}
