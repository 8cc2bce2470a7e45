import { describe, expect, it } from 'vitest';
import {
  contractShard,
  entitySpec,
  expectPlainBytes,
  historySpec,
  insert,
  LONGEST_ID,
  replace,
  tombstone,
  versionOf,
} from './contract-fixtures.js';
import type { ConformanceOptions } from './options.js';
import { recordRow } from './shard-helpers.js';

/** History: the versions commit writes beside records, read by getHistory. */
export function contractHistorySuite(options: ConformanceOptions): void {
  const open = contractShard(options);

  describe('history', () => {
    it('keeps text, binary and tombstone versions, read in version order or one by number', async () => {
      const table = entitySpec();
      const history = historySpec();
      const shard = await open(table, history);
      const v1 = recordRow('a', {
        body: '{"t":"héllo 😀"}',
        createdAt: 1_700_000_000_123,
        updatedAt: 1,
        note: 'n',
      });
      const v2 = recordRow('a', { version: 2, codec: 'msgpack', body: new Uint8Array([0, 1, 254, 255]) });
      const v3 = recordRow('a', { version: 2 ** 31 + 5, body: '', updatedAt: -1 });
      const v4 = tombstone('a', 2 ** 31 + 6, { updatedAt: Date.UTC(9999, 0, 1) });
      const b = recordRow('b', { codec: 'msgpack', body: new Uint8Array(0) });
      const longest = recordRow(LONGEST_ID, { version: 4 });
      expect(
        await shard.commit({ table, writes: [insert(v1), insert(b), insert(longest)], history }),
      ).toEqual([true, true, true]);
      for (const [next, expected] of [
        [v2, 1],
        [v3, 2],
        [v4, 2 ** 31 + 5],
      ] as const) {
        expect(await shard.commit({ table, writes: [replace(next, expected)], history })).toEqual([true]);
      }
      const all = await shard.getHistory(history, 'a');
      expect(all).toEqual([v1, v2, v3, v4].map(versionOf));
      expect(all.map((v) => v.deleted)).toEqual([false, false, false, true]);
      expectPlainBytes(all[1]!.body);
      expect(await shard.getHistory(history, 'a', 2)).toEqual([versionOf(v2)]);
      expect(await shard.getHistory(history, 'a', 2 ** 31 + 6)).toEqual([versionOf(v4)]);
      expect(await shard.getHistory(history, 'a', 3)).toEqual([]);
      const [empty] = await shard.getHistory(history, 'b');
      expect(empty).toEqual(versionOf(b));
      expectPlainBytes(empty!.body);
      expect(await shard.getHistory(history, LONGEST_ID)).toEqual([versionOf(longest)]);
      expect(await shard.getHistory(history, 'A')).toEqual([]);
      expect(await shard.getHistory(history, 'missing')).toEqual([]);
      expect(await shard.getHistory(history, 'missing', 1)).toEqual([]);
    });

    it('keeps the first row of a version written twice, and the commit goes on', async () => {
      const table = entitySpec();
      const history = historySpec();
      const shard = await open(table, history);
      const first = recordRow('a', { body: 'first' });
      expect(await shard.commit({ table, writes: [insert(first)], history })).toEqual([true]);
      // The same version number again: a compare-and-set that happens, whose version row exists.
      const second = recordRow('a', { body: 'second', updatedAt: 5000 });
      expect(await shard.commit({ table, writes: [replace(second, 1)], history })).toEqual([true]);
      const third = recordRow('a', { codec: 'msgpack', body: new Uint8Array([3]) });
      const b = recordRow('b');
      expect(await shard.commit({ table, writes: [insert(b), replace(third, 1)], history })).toEqual([
        true,
        true,
      ]);
      expect(await shard.getRecords(table, ['a'])).toEqual([{ ...third, note: null }]);
      expect(await shard.getHistory(history, 'a')).toEqual([versionOf(first)]);
      expect(await shard.getHistory(history, 'b')).toEqual([versionOf(b)]);
    });
  });
}
