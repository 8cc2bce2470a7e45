/**
 * The mapping between core's {@link RecordRow} and an entity table's row,
 * the same in every dialect: a text body in `body`, a binary one in `bin`;
 * and the reading of index rows.
 */
import type { ColumnKind, HistoryRow, IndexRow, RecordRow } from '@waffle/core';
import { readColumn, type ValueReader } from './values.js';

/** The record columns of an entity table, in the order {@link decodeRecord} reads them. */
export const RECORD_COLUMNS = [
  'id',
  'body',
  'bin',
  'codec',
  'version',
  'createdAt',
  'updatedAt',
  'note',
] as const;

/** An entity table's record columns, by name. */
export type RecordColumns<C> = Readonly<Record<(typeof RECORD_COLUMNS)[number], C>>;

/** An entity table's row of a record, by column (a type, so that it is a plain record of values). */
export type RecordValues = {
  id: string;
  body: string | null;
  bin: Uint8Array | null;
  codec: string;
  version: number;
  createdAt: number;
  updatedAt: number;
  note: string | null;
  /** 1 while `note` is set, else null: the first column of the index that finds notes. */
  pending: number | null;
};

/** The entries of `keys` in `t`, in the order of `keys` (a select list's order). */
function pick<K extends string, C>(t: Readonly<Record<K, C>>, keys: readonly K[]): Record<K, C> {
  const out = {} as Record<K, C>;
  for (const key of keys) out[key] = t[key];
  return out;
}

/** The selection of an entity table's columns that {@link decodeRecord} reads. */
export function recordSelection<C>(t: RecordColumns<C>): RecordColumns<C> {
  return pick(t, RECORD_COLUMNS);
}

/** A record from a row of {@link recordSelection}'s values, in that order. */
export function decodeRecord(
  row: ArrayLike<unknown>,
  read: Pick<ValueReader, 'number' | 'text' | 'bytes'>,
): RecordRow {
  const bin = row[2];
  return {
    id: read.text(row[0]),
    body: bin === null || bin === undefined ? read.text(row[1] ?? '') : read.bytes(bin),
    codec: read.text(row[3]),
    version: read.number(row[4]),
    createdAt: read.number(row[5]),
    updatedAt: read.number(row[6]),
    note: row[7] === null || row[7] === undefined ? null : read.text(row[7]),
  };
}

/** A record's row. */
export function recordValues(record: RecordRow): RecordValues {
  const text = typeof record.body === 'string';
  return {
    id: record.id,
    body: text ? (record.body as string) : null,
    bin: text ? null : (record.body as Uint8Array),
    codec: record.codec,
    version: record.version,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    note: record.note ?? null,
    pending: record.note == null ? null : 1,
  };
}

/** The columns of a history table, in the order {@link decodeHistory} reads them. */
export const HISTORY_COLUMNS = [
  'id',
  'body',
  'bin',
  'codec',
  'version',
  'createdAt',
  'updatedAt',
  'deleted',
] as const;

/** A history table's columns, by name. */
export type HistoryColumns<C> = Readonly<Record<(typeof HISTORY_COLUMNS)[number], C>>;

/** A history table's row of one version, by column: a record's, without the note. */
export type HistoryValues = Omit<RecordValues, 'note' | 'pending'> & {
  /** 1 for a tombstone, else 0. */
  deleted: number;
};

/** The selection of a history table's columns that {@link decodeHistory} reads. */
export function historySelection<C>(t: HistoryColumns<C>): HistoryColumns<C> {
  return pick(t, HISTORY_COLUMNS);
}

/** A version from a row of {@link historySelection}'s values, in that order. */
export function decodeHistory(
  row: ArrayLike<unknown>,
  read: Pick<ValueReader, 'number' | 'text' | 'bytes'>,
): HistoryRow {
  const { note: _note, ...record } = decodeRecord([...Array.from(row).slice(0, 7), null], read);
  return { ...record, deleted: read.number(row[7]) !== 0 };
}

/** A version's row. */
export function historyValues(row: HistoryRow): HistoryValues {
  const { note: _note, pending: _pending, ...values } = recordValues(row);
  return { ...values, deleted: row.deleted ? 1 : 0 };
}

/** An index row from a row of its columns' values (of `kinds`, in order), then its entity id and version. */
export function decodeIndexRow(
  row: ArrayLike<unknown>,
  columns: readonly { readonly kind: ColumnKind }[],
  read: ValueReader,
): IndexRow {
  const n = columns.length;
  return {
    id: read.text(row[n]),
    values: columns.map((c, i) => readColumn(read, c.kind, row[i])),
    version: read.number(row[n + 1]),
  };
}
