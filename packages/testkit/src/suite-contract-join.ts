import type { IndexHit, RecordRow } from '@waffle/core/adapter';
import { describe, expect, it } from 'vitest';
import {
  contractShard,
  entitySpec,
  expectPlainBytes,
  indexSpec,
  insertAll,
  joined,
  tombstone,
} from './contract-fixtures.js';
import type { ConformanceOptions } from './options.js';
import { columnRef, recordRow } from './shard-helpers.js';

/** queryIndex with `records`: each hit with its stored record, or null. */
export function contractJoinSuite(options: ConformanceOptions): void {
  const open = contractShard(options);

  describe('index queries with their records', () => {
    it('gives each hit its record (without its note): null where there is none, tombstones as stored', async () => {
      const table = entitySpec();
      const index = indexSpec([['n', 'integer']]);
      const shard = await open(table, index);
      const a = recordRow('a', { body: '{"n":1}', note: 'put n' });
      const upper = recordRow('A', { body: 'not a' });
      const b = recordRow('b', { codec: 'msgpack', body: new Uint8Array([0, 2, 255]), version: 4 });
      const dead = tombstone('t', 2);
      const empty = recordRow('e', { codec: 'msgpack', body: new Uint8Array(0) });
      await insertAll(shard, table, [a, upper, b, dead, empty]);
      await shard.putIndexRows(index, [
        { id: 'a', values: [1], version: 1 },
        { id: 'b', values: [2], version: 4 },
        { id: 'c', values: [3], version: 1 }, // no record
        { id: 't', values: [4], version: 1 },
        { id: 'a', values: [5], version: 1 }, // a second row of one record
        { id: 'e', values: [6], version: 1 },
        { id: 'a ', values: [7], version: 1 }, // no record either: ids are exact
      ]);
      const query = (direction: 'asc' | 'desc', where = columnRef(index, 'n').gte(1), limit = 100) =>
        shard.queryIndex(index, {
          where,
          orderBy: [
            { column: 'n', direction },
            { column: '__id', direction },
          ],
          limit,
          records: table,
        });
      const hit = (id: string, n: number, version: number, record: RecordRow | null): IndexHit => ({
        id,
        values: [n],
        version,
        record: record && joined(record),
      });
      const all = [
        hit('a', 1, 1, a),
        hit('b', 2, 4, b),
        hit('c', 3, 1, null),
        hit('t', 4, 1, dead),
        hit('a', 5, 1, a),
        hit('e', 6, 1, empty),
        hit('a ', 7, 1, null),
      ];
      const got = await query('asc');
      expect(got).toEqual(all);
      expect(got.filter((h) => h.record === null).map((h) => h.id)).toEqual(['c', 'a ']);
      expectPlainBytes(got[1]!.record!.body, 'joined binary body');
      expectPlainBytes(got[5]!.record!.body, 'joined empty binary body');
      expect(await query('desc')).toEqual([...all].reverse());
      expect(await query('asc', columnRef(index, 'n').between(2, 4), 2)).toEqual(all.slice(1, 3));
      // Without `records`, the hits are the index rows alone.
      const rows = await shard.queryIndex(index, {
        where: undefined,
        orderBy: [{ column: 'n', direction: 'asc' }],
        limit: 1,
      });
      expect(rows).toEqual([{ id: 'a', values: [1], version: 1 }]);
      expect(rows[0]!.record ?? null).toBeNull();
    });
  });
}
