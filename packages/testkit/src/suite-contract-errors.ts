import { QueryError, ValidationError, WaffleError } from '@waffle/core';
import type { Shard } from '@waffle/core/adapter';
import { describe, expect, it } from 'vitest';
import {
  contractShard,
  entitySpec,
  historySpec,
  indexContent,
  indexSpec,
  insert,
  rejection,
  scanAll,
} from './contract-fixtures.js';
import type { ConformanceOptions } from './options.js';
import { columnRef, indexTableSpec, recordRow } from './shard-helpers.js';

/** Parameters as text, whatever their types (bigints included). */
function shown(params: readonly unknown[]): string {
  return JSON.stringify(params, (_key, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
}

/** Fails unless `error` is a QueryError of `shard`. */
function expectQueryError(error: Error, shard: Shard, what: string): QueryError {
  expect(QueryError.is(error), `${what}: ${String(error)}`).toBe(true);
  expect((error as QueryError).shard, what).toBe(shard.name);
  return error as QueryError;
}

/** Fails unless `error` is a ValidationError. */
function expectValidationError(error: Error, what: string): void {
  expect(ValidationError.is(error), `${what}: ${String(error)}`).toBe(true);
}

/** Failures: QueryError for failed statements, ValidationError for bad input caught before any SQL. */
export function contractErrorSuite(options: ConformanceOptions): void {
  const open = contractShard(options);

  describe('errors', () => {
    it('reports a failing statement as a QueryError with its SQL, parameters, shard name and cause', async () => {
      const shard = await open();
      const missing = entitySpec('missing');
      const error = await rejection(shard.getRecords(missing, ['needle-1', 'needle-2']));
      const q = expectQueryError(error, shard, 'getRecords on a missing table');
      expect(WaffleError.is(q)).toBe(true);
      expect(q.code).toBe('QUERY');
      expect(q.message).toContain(shard.name);
      expect(q.sql).toContain(missing.name);
      expect(shown(q.params)).toContain('needle-1');
      expect(shown(q.params)).toContain('needle-2');
      expect(q.cause, 'the driver error as cause').toBeInstanceOf(Error);
      expect(WaffleError.is(q.cause)).toBe(false);
    });

    it('fails every operation on a table that does not exist with a QueryError', async () => {
      const index = indexSpec([['k', 'text']]);
      const shard = await open(index);
      const table = entitySpec('missing');
      const history = historySpec('missing');
      const absent = indexSpec([['k', 'text']], 'missing');
      const row = { id: 'a', values: ['x'], version: 1 };
      const query = { where: columnRef(absent, 'k').eq('x'), orderBy: [], limit: 5 };
      const calls: [string, () => Promise<unknown>][] = [
        ['getRecords', () => shard.getRecords(table, ['a', 'b'])],
        ['scanRecords', () => shard.scanRecords(table, { limit: 5 })],
        ['scanRecords of notes', () => shard.scanRecords(table, { after: 'a', limit: 5, notes: true })],
        ['commit of an insert', () => shard.commit({ table, writes: [insert(recordRow('a'))] })],
        [
          'commit of an update',
          () => shard.commit({ table, writes: [{ row: recordRow('a', { version: 2 }), expected: 1 }] }),
        ],
        ['clearNotes', () => shard.clearNotes(table, [{ id: 'a', version: 1 }])],
        ['getHistory', () => shard.getHistory(history, 'a')],
        ['putIndexRows', () => shard.putIndexRows(absent, [row])],
        ['deleteIndexRows', () => shard.deleteIndexRows(absent, [row])],
        ['queryIndex', () => shard.queryIndex(absent, query)],
        ['countIndex', () => shard.countIndex(absent, query.where)],
        ['countRows of records', () => shard.countRows(table)],
        ['countRows of index rows', () => shard.countRows(absent)],
        [
          'queryIndex with records',
          () => shard.queryIndex(index, { ...query, where: undefined, records: table }),
        ],
      ];
      for (const [what, call] of calls) expectQueryError(await rejection(call(), what), shard, what);
    });

    it('refuses a null in a column that is not nullable, writing nothing', async () => {
      const index = indexSpec([
        ['k', 'text'],
        ['n', 'integer'],
      ]);
      const shard = await open(index);
      const error = await rejection(
        shard.putIndexRows(index, [
          { id: 'a', values: ['x', 1], version: 1 },
          { id: 'b', values: [null, 2], version: 1 },
        ]),
      );
      expect(QueryError.is(error) || ValidationError.is(error), String(error)).toBe(true);
      expect(await indexContent(shard, index)).toEqual([]);
    });

    it('refuses rows with the wrong number of values with a ValidationError, before any SQL', async () => {
      const table = entitySpec();
      const index = indexSpec([
        ['k', 'text'],
        ['n', 'integer'],
      ]);
      const shard = await open(table, index);
      const never = indexSpec([
        ['k', 'text'],
        ['n', 'integer'],
      ]);
      const short = { id: 'a', values: ['x'], version: 1 };
      const long = { id: 'a', values: ['x', 1, 2], version: 1 };
      const good = { id: 'a', values: ['x', 1], version: 1 };
      // On a table that was never created: any SQL would have failed with a QueryError.
      expectValidationError(await rejection(shard.putIndexRows(never, [short])), 'put, missing table');
      expectValidationError(await rejection(shard.deleteIndexRows(never, [long])), 'delete, missing table');
      expectValidationError(
        await rejection(
          shard.commit({
            table: entitySpec('never'),
            writes: [insert(recordRow('a'))],
            put: [{ table: never, rows: [short] }],
          }),
        ),
        'commit, missing tables',
      );
      expectValidationError(await rejection(shard.putIndexRows(index, [good, long])), 'put');
      expectValidationError(await rejection(shard.deleteIndexRows(index, [short])), 'delete');
      expectValidationError(
        await rejection(
          shard.commit({
            table,
            writes: [insert(recordRow('a'))],
            put: [{ table: index, rows: [good, short] }],
          }),
        ),
        'commit',
      );
      expectValidationError(
        await rejection(
          shard.commit({ table, writes: [insert(recordRow('a'))], delete: [{ table: index, rows: [long] }] }),
        ),
        'commit of deletions',
      );
      expect(await indexContent(shard, index)).toEqual([]);
      expect(await scanAll(shard, table)).toEqual([]);
    });

    it('refuses predicates on unknown columns or of another kind, and unknown order columns', async () => {
      const index = indexSpec([
        ['n', 'integer'],
        ['s', 'text'],
      ]);
      const shard = await open(index);
      await shard.putIndexRows(index, [{ id: 'a', values: [1, 'x'], version: 1 }]);
      const other = indexTableSpec(`${index.name}_other`, [['zzz', 'integer']]);
      const wrongKind = indexTableSpec(index.name, [['n', 'text']]);
      const cases: [string, Parameters<Shard['queryIndex']>[1]][] = [
        ['unknown column', { where: columnRef(other, 'zzz').eq(1), orderBy: [], limit: 5 }],
        ['column of another kind', { where: columnRef(wrongKind, 'n').eq('1'), orderBy: [], limit: 5 }],
        [
          'unknown order column',
          { where: undefined, orderBy: [{ column: 'nope', direction: 'asc' }], limit: 5 },
        ],
      ];
      for (const [what, query] of cases)
        expectValidationError(await rejection(shard.queryIndex(index, query)), what);
      // The shard still answers well-formed queries.
      const hits = await shard.queryIndex(index, {
        where: columnRef(index, 'n').eq(1),
        orderBy: [{ column: 's', direction: 'asc' }],
        limit: 5,
      });
      expect(hits).toEqual([{ id: 'a', values: [1, 'x'], version: 1 }]);
    });
  });
}
