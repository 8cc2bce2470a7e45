import type { NoteRef, RecordRow } from '@waffle/core/adapter';
import { describe, expect, it } from 'vitest';
import {
  contractShard,
  entitySpec,
  insertAll,
  recordsById,
  replace,
  scanAll,
  stored,
} from './contract-fixtures.js';
import type { ConformanceOptions } from './options.js';
import { recordRow } from './shard-helpers.js';

/** Values bound per note by clearNotes: id and version. */
const NOTE_VALUES = 2;

/** Record notes: written by commit, found by scanRecords, cleared by clearNotes at their version. */
export function contractNoteSuite(options: ConformanceOptions): void {
  const open = contractShard(options);

  describe('notes', () => {
    it('stores the note a commit writes; an update without one clears it, a failed one keeps it', async () => {
      const table = entitySpec();
      const shard = await open(table);
      const a = recordRow('a', { note: 'index a' });
      const b = recordRow('b');
      const c = recordRow('c', { codec: 'msgpack', body: new Uint8Array([1]), note: 'c' });
      await insertAll(shard, table, [a, b, c]);
      expect((await scanAll(shard, table)).map((r) => [r.id, r.note])).toEqual([
        ['a', 'index a'],
        ['b', null],
        ['c', 'c'],
      ]);
      expect(await scanAll(shard, table, true)).toEqual([stored(a), stored(c)]);
      const a2 = recordRow('a', { version: 2, body: 'a2' });
      const long = `é𝒳"\\${'n'.repeat(100_000)}`;
      const b2 = recordRow('b', { version: 2, note: long });
      const lost = recordRow('c', { version: 6, note: 'lost' });
      expect(
        await shard.commit({ table, writes: [replace(a2, 1), replace(b2, 1), replace(lost, 5)] }),
      ).toEqual([true, true, false]);
      const got = await recordsById(shard, table, ['a', 'b', 'c']);
      expect(got.get('a')).toEqual(stored(a2));
      expect(got.get('b')!.note === long).toBe(true);
      expect(got.get('c')).toEqual(stored(c));
      expect((await scanAll(shard, table, true)).map((r) => r.id)).toEqual(['b', 'c']);
    });

    it('scanRecords with notes gives only records with a note, in code point order, paged by after and limit', async () => {
      const table = entitySpec();
      const shard = await open(table);
      const noted = ['😀', 'a', '\uFFFD', 'B', 'é', '_'];
      const plain = ['A', 'ab', 'z', '\uFFFE'];
      await insertAll(shard, table, [
        ...noted.map((id) => recordRow(id, { note: `note ${id}` })),
        ...plain.map((id) => recordRow(id)),
      ]);
      const all = await scanAll(shard, table, true);
      const order = ['B', '_', 'a', 'é', '\uFFFD', '😀'];
      expect(all).toEqual(order.map((id) => recordRow(id, { note: `note ${id}` })));
      const pages: string[][] = [];
      let after: string | undefined;
      for (let i = 0; i < 10; i++) {
        const page: RecordRow[] = await shard.scanRecords(table, { after, limit: 2, notes: true });
        if (page.length === 0) break;
        pages.push(page.map((r) => r.id));
        after = page.at(-1)!.id;
      }
      expect(pages).toEqual([
        ['B', '_'],
        ['a', 'é'],
        ['\uFFFD', '😀'],
      ]);
      // `after` need not be a noted id, nor a stored one.
      const ids = async (after: string, limit: number) =>
        (await shard.scanRecords(table, { after, limit, notes: true })).map((r) => r.id);
      expect(await ids('ab', 10)).toEqual(['é', '\uFFFD', '😀']);
      expect(await ids('b', 1)).toEqual(['é']);
      expect(await ids('😀', 10)).toEqual([]);
      expect((await scanAll(shard, table)).length).toBe(noted.length + plain.length);
    });

    it('clearNotes clears a note only where the record is at that version, answering each in order', async () => {
      const table = entitySpec();
      const shard = await open(table);
      const a = recordRow('a', { version: 2, codec: 'msgpack', body: new Uint8Array([5, 6]), note: 'n' });
      const b = recordRow('b', { note: 'keep' });
      const c = recordRow('c');
      await insertAll(shard, table, [a, b, c]);
      const clear = (...notes: NoteRef[]) => shard.clearNotes(table, notes);
      expect(
        await clear({ id: 'a', version: 1 }, { id: 'a', version: 3 }, { id: 'missing', version: 1 }),
      ).toEqual([false, false, false]);
      expect(await shard.getRecords(table, ['a'])).toEqual([a]);
      expect(await clear({ id: 'a', version: 2 }, { id: 'b', version: 5 }, { id: 'c', version: 1 })).toEqual([
        true,
        false,
        true,
      ]);
      // Only the note goes: body, version and times stay.
      expect(await recordsById(shard, table, ['a', 'b', 'c'])).toEqual(
        new Map([
          ['a', { ...a, note: null }],
          ['b', b],
          ['c', stored(c)],
        ]),
      );
      // Cleared already, at its version still: true.
      expect(await clear({ id: 'a', version: 2 })).toEqual([true]);
      expect(await clear({ id: 'a', version: 1 })).toEqual([false]);
      expect((await scanAll(shard, table, true)).map((r) => r.id)).toEqual(['b']);
    });

    it('clearNotes answers false for a note a newer write overtook, and leaves the newer note', async () => {
      const table = entitySpec();
      const shard = await open(table);
      await insertAll(shard, table, [recordRow('a', { note: 'first' })]);
      const a2 = recordRow('a', { version: 2, note: 'second' });
      expect(await shard.commit({ table, writes: [replace(a2, 1)] })).toEqual([true]);
      expect(await shard.clearNotes(table, [{ id: 'a', version: 1 }])).toEqual([false]);
      expect(await scanAll(shard, table, true)).toEqual([a2]);
      expect(await shard.clearNotes(table, [{ id: 'a', version: 2 }])).toEqual([true]);
      expect(await scanAll(shard, table, true)).toEqual([]);
      expect(await shard.getRecords(table, ['a'])).toEqual([{ ...a2, note: null }]);
    });

    it('clearNotes clears more notes than one statement binds', async () => {
      const table = entitySpec();
      const shard = await open(table);
      const n = Math.floor(shard.limits.maxParameters / NOTE_VALUES) + 100;
      const rows = Array.from({ length: n }, (_, i) =>
        recordRow(`r${String(i).padStart(6, '0')}`, { version: 1 + (i % 3), note: `n${i}` }),
      );
      await insertAll(shard, table, rows);
      const wrong = (i: number) => i % 997 === 0;
      const refs = rows.map((r, i) => ({ id: r.id, version: wrong(i) ? r.version + 1 : r.version }));
      expect(await shard.clearNotes(table, refs)).toEqual(rows.map((_, i) => !wrong(i)));
      expect(await scanAll(shard, table, true)).toEqual(rows.filter((_, i) => wrong(i)));
    });
  });
}
