/**
 * Export from every dialect, import into every dialect (the same one too):
 * superjson values holding Dates, Maps, Sets and BigInts come back identical
 * (ids, values, versions, times), and the indices are exact, tagged with the
 * imported versions, and answer as the source's do.
 */
import {
  bigint,
  type Doc,
  Entity,
  ImportError,
  Index,
  SerializationError,
  type Shard,
  ShardByColumn,
  text,
  timestamp,
} from '@waffle/core';
import { json } from '@waffle/serializer-json';
import { superjson } from '@waffle/serializer-superjson';
import {
  ALL_DIALECTS,
  bruteForce,
  type Dialect,
  dialectEnabled,
  serializerValues,
  storedRowsOf,
  uniqueName,
} from '@waffle/testkit';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { dialectShards } from './support/shards.js';

const dialects = dialectShards('export');
const enabled = ALL_DIALECTS.filter(dialectEnabled);

const opened: Shard[] = [];
const shardsOn = (dialect: Dialect, from: number, count: number) => {
  const made = Array.from({ length: count }, (_, i) => dialects[dialect](from + i));
  opened.push(...made);
  return made;
};
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

type Event = {
  title: string;
  at: Date;
  tags: Set<string>;
  counts: Map<string, bigint>;
  size: bigint;
  extra: unknown;
};

/** An event entity over `shards`: a time index beside the records, a tag index by tag and a size index. */
function events(shards: Shard[], name = uniqueName('event')) {
  const byTime = new Index(`${name}_at`, {
    columns: { at: timestamp(), title: text() },
    shard: shards,
    mapper: (e: Doc<Event>) => [{ at: e.value.at, title: e.value.title }],
  });
  const byTag = new Index(`${name}_tag`, {
    columns: { tag: text() },
    shard: new ShardByColumn('tag', shards),
    mapper: (e: Doc<Event>) => [...e.value.tags].map((tag) => ({ tag })),
  });
  const bySize = new Index(`${name}_size`, {
    columns: { size: bigint() },
    shard: shards,
    mapper: (e: Doc<Event>) => [{ size: e.value.size }],
  });
  const entity = new Entity<Event>(name, {
    shards,
    indices: [byTime, byTag, bySize],
    serializer: superjson(),
  });
  return { entity, byTime, byTag, bySize };
}

type Events = ReturnType<typeof events>;

const extras = fc.sample(serializerValues.superjson, { numRuns: 40, seed: 23 });

function event(i: number): Event {
  return {
    title: `event ${i}`,
    at: new Date(Date.UTC(2026, 0, 1 + (i % 9), i % 24)),
    tags: new Set(['x', 'y', 'z'].slice(0, i % 4)),
    counts: new Map([
      ['views', BigInt(i) * 10n ** 15n],
      ['likes', BigInt(-i)],
    ]),
    size: 2n ** 60n + BigInt(i % 5),
    extra: extras[i % extras.length],
  };
}

