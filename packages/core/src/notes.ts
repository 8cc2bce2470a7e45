/**
 * The durable note a write leaves on its record row: the index rows still to
 * remove (and, in `async` mode, to add), finished after the commit by the
 * writer or by `drain()`. A later writer merges an unfinished note into its
 * own, so no work is ever dropped.
 */
import { decodeValue, encodeValue } from './cursor.js';
import type { Index, RowValues } from './secondary-index.js';

/** Index rows per index, in the entity's index order. */
export type RowsByIndex = RowValues[][];

/** What a write still has to do to the indices, tagged with the record version that owns it. */
export interface Note {
  /** Rows to delete where their tag is not newer than the record's version. */
  readonly remove: RowsByIndex;
  /** Rows to write with the record's version (async mode only). */
  readonly add: RowsByIndex;
  /**
   * Positions (in the entity's strategy) of the record replicas still to
   * receive this version as a copy ("apply if newer"); absent or empty
   * without replicas.
   */
  readonly copies?: readonly number[];
}

/** True when a note holds no work. */
export function isEmpty(note: Note): boolean {
  return (
    note.remove.every((rows) => rows.length === 0) &&
    note.add.every((rows) => rows.length === 0) &&
    (note.copies?.length ?? 0) === 0
  );
}

/** An empty list per index. */
export function noRows(indices: readonly Index<any, any>[]): RowsByIndex {
  return indices.map(() => []);
}

/**
 * The note's stored text: `{"r":{index:[[values…]…]},"a":{…},"c":[positions]}` with values as
 * JSON ({@link encodeValue}), by index name, so that a note survives a change
 * of the entity's indices (rows of an index that is gone are dropped).
 * `undefined` when there is nothing to do.
 */
export function encodeNote(indices: readonly Index<any, any>[], note: Note): string | undefined {
  if (isEmpty(note)) return undefined;
  const part = (rows: RowsByIndex) => {
    const out: Record<string, unknown[][]> = {};
    indices.forEach((index, i) => {
      const list = rows[i] ?? [];
      if (list.length > 0)
        out[index.name] = list.map((values) => values.map((v, c) => encodeValue(index.columnKinds[c]!, v)));
    });
    return out;
  };
  const text: { r?: object; a?: object; c?: number[] } = {};
  if (note.remove.some((rows) => rows.length > 0)) text.r = part(note.remove);
  if (note.add.some((rows) => rows.length > 0)) text.a = part(note.add);
  if ((note.copies?.length ?? 0) > 0) text.c = [...note.copies!];
  return JSON.stringify(text);
}

/**
 * Reads a stored note for `indices`; rows of other indices, or that no longer
 * fit an index's columns, are dropped. A note that is not waffle's JSON reads
 * as empty (`undefined`, `null` and `''` too).
 */
export function decodeNote(indices: readonly Index<any, any>[], text: string | null | undefined): Note {
  const empty = { remove: noRows(indices), add: noRows(indices) };
  if (!text) return empty;
  let parsed: { r?: Record<string, unknown>; a?: Record<string, unknown>; c?: unknown };
  try {
    parsed = JSON.parse(text);
  } catch {
    return empty;
  }
  const part = (stored: Record<string, unknown> | undefined): RowsByIndex =>
    indices.map((index) => {
      const list = stored?.[index.name];
      if (!Array.isArray(list)) return [];
      const rows: RowValues[] = [];
      for (const entry of list) {
        if (!Array.isArray(entry) || entry.length !== index.columnKinds.length) continue;
        const values = entry.map((v, c) => decodeValue(index.columnKinds[c]!, v));
        if (values.every((v) => v !== undefined)) rows.push(values as RowValues);
      }
      return rows;
    });
  const copies = Array.isArray(parsed?.c)
    ? [...new Set(parsed.c.filter((p): p is number => Number.isSafeInteger(p) && (p as number) >= 0))]
    : [];
  return { remove: part(parsed?.r), add: part(parsed?.a), ...(copies.length > 0 ? { copies } : {}) };
}

/**
 * The index work of a write from a stored version to a new one: `before` are
 * the stored version's rows, `after` the new version's, `pending` the stored
 * version's unfinished note. Rows to add are the new rows not in `before`,
 * and the new rows the pending note had not added yet; rows to remove are the
 * rows of `before` and of the pending note (both halves) that the new version
 * does not produce.
 */
export function planWrite(
  indices: readonly Index<any, any>[],
  before: RowsByIndex,
  after: RowsByIndex,
  pending: Note,
): Note {
  const add: RowsByIndex = [];
  const remove: RowsByIndex = [];
  indices.forEach((index, i) => {
    const has = (list: readonly RowValues[], values: RowValues) => index.includesRow(list, values);
    const old = before[i] ?? [];
    const now = after[i] ?? [];
    const adds = now.filter((values) => !has(old, values) || has(pending.add[i] ?? [], values));
    const removes: RowValues[] = [];
    for (const values of [...old, ...(pending.remove[i] ?? []), ...(pending.add[i] ?? [])]) {
      if (!has(now, values) && !has(removes, values)) removes.push(values);
    }
    add.push(adds);
    remove.push(removes);
  });
  return { add, remove };
}
