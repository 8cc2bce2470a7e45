import { type Doc, Entity, Index, SerializationError, type Serializer, type Shard, text } from '@waffle/core';
import { describe, expect, it } from 'vitest';
import { shardPool } from './fixtures.js';
import { type ConformanceOptions, uniqueName } from './options.js';

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/**
 * The suite's serializer with the other body format: text bodies become UTF-8
 * bytes, binary bodies hex text. Switching to it stores rows in the other column.
 */
export function flipped(inner: Serializer): Serializer {
  const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  const fromHex = (h: string) => new Uint8Array(h.match(/../g)?.map((x) => Number.parseInt(x, 16)) ?? []);
  return inner.format === 'text'
    ? {
        codec: `${inner.codec}-utf8`,
        format: 'binary',
        encode: (v) => utf8.encode(inner.encode(v) as string),
        decode: (b) => inner.decode(fromUtf8.decode(b as Uint8Array)),
      }
    : {
        codec: `${inner.codec}-hex`,
        format: 'text',
        encode: (v) => toHex(inner.encode(v) as Uint8Array),
        decode: (h) => inner.decode(fromHex(h as string)),
      };
}

type Note = { title: string };

/** Changing an entity's serializer: old rows still read, new rows use the new codec, reencode() rewrites. */
export function codecSuite(options: ConformanceOptions): void {
  const open = shardPool(options);

  describe('codecs', () => {
    it('reads rows of an earlier serializer, writes new ones with the current, and reencode() rewrites the old', async () => {
      const shards = await open(2);
      const name = uniqueName('notes');
      const indexName = uniqueName('notes_title');
      const make = (serializer: Serializer, readers: Serializer[] = []) => {
        const byTitle = new Index(indexName, {
          columns: { title: text() },
          shard: shards as Shard[],
          mapper: (n: Doc<Note>) => [{ title: n.value.title }],
        });
        return {
          notes: new Entity<Note>(name, { shards, indices: [byTitle], serializer, readers }),
          byTitle,
        };
      };
      const before = options.serializer;
      const after = flipped(before);
      const { notes: old } = make(before);
      await old.create();
      const first = await old.saveMany(Array.from({ length: 7 }, (_, i) => old.new({ title: `old ${i}` })));

      const { notes, byTitle } = make(after, [before]);
      expect((await notes.getMany(first.map((r) => r.id))).map((r) => r?.value.title)).toEqual(
        first.map((r) => r.value.title),
      );
      const fresh = await notes.save(notes.new({ title: 'new' }));
      const changed = (await notes.get(first[0]!.id))!;
      changed.value.title = 'old 0, changed';
      await notes.save(changed);

      const unreadable = await old.get(fresh.id).catch((e) => e);
      expect(unreadable).toBeInstanceOf(SerializationError);
      expect(unreadable.message).toContain(`written with codec "${after.codec}", which is not configured`);

      const progress: number[] = [];
      const report = await notes.reencode({ batchSize: 3, onProgress: (p) => progress.push(p.scanned) });
      expect(report).toEqual({ scanned: 8, rewritten: 6, skipped: 0 });
      expect(progress[progress.length - 1]).toBe(8);
      expect(await notes.reencode()).toEqual({ scanned: 8, rewritten: 0, skipped: 0 });

      const { notes: only, byTitle: onlyByTitle } = make(after);
      const all = await only.getMany([...first.map((r) => r.id), fresh.id]);
      expect(all.map((r) => r?.value.title)).toEqual([
        'old 0, changed',
        ...first.slice(1).map((r) => r.value.title),
        'new',
      ]);
      expect(all.map((r) => r?.version)).toEqual([2, 1, 1, 1, 1, 1, 1, 1]); // rewriting is not a new version
      expect((await only.select(onlyByTitle.c.title.startsWith('old '))).length).toBe(7);
      expect((await notes.select(byTitle.c.title.eq('new'))).map((r) => r.id)).toEqual([fresh.id]);
    });

    it('refuses two serializers with one codec tag', () => {
      const make = () =>
        new Entity(uniqueName('x'), {
          shards: [{ queryIndex: async () => [] } as never],
          serializer: options.serializer,
          readers: [options.serializer],
        });
      expect(make).toThrow(`two serializers have the codec tag "${options.serializer.codec}"`);
    });
  });
}