/** Every record, in id order, with every field. */
async function recordsOf(entity: Entity<Event>) {
  const out: Doc<Event>[] = [];
  for await (const r of entity.scan({ batchSize: 9 })) out.push(r);
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

async function linesOf(lines: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

/** The source on `dialect`: 40 events, some updated twice, one deleted; its lines. */
async function source(dialect: Dialect) {
  const from = events(shardsOn(dialect, 0, 2));
  await from.entity.create();
  const saved = await from.entity.saveMany(Array.from({ length: 40 }, (_, i) => from.entity.new(event(i))));
  for (const r of saved.filter((_, i) => i % 6 === 0)) {
    r.value = { ...r.value, tags: new Set(['z', 'w']), size: r.value.size + 100n };
    await from.entity.save(r);
    await from.entity.save(r);
  }
  await from.entity.delete(saved[5]!.id);
  const lines = await linesOf(from.entity.export({ batchSize: 7 }));
  return { from, lines, deleted: saved[5]!.id };
}

/** The queries both entities are compared on. */
const queries = (e: Events) =>
  [
    [e.byTime, e.byTime.c.at.gte(new Date(Date.UTC(2026, 0, 4)))],
    [e.byTag, e.byTag.c.tag.in(['x', 'w'])],
    [e.bySize, e.bySize.c.size.between(2n ** 60n + 1n, 2n ** 60n + 100n)],
  ] as const;

describe.skipIf(enabled.length === 0)('export and import between dialects', () => {
  for (const from of enabled) {
    it(`exports superjson records from ${from} and imports them into ${enabled.join(', ')}: identical records, exact indices`, async () => {
      const { from: src, lines, deleted } = await source(from);
      expect(lines.length).toBe(39);
      expect(lines.some((line) => line.includes(deleted))).toBe(false);
      const expected = await recordsOf(src.entity);
      expect(expected.some((r) => r.version === 3)).toBe(true);
      expect(expected[0]!.value.counts).toBeInstanceOf(Map);

      for (const [n, to] of enabled.entries()) {
        const target = events(shardsOn(to, 2 + 2 * n, 2));
        await target.entity.create();
        const report = await target.entity.import(lines, { batchSize: 8 });
        expect(report, `${from} → ${to}`).toEqual({ lines: 39, imported: 39, skipped: 0, replaced: 0 });
        const got = await recordsOf(target.entity);
        expect(got, `${from} → ${to}`).toEqual(expected);
        expect(got.map((r) => r.value.size)).toEqual(expected.map((r) => r.value.size));
        expect(got[0]!.value.tags).toBeInstanceOf(Set);
        expect(await target.entity.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
        const targetQueries = queries(target);
        for (const [i, [, srcWhere]] of queries(src).entries()) {
          const [index, where] = targetQueries[i]!;
          const ids = (await target.entity.select(where)).map((r) => r.id);
          expect(ids, `${from} → ${to}: ${index.name}`).toEqual(
            (await src.entity.select(srcWhere)).map((r) => r.id),
          );
          expect(ids).toEqual(bruteForce(got, index, where, []));
          expect(ids.length).toBeGreaterThan(0);
        }
        for (const r of got) {
          for (const index of [target.byTime, target.byTag, target.bySize]) {
            const rows = await storedRowsOf(index, r.id);
            expect(rows.length).toBe(index.rowsOf(r).length);
            for (const row of rows) expect(row.version, `${index.name} row of ${r.id}`).toBe(r.version);
          }
        }
      }
    });
  }

  it("refuses a value that is not superjson's JSON form with an ImportError naming its line, the lines before imported", async () => {
    const { entity } = events(shardsOn(enabled[0]!, 0, 1));
    await entity.create();
    const good = JSON.stringify({
      id: 'a',
      version: 1,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      value: superjson().toJSON!(event(1)),
    });
    const bad = good.replace('"id":"a"', '"id":"b"').replace('"bigint"', '"nonsense"');
    const error = await entity.import([good, bad]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImportError);
    expect((error as ImportError).line).toBe(2);
    expect((error as Error).message).toMatch(
      /^line 2: record "b": the value is not in the JSON form of superjson: JSON form is not valid superjson: /,
    );
    expect((error as Error).cause).toBeInstanceOf(SerializationError);
    expect((await entity.get('a'))?.value).toEqual(event(1));
    expect(await entity.get('b')).toBeUndefined();
  });

  it("exports rows of an earlier serializer (readers) in the current serializer's JSON form", async () => {
    type Note = { title: string; n: number };
    const on = shardsOn(enabled[0]!, 0, 2);
    const name = uniqueName('notes');
    const before = new Entity<Note>(name, { shards: on, serializer: json() });
    await before.create();
    await before.saveMany([before.new({ title: 'old', n: 1 }, { id: 'old' })]);
    const after = new Entity<Note | Event>(name, { shards: on, serializer: superjson(), readers: [json()] });
    await after.save(after.new(event(2), { id: 'new' }));
    const lines = (await linesOf(after.export())).map((line) => JSON.parse(line));
    expect(lines.map((l) => [l.id, l.value])).toEqual([
      ['new', superjson().toJSON!(event(2))],
      ['old', { json: { title: 'old', n: 1 } }],
    ]);
    const copy = new Entity<Note | Event>(uniqueName('notes'), {
      shards: shardsOn(enabled[enabled.length - 1]!, 2, 1),
      serializer: superjson(),
    });
    await copy.create();
    await copy.import(lines.map((l) => JSON.stringify(l)));
    expect((await copy.getMany(['new', 'old'])).map((r) => r?.value)).toEqual([
      event(2),
      { title: 'old', n: 1 },
    ]);
  });
});
