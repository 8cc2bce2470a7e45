/**
 * The mapping between core's rows and a table's values, the same in every
 * dialect: a text body in `body`, a binary one in `bin`; and the reading of
 * index rows.
 */
import type { ColumnKind, ColumnValue, HistoryRow, IndexRow, RecordRow } from '@waffle/core/adapter';
import { readColumn, type ValueReader } from './values.js';

/**
 * Which record columns a statement selects: all of them (`id, body, bin,
 * codec, version, created_at, updated_at, note`), or, `joined` to index rows,
 * those a query needs (no id, which the index row has, and no note); with
 * `folded`, `body` and `bin` as one column (`coalesce(body, bin)`, a text or
 * a binary value, where the database keeps each value's own type); reads
 * that do not write leave the note out (`note: false`).
 */
export interface RecordLayout {
  readonly joined: boolean;
  readonly folded: boolean;
  /** Whether the note is selected (last). */
  readonly note: boolean;
}

/** All record columns, body and bin apart. */
export const FULL_RECORD: RecordLayout = { joined: false, folded: false, note: true };

/**
 * A record from a row of the layout's columns starting at `at`; `id` is the
 * record id when the layout does not select it. `undefined` for a joined row
 * without a record (its codec, never null in a stored row, is null).
 */
export function decodeRecord(
  row: ArrayLike<unknown>,
  read: ValueReader,
  at = 0,
  layout: RecordLayout = FULL_RECORD,
  id?: string,
): RecordRow {
  let i = at;
  const recordId = layout.joined ? (id as string) : read.text(row[i++]);
  let body: string | Uint8Array;
  if (layout.folded) {
    const value = row[i++];
    body = typeof value === 'string' ? value : read.bytes(value);
  } else {
    const text = row[i++];
    const bin = row[i++];
    body = bin === null || bin === undefined ? read.text(text ?? '') : read.bytes(bin);
  }
  const codec = read.text(row[i++]);
  const version = read.number(row[i++]);
  const createdAt = read.number(row[i++]);
  const updatedAt = read.number(row[i++]);
  if (!layout.note) return { id: recordId, body, codec, version, createdAt, updatedAt };
  const note = row[i];
  return {
    id: recordId,
    body,
    codec,
    version,
    createdAt,
    updatedAt,
    note: note === null || note === undefined ? null : read.text(note),
  };
}

/** A version from a row of `HISTORY_COLUMNS` values. */
export function decodeHistory(row: ArrayLike<unknown>, read: ValueReader): HistoryRow {
  const bin = row[2];
  return {
    id: read.text(row[0]),
    body: bin === null || bin === undefined ? read.text(row[1] ?? '') : read.bytes(bin),
    codec: read.text(row[3]),
    version: read.number(row[4]),
    createdAt: read.number(row[5]),
    updatedAt: read.number(row[6]),
    deleted: read.number(row[7]) !== 0,
  };
}

/** The record columns a write sets, in {@link recordValues} order. */
export const WRITE_COLUMNS: readonly string[] = [
  'id',
  'body',
  'bin',
  'codec',
  'version',
  'created_at',
  'updated_at',
  'note',
  'pending',
];

/** The columns of a history table, in the order {@link decodeHistory} reads them. */
export const HISTORY_COLUMNS = [
  'id',
  'body',
  'bin',
  'codec',
  'version',
  'created_at',
  'updated_at',
  'deleted',
] as const;

/**
 * The values of a record's columns `id, body, bin, codec, version, created_at,
 * updated_at, note, pending`, bytes as the dialect binds them.
 */
export function recordValues(record: RecordRow, bytes: (b: Uint8Array) => unknown): unknown[] {
  const text = typeof record.body === 'string';
  const note = record.note ?? null;
  return [
    record.id,
    text ? record.body : null,
    text ? null : bytes(record.body as Uint8Array),
    record.codec,
    record.version,
    record.createdAt,
    record.updatedAt,
    note,
    note === null ? null : 1,
  ];
}

/** The values of a version's columns `id, body, bin, codec, version, created_at, updated_at, deleted`. */
export function historyValues(row: HistoryRow, bytes: (b: Uint8Array) => unknown): unknown[] {
  const text = typeof row.body === 'string';
  return [
    row.id,
    text ? row.body : null,
    text ? null : bytes(row.body as Uint8Array),
    row.codec,
    row.version,
    row.createdAt,
    row.updatedAt,
    row.deleted ? 1 : 0,
  ];
}

/** An index row from a row of its columns' values (of `kinds`, in order), then its entity id and version. */
export function decodeIndexRow(
  row: ArrayLike<unknown>,
  columns: readonly { readonly kind: ColumnKind }[],
  read: ValueReader,
): IndexRow {
  const n = columns.length;
  const values: ColumnValue[] = new Array(n);
  for (let i = 0; i < n; i++) values[i] = readColumn(read, columns[i]!.kind, row[i]);
  return { id: read.text(row[n]), values, version: read.number(row[n + 1]) };
}
