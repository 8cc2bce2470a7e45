import { ValidationError } from '@waffle/core';
import type { Commit, RecordRow, RecordWrite, TableSpec } from '@waffle/core/adapter';
import { describe, expect, it } from 'vitest';
import {
  contractShard,
  entitySpec,
  expectFailedCommits,
  expectHistories,
  historySpec,
  indexSpec,
  insert,
  insertAll,
  plainAndNullable,
  type RowTuple,
  recordsById,
  rejection,
  rowsOf,
  scanAll,
  stored,
  tombstone,
  tuplesOf,
  versionOf,
} from './contract-fixtures.js';
import type { ConformanceOptions } from './options.js';
import { recordRow } from './shard-helpers.js';

/** A write that stores `row` if its id is free or the stored row is older (a replica's copy). */
export function newer(row: RecordRow): RecordWrite {
  return { row, expected: 'older' };
}

/**
 * commit with `'older'` writes ("apply if newer"): inserted where the id is
 * free, replacing a row of a lower version or of the same version and an
 * earlier `updatedAt`, else nothing; index rows and history only of the
 * writes applied; atomic; never mixed with compare-and-sets.
 */
export function contractApplySuite(options: ConformanceOptions): void {
  const open = contractShard(options);
  /** A shard with an entity table of its own holding `rows`, and `tables`. */
  const holding = async (rows: readonly RecordRow[], ...tables: TableSpec[]) => {
    const table = entitySpec();
    const shard = await open(table, ...tables);
    if (rows.length > 0) await insertAll(shard, table, rows);
    return { shard, table };
  };

  describe('commit: apply if newer', () => {
    it('inserts where the id is free, replaces a lower version, leaves a higher one (also alone)', async () => {
      const old = [
        recordRow('low', { version: 3, body: 'stored low', note: 'kept?' }),
        recordRow('high', { version: 9, body: 'stored high' }),
        recordRow('bin', { version: 2, codec: 'msgpack', body: new Uint8Array([9, 9]) }),
      ];
      const { shard, table } = await holding(old);
      const rows = [
        recordRow('new', { version: 5, body: 'copied', note: 'a note' }),
        recordRow('low', { version: 4, body: 'copy of 4', updatedAt: 1 }), // a higher version wins whatever its time
        recordRow('high', { version: 8, body: 'copy of 8', updatedAt: 99_999 }),
        recordRow('bin', { version: 2 ** 40, codec: 'msgpack', body: new Uint8Array([1, 2, 3]) }),
      ];
      expect(await shard.commit({ table, writes: rows.map(newer) })).toEqual([true, true, false, true]);
      expect(await scanAll(shard, table)).toEqual([rows[3]!, old[1]!, rows[1]!, rows[0]!].map(stored));
      // The note is the row's (none here), and pending follows it: only 'new' has one.
      expect((await scanAll(shard, table, true)).map((r) => r.id)).toEqual(['new']);
      // One write alone takes another path in some adapters.
      const alone = (row: RecordRow) => shard.commit({ table, writes: [newer(row)] });
      expect(await alone(recordRow('high', { version: 9, body: 'same time', updatedAt: 2000 }))).toEqual([
        false,
      ]);
      expect(await alone(recordRow('high', { version: 10, body: 'ten', note: 'n10' }))).toEqual([true]);
      expect(await alone(recordRow('fresh', { version: 7 }))).toEqual([true]);
      expect(await alone(recordRow('new', { version: 4, body: 'older copy' }))).toEqual([false]);
      const got = await recordsById(shard, table, ['high', 'fresh', 'new']);
      expect(got.get('high')).toEqual(stored(recordRow('high', { version: 10, body: 'ten', note: 'n10' })));
      expect(got.get('fresh')).toEqual(stored(recordRow('fresh', { version: 7 })));
      expect(got.get('new')).toEqual(stored(rows[0]!));
      expect((await scanAll(shard, table, true)).map((r) => r.id)).toEqual(['high', 'new']);
    });

    it('breaks a tie of versions by updatedAt: an earlier stored time is replaced, a later or equal one stays', async () => {
      const base = { version: 4, updatedAt: 5000, createdAt: 1000 };
      const old = ['earlier', 'later', 'equal'].map((id) =>
        recordRow(id, { ...base, body: `stored ${id}`, note: id === 'equal' ? 'n' : null }),
      );
      const { shard, table } = await holding(old);
      const rows = [
        recordRow('earlier', { ...base, updatedAt: 5001, body: 'copy' }),
        recordRow('later', { ...base, updatedAt: 4999, body: 'copy' }),
        // Equal times: the stored row stays, even with another body (anti-entropy compares bodies).
        recordRow('equal', { ...base, body: 'another body' }),
      ];
      expect(await shard.commit({ table, writes: rows.map(newer) })).toEqual([true, false, false]);
      expect(await scanAll(shard, table)).toEqual([rows[0]!, old[2]!, old[1]!].map(stored));
      for (const row of rows)
        expect(await shard.commit({ table, writes: [newer(row)] }), row.id).toEqual([false]);
    });

    it('writes tombstones like rows: over a lower version, not over a higher one; a higher version replaces a tombstone', async () => {
      const history = historySpec();
      const a3 = recordRow('a', { version: 3, body: 'a3' });
      const deadB = tombstone('b', 5);
      const c9 = recordRow('c', { version: 9 });
      const deadD = tombstone('d', 2, { updatedAt: 3000 });
      const { shard, table } = await holding([a3, deadB, c9, deadD], history);
      const writes = [
        tombstone('a', 4), // over a lower record: applied
        recordRow('b', { version: 6, body: 'b6' }), // over a lower tombstone: applied
        tombstone('c', 8), // under a higher record: not applied
        recordRow('d', { version: 2, updatedAt: 2999 }), // same version, earlier time than the tombstone: not applied
        tombstone('e', 1), // a tombstone of an id never seen: inserted
      ];
      expect(await shard.commit({ table, writes: writes.map(newer), history })).toEqual([
        true,
        true,
        false,
        false,
        true,
      ]);
      expect(await scanAll(shard, table)).toEqual(
        [writes[0]!, writes[1]!, c9, deadD, writes[4]!].map(stored),
      );
      expect(await shard.countRows(table)).toBe(2); // b and c live
      const deleted = await shard.getHistory(history, 'a');
      expect(deleted).toEqual([versionOf(writes[0]!)]);
      expect(deleted[0]).toMatchObject({ deleted: true, codec: '', body: '' });
      await expectHistories(shard, history, { b: [writes[1]!], c: [], d: [], e: [writes[4]!] });
    });

    it('puts and deletes index rows and writes history of the writes applied, and only of those', async () => {
      const table = entitySpec();
      const history = historySpec();
      const { plain, nullable } = plainAndNullable();
      const shard = await open(table, history, plain, nullable);
      const stale = recordRow('stale', { version: 1 });
      const ahead = recordRow('ahead', { version: 5 });
      await shard.commit({
        table,
        writes: [insert(stale), insert(ahead)],
        put: [
          rowsOf(plain, ['stale', ['stale-1'], 1], ['ahead', ['ahead-5'], 5]),
          rowsOf(nullable, ['stale', [null, 1], 1]),
        ],
      });
      const stale2 = recordRow('stale', { version: 2, body: 'stale 2' });
      const fresh = recordRow('fresh', { version: 3, note: 'fresh' });
      const behind = recordRow('ahead', { version: 4, body: 'behind' });
      const result = await shard.commit({
        table,
        writes: [newer(stale2), newer(behind), newer(fresh)],
        put: [
          rowsOf(plain, ['stale', ['stale-2'], 2], ['ahead', ['ahead-4'], 4], ['fresh', ['fresh'], 3]),
          rowsOf(
            nullable,
            ['stale', [null, 2], 2],
            ['ahead', ['ahead', null], 4],
            ['fresh', [null, null], 3],
          ),
        ],
        delete: [
          // The row of 'ahead' stays: its write is not applied.
          rowsOf(plain, ['stale', ['stale-1'], 2], ['ahead', ['ahead-5'], 6]),
          rowsOf(nullable, ['stale', [null, 1], 2]),
        ],
        history,
      });
      expect(result).toEqual([true, false, true]);
      expect(await scanAll(shard, table)).toEqual([ahead, fresh, stale2].map(stored));
      expect(await tuplesOf(shard, plain)).toEqual([
        ['ahead', ['ahead-5'], 5],
        ['fresh', ['fresh'], 3],
        ['stale', ['stale-2'], 2],
      ]);
      expect(await tuplesOf(shard, nullable)).toEqual([
        ['fresh', [null, null], 3],
        ['stale', [null, 2], 2],
      ]);
      await expectHistories(shard, history, { stale: [stale2], fresh: [fresh], ahead: [] });
      // Nothing applied: nothing written, no rows, no history.
      const none = await shard.commit({
        table,
        writes: [newer(recordRow('ahead', { version: 5, updatedAt: 1 }))],
        put: [rowsOf(plain, ['ahead', ['never'], 5])],
        delete: [rowsOf(plain, ['ahead', ['ahead-5'], 6])],
        history,
      });
      expect(none).toEqual([false]);
      expect((await tuplesOf(shard, plain)).map(([id]) => id)).toEqual(['ahead', 'fresh', 'stale']);
      await expectHistories(shard, history, { ahead: [] });
    });

    it('commits 500 writes of every outcome in one commit, with index rows and history, results in order', async () => {
      const table = entitySpec();
      const history = historySpec();
      const index = indexSpec([['n', 'integer']]);
      const shard = await open(table, history, index);
      const n = 500;
      const id = (i: number) => `r${String(i).padStart(4, '0')}`;
      // Outcome by i % 5: 0 absent, 1 stored lower, 2 stored higher, 3 same version earlier time, 4 same version same time.
      const rows = Array.from({ length: n }, (_, i) =>
        recordRow(id(i), {
          version: 10,
          updatedAt: 50_000,
          note: i % 7 === 0 ? `n${i}` : null,
          ...(i % 2 === 0
            ? { body: `{"n":${i}}` }
            : { codec: 'msgpack', body: new Uint8Array([i & 255, i >> 8]) }),
        }),
      );
      const storedBefore = (i: number): RecordRow | undefined => {
        const kind = i % 5;
        if (kind === 0) return undefined;
        const version = kind === 1 ? 9 : kind === 2 ? 11 : 10;
        const updatedAt = kind === 3 ? 49_999 : 50_000;
        return recordRow(id(i), { version, updatedAt, body: `before ${i}` });
      };
      const applies = (i: number) => i % 5 <= 1 || i % 5 === 3;
      const old = rows.map((_, i) => storedBefore(i)).filter((r): r is RecordRow => r !== undefined);
      await shard.commit({
        table,
        writes: old.map(insert),
        put: [{ table: index, rows: old.map((r) => ({ id: r.id, values: [-1], version: r.version })) }],
      });
      // Shuffled, so that results must follow the writes, not the ids.
      const order = rows.map((_, i) => (i * 211) % n);
      expect(new Set(order).size).toBe(n);
      const result = await shard.commit({
        table,
        writes: order.map((i) => newer(rows[i]!)),
        put: [{ table: index, rows: order.map((i) => ({ id: id(i), values: [i], version: 10 })) }],
        delete: [{ table: index, rows: order.map((i) => ({ id: id(i), values: [-1], version: 10 })) }],
        history,
      });
      expect(result).toEqual(order.map(applies));
      const all = await scanAll(shard, table);
      expect(all.length).toBe(n);
      all.forEach((r, i) => {
        expect(r, r.id).toEqual(stored(applies(i) ? rows[i]! : storedBefore(i)!));
      });
      expect((await scanAll(shard, table, true)).map((r) => r.id)).toEqual(
        rows.filter((r, i) => applies(i) && r.note !== null).map((r) => r.id),
      );
      // The old row (-1) is deleted where its tag is older than 10 and the write applied; the new one put where it applied.
      const expected: RowTuple[] = [];
      for (let i = 0; i < n; i++) {
        const old = storedBefore(i);
        if (old && !(applies(i) && old.version < 10)) expected.push([id(i), [-1], old.version]);
      }
      for (let i = 0; i < n; i++) if (applies(i)) expected.push([id(i), [i], 10]);
      expect(await tuplesOf(shard, index)).toEqual(expected);
      for (let i = 0; i < 10; i++) {
        const expectedHistory = applies(i) ? [versionOf(rows[i]!)] : [];
        expect(await shard.getHistory(history, id(i)), id(i)).toEqual(expectedHistory);
      }
    });

    it('is atomic: a commit that fails (an index or history table missing) writes nothing', async () => {
      const history = historySpec();
      const index = indexSpec([['k', 'text']]);
      const never = indexSpec([['k', 'text']], 'never');
      const x1 = recordRow('x', { note: 'x' });
      const { shard, table } = await holding([x1], history, index);
      const x2 = recordRow('x', { version: 2, body: 'x2' });
      const attempts: Commit[] = [
        {
          table,
          writes: [newer(x2), newer(recordRow('a'))],
          put: [rowsOf(index, ['a', ['a'], 1]), rowsOf(never, ['x', ['x2'], 2])],
          history,
        },
        {
          table,
          writes: [newer(x2)],
          put: [rowsOf(index, ['x', ['x2'], 2])],
          delete: [rowsOf(never, ['x', ['x'], 2])],
          history,
        },
        {
          table,
          writes: [newer(recordRow('b'))],
          put: [rowsOf(index, ['b', ['b'], 1])],
          history: historySpec('never'),
        },
      ];
      await expectFailedCommits(shard, attempts);
      expect(await scanAll(shard, table)).toEqual([stored(x1)]);
      expect(await tuplesOf(shard, index)).toEqual([]);
      await expectHistories(shard, history, { a: [], b: [], x: [] });
    });

    it("refuses, before any SQL, a commit that mixes 'older' writes with others, or repeats an id", async () => {
      const index = indexSpec([['k', 'text']]);
      const { shard, table } = await holding([recordRow('x')], index);
      const put = [rowsOf(index, ['a', ['a'], 1])];
      const refused: [string, RecordWrite[]][] = [
        ['an insert and an older write', [insert(recordRow('a')), newer(recordRow('b'))]],
        [
          'a compare-and-set and an older write',
          [newer(recordRow('a')), { row: recordRow('x', { version: 2 }), expected: 1 }],
        ],
        ['an id twice', [newer(recordRow('a')), newer(recordRow('a', { version: 2 }))]],
      ];
      for (const [what, writes] of refused) {
        const error = await rejection(shard.commit({ table, writes, put }), what);
        expect(ValidationError.is(error), `${what}: ${String(error)}`).toBe(true);
      }
      expect(await scanAll(shard, table)).toEqual([stored(recordRow('x'))]);
      expect(await tuplesOf(shard, index)).toEqual([]);
    });

    it('lets concurrent copies of one record end at the highest, with history of exactly the writes applied', async () => {
      const table = entitySpec();
      const history = historySpec();
      const index = indexSpec([['n', 'integer']]);
      const shard = await open(table, history, index);
      const versions = [3, 7, 1, 8, 5, 2, 6, 4];
      const results = await Promise.all(
        versions.map((v) =>
          shard.commit({
            table,
            writes: [newer(recordRow('x', { version: v, body: `v${v}` }))],
            put: [{ table: index, rows: [{ id: 'x', values: [v], version: v }] }],
            history,
          }),
        ),
      );
      const applied = versions.filter((_, i) => results[i]![0]);
      expect(applied).toContain(8);
      expect(await scanAll(shard, table)).toEqual([stored(recordRow('x', { version: 8, body: 'v8' }))]);
      expect((await shard.getHistory(history, 'x')).map((h) => h.version)).toEqual(
        [...applied].sort((a, b) => a - b),
      );
      expect((await tuplesOf(shard, index)).map(([, [n]]) => n)).toEqual([...applied].sort((a, b) => a - b));
    });
  });
}
