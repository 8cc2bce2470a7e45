/**
 * The raw side: the operations done by hand on a dialect's {@link RawStore},
 * the way an application without waffle would, on tables shaped like waffle's.
 * The dialect's store holds the SQL; this holds what is alike for all.
 */
import type { BenchConfig } from '../config.js';
import { type Picks, type Preload, preloadChunks } from '../workload/data.js';
import { type BenchPost, benchPost, TIME_BASE } from '../workload/document.js';
import { uuidv7 } from '../workload/ids.js';
import { type Side, sanityCheck } from '../workload/operations.js';
import { decode, type IndexHit, inOrder, mergeHits, type RawRow } from './common.js';

/** A new record for the raw side: its id and value. */
export interface RawInsert {
  readonly id: string;
  readonly value: BenchPost;
}

/** What a dialect's raw side does in SQL, each method one atomic unit. */
export interface RawStore {
  /** Records of `post` with their row in the co-located index `time`, atomically (W1, W2). */
  insert(records: readonly RawInsert[]): Promise<void>;
  /**
   * Compare-and-set of record `id` at `version` to `value` (version + 1),
   * with its index row moved from `oldTime` to the new time, atomically (W3).
   * False when the version did not match (nothing written).
   */
  update(id: string, version: number, value: BenchPost, oldTime: number): Promise<boolean>;
  /** Rows of `post` by id, in any order (R1, R2). */
  read(ids: readonly string[]): Promise<RawRow[]>;
  /** The first `limit` records of `post` by time from `from`: one join of index and records (Q1). */
  range(from: number, limit: number): Promise<RawRow[]>;
  /** How many databases hold the index `other` of `post2`. */
  readonly otherShards: number;
  /** The first `limit` rows of `other` on shard `shard` from time `from`, in index order (Q2, step 1). */
  rangeOther(shard: number, from: number, limit: number): Promise<IndexHit[]>;
  /** Rows of `post2` by id, in any order (Q2, step 2). */
  read2(ids: readonly string[]): Promise<RawRow[]>;
  /** Preloads `post2` and its index rows on the other shards (not measured). */
  insert2(records: readonly RawInsert[]): Promise<void>;
  /** Records only, no index rows, in one statement: W0's table (`plain`), and filling S1's tables. */
  insertRecords(table: string, records: readonly RawInsert[]): Promise<void>;
  close(): Promise<void>;
}

/** The raw side over `store`, with `preload` stored; W0 writes to its table `plain`. */
export async function rawSide(
  store: RawStore,
  config: BenchConfig,
  preload: Preload,
  pick: Picks,
  plain: string,
): Promise<Side> {
  const loaded: { id: string; value: BenchPost; version: number }[] = [];
  for (const part of preloadChunks(preload, config.batch)) {
    await store.insert(part);
    await store.insert2(part);
    for (const record of part) loaded.push({ ...record, version: 1 });
  }
  let next = preload.ids.length; // the number of the next new document
  const fresh = () => ({ id: uuidv7(), value: benchPost(next++) });
  return {
    name: 'raw',
    ops: {
      W0: () => store.insertRecords(plain, [fresh()]),
      W1: () => store.insert([fresh()]),
      W2: () => store.insert(Array.from({ length: config.batch }, fresh)),
      async W3() {
        const record = loaded[pick.index()]!;
        const value = { ...record.value, time: TIME_BASE + next++, edits: record.value.edits + 1 };
        sanityCheck(await store.update(record.id, record.version, value, record.value.time), 'update');
        record.value = value;
        record.version++;
      },
      async R1() {
        const id = pick.id();
        sanityCheck(inOrder([id], await store.read([id]))[0] !== undefined, 'get');
      },
      async R2() {
        const ids = pick.ids(config.many);
        sanityCheck(
          inOrder(ids, await store.read(ids)).every((r) => r !== undefined),
          'getMany',
        );
      },
      async Q1() {
        const found = (await store.range(pick.rangeStart(), config.range)).map(decode);
        sanityCheck(found.length === config.range, 'range');
      },
      async Q2() {
        const from = pick.rangeStart();
        const shards = Array.from({ length: store.otherShards }, (_, s) => s);
        const lists = await Promise.all(shards.map((s) => store.rangeOther(s, from, config.range)));
        const ids = mergeHits(lists, config.range).map((hit) => hit.id);
        const found = inOrder(ids, await store.read2(ids));
        sanityCheck(
          found.length === config.range && found.every((r) => r !== undefined),
          'range, other shards',
        );
      },
    },
    close: () => store.close(),
  };
}
