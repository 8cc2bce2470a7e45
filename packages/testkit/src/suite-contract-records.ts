import { compareText, type RecordRow } from '@waffle/core/adapter';
import { describe, expect, it } from 'vitest';
import {
  contractShard,
  entitySpec,
  expectPlainBytes,
  insertAll,
  LONGEST_ID,
  recordsById,
  replace,
  scanAll,
  stored,
} from './contract-fixtures.js';
import type { ConformanceOptions } from './options.js';
import { recordRow } from './shard-helpers.js';

/** Records as stored and read: bodies, times, versions, ids; getRecords and scanRecords. */
export function contractRecordSuite(options: ConformanceOptions): void {
  const open = contractShard(options);

  describe('records', () => {
    it('reads back text records exactly: body, codec, version, times and note (null when absent)', async () => {
      const table = entitySpec();
      const shard = await open(table);
      const rows = [
        recordRow('text', {
          body: '{"title":"héllo 😀 𝒳 \\"q\\" \\\\ \\u0000","n":1}',
          createdAt: 1_700_000_000_123,
          updatedAt: 1_700_000_000_456,
        }),
        recordRow('noted', { note: '{"put":["ix"]} é 😀', version: 7 }),
        recordRow('empty-note', { note: '' }),
        recordRow('big', { version: Number.MAX_SAFE_INTEGER, createdAt: 0, updatedAt: -5 }),
        recordRow('over32', {
          version: 2 ** 31 + 5,
          createdAt: Date.UTC(9999, 11, 31, 23, 59, 59, 999),
          updatedAt: Date.UTC(1, 0, 1),
        }),
        recordRow(LONGEST_ID, { codec: 'superjson', body: ' leading and trailing spaces ' }),
      ];
      await insertAll(shard, table, rows);
      const got = await recordsById(
        shard,
        table,
        rows.map((r) => r.id),
      );
      expect(got.size).toBe(rows.length);
      for (const row of rows) expect(got.get(row.id), row.id).toEqual(stored(row));
      expect(got.get('empty-note')!.note).toBe('');
      expect(await scanAll(shard, table)).toEqual(
        [...rows].sort((a, b) => compareText(a.id, b.id)).map(stored),
      );
    });

    it('returns binary bodies as plain Uint8Arrays, byte for byte; empty bodies keep their kind', async () => {
      const table = entitySpec();
      const shard = await open(table);
      const every = Uint8Array.from({ length: 256 }, (_, i) => i);
      const view = new Uint8Array([9, 1, 2, 3, 9]).subarray(1, 4);
      await insertAll(shard, table, [
        recordRow('every', { codec: 'msgpack', body: every, note: 'n' }),
        recordRow('view', { codec: 'msgpack', body: view }),
        recordRow('empty-bin', { codec: 'msgpack', body: new Uint8Array(0) }),
        recordRow('empty-text', { body: '' }),
      ]);
      const got = await recordsById(shard, table, ['every', 'view', 'empty-bin', 'empty-text']);
      for (const id of ['every', 'view', 'empty-bin']) {
        expectPlainBytes(got.get(id)!.body, id);
        expect(got.get(id)!.codec).toBe('msgpack');
      }
      expect([...(got.get('every')!.body as Uint8Array)]).toEqual([...every]);
      expect([...(got.get('view')!.body as Uint8Array)]).toEqual([1, 2, 3]);
      expect((got.get('empty-bin')!.body as Uint8Array).length).toBe(0);
      expect(got.get('empty-text')!.body).toBe('');
      expect(got.get('every')!.note).toBe('n');
      const scanned = await scanAll(shard, table);
      expectPlainBytes(scanned.find((r) => r.id === 'empty-bin')!.body, 'scanned empty-bin');
      expect(scanned.find((r) => r.id === 'empty-text')!.body).toBe('');
    });

    it('switches a record between text and binary bodies on update', async () => {
      const table = entitySpec();
      const shard = await open(table);
      await insertAll(shard, table, [recordRow('x', { body: 'text' })]);
      const binary = recordRow('x', { version: 2, codec: 'msgpack', body: new Uint8Array([7, 0]) });
      expect(await shard.commit({ table, writes: [replace(binary, 1)] })).toEqual([true]);
      const [asBinary] = await shard.getRecords(table, ['x']);
      expectPlainBytes(asBinary!.body);
      expect(asBinary).toEqual(stored(binary));
      const back = recordRow('x', { version: 3, body: 'back' });
      expect(await shard.commit({ table, writes: [replace(back, 2)] })).toEqual([true]);
      expect(await shard.getRecords(table, ['x'])).toEqual([stored(back)]);
      expect(await scanAll(shard, table)).toEqual([stored(back)]);
    });

    it('keeps ids apart that differ only by case, trailing spaces or normalization', async () => {
      const table = entitySpec();
      const shard = await open(table);
      const ids = ['a', 'a ', 'A', 'a  ', 'á', 'a\u0301'];
      const rows = ids.map((id) => recordRow(id, { body: `body of ${JSON.stringify(id)}` }));
      await insertAll(shard, table, rows);
      for (const row of rows) expect(await shard.getRecords(table, [row.id])).toEqual([stored(row)]);
      expect((await scanAll(shard, table)).map((r) => r.id)).toEqual(['A', 'a', 'a ', 'a  ', 'a\u0301', 'á']);
      const again = await shard.commit({
        table,
        writes: [{ row: recordRow('a ', { body: 'again' }), expected: 0 }],
      });
      expect(again).toEqual([false]);
      expect((await shard.getRecords(table, ['a ']))[0]!.body).toBe('body of "a "');
    });

    it('getRecords leaves missing ids out, gives duplicates once and nothing for no ids', async () => {
      const table = entitySpec();
      const shard = await open(table);
      await insertAll(shard, table, [recordRow('a'), recordRow('b'), recordRow('c')]);
      const got = await shard.getRecords(table, ['b', 'nope', 'a', 'b', 'a']);
      expect(got.map((r) => r.id).sort()).toEqual(['a', 'b']);
      expect(got.find((r) => r.id === 'a')).toEqual(stored(recordRow('a')));
      expect(await shard.getRecords(table, ['nope'])).toEqual([]);
      expect(await shard.getRecords(table, [])).toEqual([]);
    });

    it('getRecords with note: false reads the records without their notes', async () => {
      const table = entitySpec();
      const shard = await open(table);
      const noted = recordRow('noted', { note: 'to do' });
      const binary = recordRow('binary', { codec: 'msgpack', body: new Uint8Array([1, 0, 255]) });
      await insertAll(shard, table, [noted, binary]);
      const { note: _n, ...bare } = noted;
      const { note: _b, ...bareBinary } = binary;
      const rows = await shard.getRecords(table, ['noted', 'binary', 'missing'], { note: false });
      const read = new Map(rows.map((r) => [r.id, r]));
      expect(read.get('noted')).toEqual(bare);
      expect(read.get('binary')).toEqual(bareBinary);
      expect(read.has('missing')).toBe(false);
      expect(await shard.getRecords(table, ['noted'], { note: true })).toEqual([noted]);
    });

    it('getRecords reads more ids than one statement binds', async () => {
      const table = entitySpec();
      const shard = await open(table);
      const n = Math.max(40_000, shard.limits.maxParameters + 1_000);
      const ids = Array.from({ length: n }, (_, i) => `id${i}`);
      const present = ids.filter((_, i) => i % 7 === 0);
      await insertAll(
        shard,
        table,
        present.map((id) => recordRow(id)),
      );
      const got = await shard.getRecords(table, [...ids, 'missing', ids[0]!]);
      expect(got.length).toBe(present.length);
      expect(new Set(got.map((r) => r.id))).toEqual(new Set(present));
      for (const r of got) expect(r.body).toBe(`{"id":${JSON.stringify(r.id)}}`);
    });

    it('scanRecords goes in code point order of ids, paged by after and limit', async () => {
      const table = entitySpec();
      const shard = await open(table);
      // JavaScript's UTF-16 `<` would put U+1F600 before U+E000 and U+FFFD.
      const ids = ['😀', 'a', '\uFFFD', 'B', 'é', 'ab', '\uE000', '_'];
      const order = ['B', '_', 'a', 'ab', 'é', '\uE000', '\uFFFD', '😀'];
      await insertAll(
        shard,
        table,
        ids.map((id) => recordRow(id, { note: id === 'a' ? 'n' : null })),
      );
      expect([...ids].sort(compareText)).toEqual(order);
      const all = await shard.scanRecords(table, { limit: 100 });
      expect(all.map((r) => r.id)).toEqual(order);
      expect(all[2]).toEqual(recordRow('a', { note: 'n' }));
      const pages: string[][] = [];
      let after: string | undefined;
      for (let i = 0; i < 10; i++) {
        const page: RecordRow[] = await shard.scanRecords(
          table,
          after === undefined ? { limit: 3 } : { after, limit: 3 },
        );
        if (page.length === 0) break;
        pages.push(page.map((r) => r.id));
        after = page.at(-1)!.id;
      }
      expect(pages).toEqual([
        ['B', '_', 'a'],
        ['ab', 'é', '\uE000'],
        ['\uFFFD', '😀'],
      ]);
      // `after` need not be a stored id.
      expect((await shard.scanRecords(table, { after: 'aa', limit: 2 })).map((r) => r.id)).toEqual([
        'ab',
        'é',
      ]);
      expect((await shard.scanRecords(table, { after: '\uFFFD', limit: 10 })).map((r) => r.id)).toEqual([
        '😀',
      ]);
      expect(await shard.scanRecords(table, { after: '😀', limit: 10 })).toEqual([]);
    });
  });
}
