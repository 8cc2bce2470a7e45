/**
 * What the shard-contract suites share: fresh table specs, one shard per
 * test with its tables created, record and history rows, and readers of a
 * whole table in a known order.
 */
import { QueryError } from '@waffle/core';
import type {
  ColumnValue,
  Commit,
  EntityTableSpec,
  HistoryRow,
  HistoryTableSpec,
  IndexRow,
  IndexRows,
  IndexTableSpec,
  RecordRow,
  RecordWrite,
  Shard,
  TableSpec,
} from '@waffle/core/adapter';
import { expect } from 'vitest';
import { shardPool } from './fixtures.js';
import { type ConformanceOptions, uniqueName } from './options.js';
import { type IndexColumnTuple, indexTableSpec } from './shard-helpers.js';

/** The longest id core allows: 255 bytes of UTF-8. */
export const LONGEST_ID = `${'é'.repeat(127)}x`;

/** An entity table of its own. */
export function entitySpec(prefix = 'rec'): EntityTableSpec {
  return { kind: 'entity', name: uniqueName(prefix) };
}

/** A history table of its own. */
export function historySpec(prefix = 'hist'): HistoryTableSpec {
  return { kind: 'history', name: uniqueName(prefix) };
}

/** An index table of its own with the given columns. */
export function indexSpec(columns: readonly IndexColumnTuple[], prefix = 'ix'): IndexTableSpec {
  return indexTableSpec(uniqueName(prefix), columns);
}

/** Two index tables of their own: `plain` (k text) and `nullable` (k text, n integer, both nullable). */
export function plainAndNullable(): { plain: IndexTableSpec; nullable: IndexTableSpec } {
  return {
    plain: indexSpec([['k', 'text']]),
    nullable: indexSpec([
      ['k', 'text', true],
      ['n', 'integer', true],
    ]),
  };
}

/** `open(...tables)`: a shard (closed after the test) on which `tables` exist. */
export function contractShard(options: ConformanceOptions): (...tables: TableSpec[]) => Promise<Shard> {
  const open = shardPool(options);
  return async (...tables) => {
    const [shard] = await open(1);
    if (tables.length > 0) await shard!.createTables(tables);
    return shard!;
  };
}

/** A write that inserts `row`. */
export function insert(row: RecordRow): RecordWrite {
  return { row, expected: 0 };
}

/** A write that replaces the record stored at `expected` with `row`. */
export function replace(row: RecordRow, expected: number): RecordWrite {
  return { row, expected };
}

/** A record as a shard reads it back: `note` null when it had none. */
export function stored(row: RecordRow): RecordRow {
  return { ...row, note: row.note ?? null };
}

/** A record as a JOINed index query returns it: without its note, which queries do not need. */
export function joined(row: RecordRow): RecordRow {
  const { note: _note, ...rest } = row;
  return rest;
}

/** A tombstone of `id` at `version` (empty codec and body). */
export function tombstone(id: string, version: number, over: Partial<RecordRow> = {}): RecordRow {
  return { id, version, codec: '', body: '', createdAt: 1000, updatedAt: 3000, ...over };
}

/** The history row of a written record. */
export function versionOf(row: RecordRow): HistoryRow {
  const { id, version, codec, body, createdAt, updatedAt } = row;
  return { id, version, codec, body, createdAt, updatedAt, deleted: codec === '' };
}

/** Inserts `rows` in one commit and checks that every one went in. */
export async function insertAll(
  shard: Shard,
  table: EntityTableSpec,
  rows: readonly RecordRow[],
): Promise<void> {
  expect(await shard.commit({ table, writes: rows.map(insert) })).toEqual(rows.map(() => true));
}

/** The stored records with these ids, by id. */
export async function recordsById(
  shard: Shard,
  table: EntityTableSpec,
  ids: readonly string[],
): Promise<Map<string, RecordRow>> {
  return new Map((await shard.getRecords(table, ids)).map((r) => [r.id, r]));
}

/** Every record of a table (only those with a note when `notes`), in the order scanRecords gives. */
export function scanAll(shard: Shard, table: EntityTableSpec, notes = false): Promise<RecordRow[]> {
  return shard.scanRecords(table, { limit: 1_000_000, notes });
}

/** Every row of an index table, ordered by its columns then by id, ascending. */
export function indexContent(shard: Shard, table: IndexTableSpec): Promise<IndexRow[]> {
  return shard.queryIndex(table, {
    where: undefined,
    orderBy: [
      ...table.columns.map((c) => ({ column: c.name, direction: 'asc' as const })),
      { column: '__id', direction: 'asc' },
    ],
    limit: 1_000_000,
  });
}

/** Fails unless `body` is a plain Uint8Array (not a Buffer or another subclass). */
export function expectPlainBytes(body: unknown, what = 'bytes'): void {
  expect(body, what).toBeInstanceOf(Uint8Array);
  expect(Object.getPrototypeOf(body), `${what} is a plain Uint8Array`).toBe(Uint8Array.prototype);
}

/** The error `promise` rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>, what = 'this call'): Promise<Error> {
  let result: unknown;
  try {
    result = await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error(`expected ${what} to fail, but it returned ${String(result)}`);
}

/** Runs each commit and expects it to fail with a QueryError of `shard` (e.g. onto a missing table). */
export async function expectFailedCommits(shard: Shard, attempts: readonly Commit[]): Promise<void> {
  for (const work of attempts) {
    const error = await rejection(shard.commit(work), 'a commit onto a missing table');
    expect(QueryError.is(error), String(error)).toBe(true);
    expect((error as QueryError).shard).toBe(shard.name);
  }
}

/** Expects the history of each id to hold exactly the versions of the rows given for it. */
export async function expectHistories(
  shard: Shard,
  table: HistoryTableSpec,
  byId: Readonly<Record<string, readonly RecordRow[]>>,
): Promise<void> {
  for (const [id, rows] of Object.entries(byId)) {
    expect(await shard.getHistory(table, id), id).toEqual(rows.map(versionOf));
  }
}

/** An index row as `[id, values, version]`. */
export type RowTuple = readonly [string, readonly ColumnValue[], number];

/** The index rows of `table` given as tuples. */
export function rowsOf(table: IndexTableSpec, ...rows: RowTuple[]): IndexRows {
  return { table, rows: rows.map(([id, values, version]) => ({ id, values, version })) };
}

/** The content of an index table as tuples, ordered by its columns then id. */
export async function tuplesOf(shard: Shard, table: IndexTableSpec): Promise<RowTuple[]> {
  return (await indexContent(shard, table)).map((r) => [r.id, r.values, r.version]);
}
