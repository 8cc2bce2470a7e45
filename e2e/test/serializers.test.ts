/**
 * Every serializer through every adapter: values of each codec's domain
 * round-trip through save and get, and an entity switched from JSON to
 * MessagePack reads both generations of rows, then rewrites the old ones.
 */
import {
  type Doc,
  Entity,
  Index,
  type Serializer,
  type Shard,
  text,
  timestamp,
  ValidationError,
} from '@waffle/core';
import { compressed } from '@waffle/serializer-compressed';
import { json } from '@waffle/serializer-json';
import { msgpack } from '@waffle/serializer-msgpack';
import { superjson } from '@waffle/serializer-superjson';
import {
  type Dialect,
  dialectEnabled,
  equalButNegativeZero,
  serializerValues,
  uniqueName,
} from '@waffle/testkit';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { dialectShards } from './support/shards.js';

const dialects = dialectShards('serializers');

const codecs: {
  serializer: Serializer;
  values: fc.Arbitrary<unknown>;
  equal: (a: unknown, b: unknown) => void;
}[] = [
  { serializer: json(), values: serializerValues.json, equal: equalButNegativeZero },
  { serializer: superjson(), values: serializerValues.superjson, equal: (a, b) => expect(a).toEqual(b) },
  { serializer: msgpack(), values: serializerValues.msgpack, equal: equalButNegativeZero },
  {
    serializer: compressed(json(), { algorithm: 'gzip', threshold: 64 }),
    values: serializerValues.json,
    equal: equalButNegativeZero,
  },
  {
    serializer: compressed(msgpack(), { algorithm: 'brotli', threshold: 64 }),
    values: serializerValues.msgpack,
    equal: equalButNegativeZero,
  },
];

for (const [dialect, open] of Object.entries(dialects) as [Dialect, (i: number) => Shard][]) {
  describe.skipIf(!dialectEnabled(dialect))(`serializers on ${dialect}`, () => {
    const opened: Shard[] = [];
    const shards = (count: number) => {
      const made = Array.from({ length: count }, (_, i) => open(i));
      opened.push(...made);
      return made;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    for (const { serializer, values, equal } of codecs) {
      it(`round-trips ${serializer.codec} values`, async () => {
        const entity = new Entity<unknown>(uniqueName('values'), { shards: shards(2), serializer });
        await entity.create();
        const sample = fc.sample(values, { numRuns: 60, seed: 11 });
        const saved = await entity.saveMany(sample.map((value) => entity.new(value)));
        const got = await entity.getMany(saved.map((r) => r.id));
        got.forEach((record, i) => {
          equal(record?.value, sample[i]);
        });
      });
    }

    it('refuses at save a value whose index rows change through the serializer (a Date under json()); superjson keeps it', async () => {
      type Event = { title: string; at: Date };
      const make = (serializer: Serializer) => {
        const name = uniqueName('events');
        const byTime = new Index(`${name}_at`, {
          columns: { at: timestamp() },
          shard: shards(1),
          mapper: (event: Doc<Event>) => [{ at: event.value.at }],
        });
        return {
          byTime,
          events: new Entity<Event>(name, { shards: shards(1), indices: [byTime], serializer }),
        };
      };
      const withJson = make(json());
      await withJson.events.create();
      const event = withJson.events.new(
        { title: 'launch', at: new Date(Date.UTC(2026, 10, 30)) },
        { id: 'e1' },
      );
      const error = await withJson.events.save(event).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toBe(
        `${withJson.events.name}.save(): record "e1" cannot be mapped by index "${withJson.byTime.name}" once read back through json (Index "${withJson.byTime.name}", mapper row 0 of record "e1", column "at": expected timestamp (a valid Date), got "2026-11-30T00:00:00.000Z" (string)): store the value as the serializer keeps it (a number or an ISO string for a date), or use a serializer that keeps its type (superjson, msgpack)`,
      );
      expect(event.version).toBe(0);
      expect(await withJson.events.get('e1')).toBeUndefined();
      expect(await withJson.events.count(withJson.byTime.c.at.gte(new Date(0)))).toBe(0);

      const withSuperjson = make(superjson());
      await withSuperjson.events.create();
      await withSuperjson.events.save(
        withSuperjson.events.new({ title: 'launch', at: new Date(5) }, { id: 'e1' }),
      );
      const found = await withSuperjson.events.select(withSuperjson.byTime.c.at.gte(new Date(0)));
      expect(found.map((e) => e.value.at)).toEqual([new Date(5)]);
    });

    it('switches from JSON to MessagePack: both generations read, reencode() rewrites the old rows', async () => {
      type Post = { title: string; at: number };
      const on = shards(2);
      const name = uniqueName('switch');
      const indexName = uniqueName('switch_title');
      const make = (serializer: Serializer, readers: Serializer[] = []) => {
        const byTitle = new Index(indexName, {
          columns: { title: text() },
          shard: on,
          mapper: (p: Doc<Post>) => [{ title: p.value.title }],
        });
        return {
          posts: new Entity<Post>(name, { shards: on, indices: [byTitle], serializer, readers }),
          byTitle,
        };
      };
      const before = make(json());
      await before.posts.create();
      const old = await before.posts.saveMany(
        Array.from({ length: 10 }, (_, i) => before.posts.new({ title: `json ${i}`, at: i })),
      );
      const after = make(msgpack(), [json()]);
      const fresh = await after.posts.saveMany(
        Array.from({ length: 5 }, (_, i) => after.posts.new({ title: `msgpack ${i}`, at: i })),
      );
      const all = [...old, ...fresh].map((r) => r.id);
      expect((await after.posts.getMany(all)).map((r) => r?.value.title)).toEqual([
        ...old.map((r) => r.value.title),
        ...fresh.map((r) => r.value.title),
      ]);
      expect(await after.posts.count(after.byTitle.c.title.startsWith('json '))).toBe(10);
      const unreadable = await before.posts.get(fresh[0]!.id).catch((e) => e);
      expect(unreadable.message).toContain('written with codec "msgpack", which is not configured');

      expect(await after.posts.reencode({ batchSize: 4 })).toEqual({
        scanned: 15,
        rewritten: 10,
        skipped: 0,
      });
      const msgpackOnly = make(msgpack());
      expect((await msgpackOnly.posts.getMany(all)).every((r) => r !== undefined)).toBe(true);
    });
  });
}
