/**
 * What the raw sides of all dialects do alike, in plain code: decode rows,
 * put them in the order asked, merge index hits from several shards, and pick
 * the index shard of a record.
 */
import type { BenchPost } from '../workload/document.js';

/** A stored record as a raw client reads it. */
export interface RawRow {
  readonly id: string;
  readonly body: string;
  readonly version: number;
  /** Milliseconds since the epoch, as stored. */
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A decoded record. */
export interface RawRecord {
  readonly id: string;
  readonly value: BenchPost;
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** Decodes a row into what waffle returns of a record: its JSON body parsed, its times as Dates. */
export function decode(row: RawRow): RawRecord {
  return {
    id: row.id,
    value: JSON.parse(row.body) as BenchPost,
    version: row.version,
    createdAt: new Date(row.createdAt),
    updatedAt: new Date(row.updatedAt),
  };
}

/** The decoded records of `rows` in the order of `ids` (undefined where missing), as getMany returns them. */
export function inOrder(ids: readonly string[], rows: readonly RawRow[]): (RawRecord | undefined)[] {
  const byId = new Map(rows.map((r) => [r.id, decode(r)]));
  return ids.map((id) => byId.get(id));
}

/** An index row: the indexed time and the record's id. */
export interface IndexHit {
  readonly time: number;
  readonly id: string;
}

/** The first `limit` hits of several shards' ordered lists, in (time, id) order. */
export function mergeHits(lists: readonly (readonly IndexHit[])[], limit: number): IndexHit[] {
  return lists
    .flat()
    .sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, limit);
}

/** The shard (of `shards`) of the index rows of record `id`: any stable spread will do for the raw side. */
export function shardOf(id: string, shards: number): number {
  let hash = 2166136261;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 16777619);
  return (hash >>> 0) % shards;
}

/** `count` comma-separated copies of `item(i)`. */
export function list(count: number, item: (i: number) => string): string {
  return Array.from({ length: count }, (_, i) => item(i)).join(', ');
}

/** `id = ?` for one id (R1), `id IN (?, …)` for more (R2), with the dialect's `placeholder(i)`. */
export function idCondition(count: number, placeholder: (i: number) => string): string {
  return count === 1 ? `id = ${placeholder(0)}` : `id IN (${list(count, placeholder)})`;
}
