import type { IndexRow } from '@waffle/core/adapter';
import { describe, expect, it } from 'vitest';
import {
  contractShard,
  entitySpec,
  expectFailedCommits,
  historySpec,
  indexContent,
  indexSpec,
  insert,
  insertAll,
  plainAndNullable,
  recordsById,
  replace,
  scanAll,
  stored,
  tombstone,
  versionOf,
} from './contract-fixtures.js';
import type { ConformanceOptions } from './options.js';
import { recordRow } from './shard-helpers.js';
import { contractApplySuite } from './suite-contract-apply.js';

/** Values bound per record by an insert: the entity table's nine columns. */
const RECORD_VALUES = 9;

/** commit: inserts, compare-and-set, apply if newer, index rows and history of the records written, atomically. */
export function contractCommitSuite(options: ConformanceOptions): void {
  const open = contractShard(options);

  describe('commit', () => {
    it('an insert of an existing id (record or tombstone) is false and leaves the stored row as it was', async () => {
      const table = entitySpec();
      const shard = await open(table);
      const old = [
        recordRow('b', { version: 7, body: 'old b', note: 'kept' }),
        recordRow('d', { version: 2, codec: 'msgpack', body: new Uint8Array([1, 2]) }),
        tombstone('t', 3),
      ];
      await insertAll(shard, table, old);
      const rows = [
        recordRow('a', { body: 'new a' }),
        recordRow('b', { body: 'new b' }),
        recordRow('c', { codec: 'msgpack', body: new Uint8Array([3]), note: 'c' }),
        recordRow('d', { body: 'new d', note: 'new' }),
        recordRow('e'),
        recordRow('t', { body: 'over the tombstone' }),
      ];
      expect(await shard.commit({ table, writes: rows.map(insert) })).toEqual([
        true,
        false,
        true,
        false,
        true,
        false,
      ]);
      // One write alone takes another path in some adapters.
      expect(await shard.commit({ table, writes: [insert(recordRow('b', { body: 'alone' }))] })).toEqual([
        false,
      ]);
      expect(await scanAll(shard, table)).toEqual(
        [rows[0]!, old[0]!, rows[2]!, old[1]!, rows[4]!, old[2]!].map(stored),
      );
    });

    it('replaces a record only where it is stored at the expected version', async () => {
      const table = entitySpec();
      const shard = await open(table);
      const a1 = recordRow('a', { note: 'n1' });
      await insertAll(shard, table, [a1]);
      const a2 = recordRow('a', { version: 2, body: 'v2', updatedAt: 3000 });
      const commit = (...writes: Parameters<typeof replace>[]) =>
        shard.commit({ table, writes: writes.map(([row, expected]) => replace(row, expected)) });
      expect(await commit([a2, 2])).toEqual([false]);
      expect(await commit([a2, 3])).toEqual([false]);
      // A failed compare-and-set changes nothing, the note included.
      expect(await shard.getRecords(table, ['a'])).toEqual([stored(a1)]);
      // The same row again at its own version is a write that happens.
      expect(await commit([a1, 1])).toEqual([true]);
      expect(await commit([a2, 1])).toEqual([true]);
      expect(await shard.getRecords(table, ['a'])).toEqual([stored(a2)]); // the note is gone with the write
      expect(await commit([recordRow('a', { version: 3 }), 1])).toEqual([false]);
      expect(await commit([recordRow('missing', { version: 2 }), 1])).toEqual([false]);
      expect(await shard.getRecords(table, ['missing'])).toEqual([]);
      // Versions may jump; a tombstone is replaced like any record.
      const dead = tombstone('a', 2 ** 40);
      expect(await commit([dead, 2])).toEqual([true]);
      const again = recordRow('a', { version: 2 ** 40 + 1, body: 'again', note: 'n2' });
      expect(await commit([again, 2 ** 40])).toEqual([true]);
      expect(await scanAll(shard, table)).toEqual([stored(again)]);
    });

    it('commits more records than one statement binds, with index rows and history, results in order', async () => {
      const table = entitySpec();
      const history = historySpec();
      const index = indexSpec([['n', 'integer']]);
      const shard = await open(table, history, index);
      const perStatement = Math.floor(shard.limits.maxParameters / RECORD_VALUES);
      const n = 2 * perStatement + 7;
      const rows = Array.from({ length: n }, (_, i) =>
        recordRow(`r${String(i).padStart(6, '0')}`, {
          ...(i % 2 === 0
            ? { body: `{"n":${i}}` }
            : { codec: 'msgpack', body: new Uint8Array([i & 255, i >> 8]) }),
          version: (i % 5) + 1,
          note: i % 3 === 0 ? `n${i}` : null,
        }),
      );
      const taken = new Set([5, perStatement - 1, perStatement, perStatement + 1, 2 * perStatement, n - 1]);
      const earlier = (i: number) => recordRow(rows[i]!.id, { body: 'earlier', version: 9 });
      await insertAll(shard, table, [...taken].map(earlier));
      // Shuffled, so that results must follow the writes, not the ids.
      const order = rows.map((_, i) => (i * 7919) % n);
      expect(new Set(order).size).toBe(n);
      const result = await shard.commit({
        table,
        writes: order.map((i) => insert(rows[i]!)),
        put: [
          {
            table: index,
            rows: order.map((i) => ({ id: rows[i]!.id, values: [i], version: rows[i]!.version })),
          },
        ],
        history,
      });
      expect(result).toEqual(order.map((i) => !taken.has(i)));
      const all = await scanAll(shard, table);
      expect(all.length).toBe(n);
      all.forEach((r, i) => {
        expect(r, r.id).toEqual(stored(taken.has(i) ? earlier(i) : rows[i]!));
      });
      const written = rows.map((r, i) => ({ r, i })).filter(({ i }) => !taken.has(i));
      expect(await indexContent(shard, index)).toEqual(
        written.map(({ r, i }): IndexRow => ({ id: r.id, values: [i], version: r.version })),
      );
      for (const i of [0, 5, perStatement - 1, perStatement, perStatement + 2, 2 * perStatement + 1, n - 1]) {
        const expected = taken.has(i) ? [] : [versionOf(rows[i]!)];
        expect(await shard.getHistory(history, rows[i]!.id), rows[i]!.id).toEqual(expected);
      }
    });

    it('writes index rows and history of the records written, and only of those', async () => {
      const table = entitySpec();
      const history = historySpec();
      const { plain, nullable } = plainAndNullable();
      const shard = await open(table, history, plain, nullable);
      const w1 = recordRow('w');
      const x1 = recordRow('x');
      const y3 = recordRow('y', { version: 3 });
      expect(
        await shard.commit({
          table,
          writes: [insert(w1), insert(x1), insert(y3)],
          put: [
            {
              table: plain,
              rows: [
                { id: 'w', values: ['w-old'], version: 1 },
                { id: 'y', values: ['y-old'], version: 3 },
              ],
            },
            { table: nullable, rows: [{ id: 'w', values: [null, 1], version: 1 }] },
          ],
        }),
      ).toEqual([true, true, true]);
      await shard.putIndexRows(plain, [
        { id: 'w', values: ['w-newer'], version: 9 },
        { id: 'w', values: ['w-tag'], version: 9 },
      ]);
      const a = recordRow('a', { note: 'a' });
      const w2 = recordRow('w', { version: 2, body: 'w2' });
      const result = await shard.commit({
        table,
        writes: [
          insert(a),
          insert(recordRow('x', { body: 'taken' })),
          replace(recordRow('y', { version: 3, body: 'lost' }), 2),
          replace(recordRow('z', { version: 2 }), 1),
          replace(w2, 1),
        ],
        put: [
          {
            table: plain,
            rows: [
              { id: 'a', values: ['a'], version: 1 },
              { id: 'x', values: ['x'], version: 1 },
              { id: 'y', values: ['y-new'], version: 3 },
              { id: 'z', values: ['z'], version: 2 },
              { id: 'w', values: ['w-new'], version: 2 },
              { id: 'w', values: ['w-tag'], version: 2 }, // the stored tag 9 is larger: kept
            ],
          },
          {
            table: nullable,
            rows: [
              { id: 'a', values: [null, null], version: 1 },
              { id: 'x', values: ['x', null], version: 1 },
              { id: 'w', values: [null, 2], version: 2 },
            ],
          },
        ],
        delete: [
          {
            table: plain,
            rows: [
              { id: 'w', values: ['w-old'], version: 2 },
              { id: 'w', values: ['w-newer'], version: 2 }, // stored at 9: not older, kept
              { id: 'y', values: ['y-old'], version: 4 }, // y was not written: kept
            ],
          },
          { table: nullable, rows: [{ id: 'w', values: [null, 1], version: 2 }] },
        ],
        history,
      });
      expect(result).toEqual([true, false, false, false, true]);
      expect(await indexContent(shard, plain)).toEqual([
        { id: 'a', values: ['a'], version: 1 },
        { id: 'w', values: ['w-new'], version: 2 },
        { id: 'w', values: ['w-newer'], version: 9 },
        { id: 'w', values: ['w-tag'], version: 9 },
        { id: 'y', values: ['y-old'], version: 3 },
      ]);
      expect(await indexContent(shard, nullable)).toEqual([
        { id: 'a', values: [null, null], version: 1 },
        { id: 'w', values: [null, 2], version: 2 },
      ]);
      expect(await shard.getHistory(history, 'a')).toEqual([versionOf(a)]);
      expect(await shard.getHistory(history, 'w')).toEqual([versionOf(w2)]);
      for (const id of ['x', 'y', 'z']) expect(await shard.getHistory(history, id), id).toEqual([]);
      expect(await scanAll(shard, table)).toEqual([a, w2, x1, y3].map(stored));
    });

    it('is atomic: a commit that fails (an index or history table missing) writes nothing', async () => {
      const table = entitySpec();
      const history = historySpec();
      const index = indexSpec([['k', 'text']]);
      const never = indexSpec([['k', 'text']], 'never');
      const noHistory = historySpec('never');
      const shard = await open(table, history, index);
      const x1 = recordRow('x', { note: 'x' });
      await insertAll(shard, table, [x1]);
      const attempts = [
        // Records inserted, rows put on a table that was never created.
        {
          table,
          writes: [insert(recordRow('a')), insert(recordRow('b'))],
          put: [
            { table: index, rows: [{ id: 'a', values: ['a'], version: 1 }] },
            { table: never, rows: [{ id: 'b', values: ['b'], version: 1 }] },
          ],
          history,
        },
        // A compare-and-set, rows deleted from a missing table.
        {
          table,
          writes: [replace(recordRow('x', { version: 2, body: 'x2' }), 1), insert(recordRow('c'))],
          put: [{ table: index, rows: [{ id: 'x', values: ['x2'], version: 2 }] }],
          delete: [{ table: never, rows: [{ id: 'x', values: ['x'], version: 2 }] }],
          history,
        },
        // History into a table that was never created.
        {
          table,
          writes: [insert(recordRow('d'))],
          put: [{ table: index, rows: [{ id: 'd', values: ['d'], version: 1 }] }],
          history: noHistory,
        },
      ];
      await expectFailedCommits(shard, attempts);
      expect(await scanAll(shard, table)).toEqual([stored(x1)]);
      expect(await indexContent(shard, index)).toEqual([]);
      for (const id of ['a', 'b', 'c', 'd', 'x']) expect(await shard.getHistory(history, id)).toEqual([]);
    });

    it('writes tombstones like records; their history versions are deleted', async () => {
      const table = entitySpec();
      const history = historySpec();
      const index = indexSpec([['k', 'text']]);
      const shard = await open(table, history, index);
      const a1 = recordRow('a', { body: '{"k":"one"}' });
      const row = (version: number) => ({ table: index, rows: [{ id: 'a', values: ['one'], version }] });
      expect(await shard.commit({ table, writes: [insert(a1)], put: [row(1)], history })).toEqual([true]);
      const dead = tombstone('a', 2, { createdAt: a1.createdAt });
      expect(await shard.commit({ table, writes: [replace(dead, 1)], delete: [row(2)], history })).toEqual([
        true,
      ]);
      expect(await shard.getRecords(table, ['a'])).toEqual([stored(dead)]);
      expect(await indexContent(shard, index)).toEqual([]);
      const a3 = recordRow('a', { version: 3, body: '{"k":"one"}' });
      expect(await shard.commit({ table, writes: [replace(a3, 2)], put: [row(3)], history })).toEqual([true]);
      const versions = await shard.getHistory(history, 'a');
      expect(versions).toEqual([versionOf(a1), versionOf(dead), versionOf(a3)]);
      expect(versions.map((v) => v.deleted)).toEqual([false, true, false]);
      expect(versions[1]).toMatchObject({ codec: '', body: '' });
      expect(await indexContent(shard, index)).toEqual([{ id: 'a', values: ['one'], version: 3 }]);
    });

    it('lets exactly one of concurrent commits of the same record win, with only its rows and history', async () => {
      const table = entitySpec();
      const history = historySpec();
      const index = indexSpec([['n', 'integer']]);
      const shard = await open(table, history, index);
      const writers = Array.from({ length: 8 }, (_, i) => i);
      const first = await Promise.all(
        writers.map((i) =>
          shard.commit({
            table,
            writes: [insert(recordRow('x', { body: `by ${i}` }))],
            put: [{ table: index, rows: [{ id: 'x', values: [i], version: 1 }] }],
            history,
          }),
        ),
      );
      const winner = first.findIndex(([ok]) => ok);
      expect(first.filter(([ok]) => ok).length).toBe(1);
      expect(await indexContent(shard, index)).toEqual([{ id: 'x', values: [winner], version: 1 }]);
      const [stored1] = await shard.getRecords(table, ['x']);
      expect(stored1!.body).toBe(`by ${winner}`);
      const second = await Promise.all(
        writers.map((i) =>
          shard.commit({
            table,
            writes: [replace(recordRow('x', { version: 2, body: `then ${i}` }), 1)],
            put: [{ table: index, rows: [{ id: 'x', values: [100 + i], version: 2 }] }],
            delete: [{ table: index, rows: [{ id: 'x', values: [winner], version: 2 }] }],
            history,
          }),
        ),
      );
      const next = second.findIndex(([ok]) => ok);
      expect(second.filter(([ok]) => ok).length).toBe(1);
      expect(await indexContent(shard, index)).toEqual([{ id: 'x', values: [100 + next], version: 2 }]);
      expect((await shard.getHistory(history, 'x')).map((v) => v.body)).toEqual([
        `by ${winner}`,
        `then ${next}`,
      ]);
    });

    it('does nothing for empty lists', async () => {
      const table = entitySpec();
      const index = indexSpec([['k', 'text']]);
      const shard = await open(table, index);
      await insertAll(shard, table, [recordRow('a', { note: 'n' })]);
      expect(await shard.commit({ table, writes: [] })).toEqual([]);
      expect(
        await shard.commit({ table, writes: [insert(recordRow('b'))], put: [{ table: index, rows: [] }] }),
      ).toEqual([true]);
      expect(await shard.clearNotes(table, [])).toEqual([]);
      await shard.putIndexRows(index, []);
      await shard.deleteIndexRows(index, []);
      expect(await shard.getRecords(table, [])).toEqual([]);
      expect(await recordsById(shard, table, ['a', 'b'])).toEqual(
        new Map([
          ['a', stored(recordRow('a', { note: 'n' }))],
          ['b', stored(recordRow('b'))],
        ]),
      );
      expect(await indexContent(shard, index)).toEqual([]);
    });
  });

  contractApplySuite(options);
}
