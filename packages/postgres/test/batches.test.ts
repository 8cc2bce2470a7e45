import { type Doc, Entity, Index, integer, QueryError, text } from '@waffle/core';
import { json } from '@waffle/serializer-json';
import { dialectEnabled, uniqueName } from '@waffle/testkit';
import { describe, expect, it } from 'vitest';
import { postgresShard } from '../src/index.js';
import {
  databaseUrl,
  entitySpec,
  failure,
  indexSpec,
  onCleanup,
  openClient,
  openShard,
  record,
  track,
} from './helpers.js';

/** A shard on a client that counts the statements it runs (those matching `pattern`). */
function countingShard(i = 0) {
  const statements: string[] = [];
  const client = openClient(i, { max: 2, debug: (_c, sql) => statements.push(sql) });
  const shard = postgresShard(client);
  const count = (pattern: RegExp) => statements.filter((s) => pattern.test(s)).length;
  return { shard, client, statements, count };
}

describe.skipIf(!dialectEnabled('postgres'))('postgres batches', () => {
  it('reads 70,000 ids in statements of at most 65,533 ids', async () => {
    const { shard, client, statements, count } = countingShard();
    const table = entitySpec();
    await shard.createTables([table]);
    await client.unsafe(
      `INSERT INTO "${table.name}" SELECT 'id' || i, '{"n":' || i || '}', NULL, 'json', 1, i, i FROM generate_series(1, 70000) AS i`,
    );
    const ids = Array.from({ length: 70_000 }, (_, i) => `id${i + 1}`);
    statements.length = 0;
    const got = await shard.getRecords(table, [...ids, 'missing', 'id1', 'id70000']);
    expect(got).toHaveLength(70_000);
    expect(new Set(got.map((r) => r.id)).size).toBe(70_000);
    expect(got.find((r) => r.id === 'id70000')).toEqual(
      record('id70000', { body: '{"n":70000}', createdAt: 70000, updatedAt: 70000, note: null }),
    );
    expect(count(/ANY/)).toBe(2);
  });

  it('writes and deletes index rows in statements of at most 65,533 values', async () => {
    const { shard, client, count } = countingShard();
    const index = indexSpec('many', [['n', 'integer', true]]);
    await shard.createTables([index]);
    // Three values a row (n, __id, __version): 21,844 rows a statement.
    const rows = Array.from({ length: 50_000 }, (_, i) => ({
      id: `r${i}`,
      values: [i % 1000 === 0 ? null : i],
      version: 1,
    }));
    await shard.putIndexRows(index, rows);
    expect(count(/^INSERT/)).toBe(3);
    const stored = async () =>
      Number((await client.unsafe(`SELECT count(*) AS n FROM "${index.name}"`))[0]!.n);
    expect(await stored()).toBe(50_000);
    await shard.putIndexRows(index, rows); // idempotent
    expect(await stored()).toBe(50_000);
    await shard.deleteIndexRows(
      index,
      rows.map((r) => ({ ...r, version: 2 })),
    );
    // Rows with a null and rows without one are deleted by separate statements (each served by the index).
    expect(count(/^DELETE/)).toBe(3 + 1);
    expect(await stored()).toBe(0);
  });

  it('writes a key given twice in one batch once, with the larger version', async () => {
    const shard = openShard(0);
    const index = indexSpec('twice', [
      ['k', 'text'],
      ['n', 'integer', true],
    ]);
    await shard.createTables([index]);
    await shard.putIndexRows(index, [
      { id: 'a', values: ['x', null], version: 1 },
      { id: 'a', values: ['x', null], version: 3 },
      { id: 'a', values: ['x', null], version: 2 },
      { id: 'a', values: ['x', 1], version: 2 },
      { id: 'a', values: ['x', 1], version: 1 },
    ]);
    const rows = await shard.queryIndex(index, {
      where: undefined,
      orderBy: [
        { column: 'n', direction: 'asc' },
        { column: '__id', direction: 'asc' },
      ],
      limit: 10,
    });
    expect(rows).toEqual([
      { id: 'a', values: ['x', null], version: 3 },
      { id: 'a', values: ['x', 1], version: 2 },
    ]);
  });
});

describe.skipIf(!dialectEnabled('postgres'))('postgres concurrency', () => {
  it('creates the same tables from several shards on one database at once', async () => {
    const shards = Array.from({ length: 4 }, () => openShard(0, { max: 2 }));
    for (let round = 0; round < 5; round++) {
      const tables = [
        entitySpec('race'),
        indexSpec('race_ix', [['n', 'integer']]),
        indexSpec('race_iy', [['t', 'text', true]]),
      ];
      await Promise.all(shards.map((s) => s.createTables(tables)));
      expect(await shards[0]!.insertRecord(tables[0] as never, record('a'))).toBe(true);
    }
    const key = `race-${Date.now()}`;
    const stored = await Promise.all(shards.map((s, i) => s.writeMeta(key, `v${i}`)));
    expect(new Set(stored).size).toBe(1);
  });

  it('lands 20 concurrent saves of different records through an entity', async () => {
    const shards = [openShard(0, { max: 3 }), openShard(1, { max: 3 })];
    type Note = { title: string; n: number };
    const byN = new Index(track(uniqueName('note_n')), {
      columns: { n: integer(), title: text() },
      shard: shards,
      mapper: (note: Doc<Note>) => [{ n: note.value.n, title: note.value.title }],
    });
    const notes = new Entity<Note>(track(uniqueName('note')), { shards, indices: [byN], serializer: json() });
    await notes.create();
    const records = Array.from({ length: 20 }, (_, n) => notes.new({ title: `note ${n}`, n }));
    await Promise.all(records.map((r) => notes.save(r)));
    expect(records.every((r) => r.version === 1)).toBe(true);
    const got = await notes.getMany(records.map((r) => r.id));
    expect(got.map((r) => r?.value.title)).toEqual(records.map((r) => r.value.title));
    expect(await notes.count(byN.c.n.gte(0))).toBe(20);
    await Promise.all(records.map((r) => notes.update(r.id, (v) => ({ ...v, n: v.n + 100 }))));
    expect((await notes.select(byN.c.n.gte(100), { orderBy: byN.c.n.asc() })).map((r) => r.value.n)).toEqual(
      records.map((r) => r.value.n + 100),
    );
  });
});

describe.skipIf(!dialectEnabled('postgres'))('postgres transactions', () => {
  it('rolls back when a statement fails, and rethrows that QueryError unchanged', async () => {
    const shard = openShard(0);
    const table = entitySpec();
    const index = indexSpec('tx_ix', [['n', 'integer']]);
    await shard.createTables([table, index]);
    let thrown: unknown;
    const error = await failure(
      shard.transaction(async (tx) => {
        await tx.insertRecord(table, record('a'));
        try {
          await tx.putIndexRows(index, [{ id: 'a', values: [null], version: 1 }]);
        } catch (e) {
          thrown = e;
          throw e;
        }
      }),
    );
    expect(error).toBe(thrown);
    expect(error).toBeInstanceOf(QueryError);
    expect(error.message).toContain('null value in column "n"');
    expect(await shard.getRecords(table, ['a'])).toEqual([]);
  });

  it('reports a transaction whose work swallowed a failed statement as a QueryError, committing nothing', async () => {
    const shard = openShard(0);
    const table = entitySpec();
    await shard.createTables([table]);
    const error = await failure(
      shard.transaction(async (tx) => {
        await tx.insertRecord(table, record('a'));
        await tx.getRecords({ kind: 'entity', name: 'no_such_table' }, ['a']).catch(() => undefined);
        return 'done';
      }),
    );
    expect(error).toBeInstanceOf(QueryError);
    expect(error.cause.code).toBe('42P01');
    expect(await shard.getRecords(table, ['a'])).toEqual([]);
  });

  it('runs transactions side by side, each on its own connection', async () => {
    const shard = postgresShard({ url: databaseUrl(0), max: 4 });
    onCleanup(() => shard.close());
    const table = entitySpec();
    await shard.createTables([table]);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        shard.transaction(async (tx) => {
          await tx.insertRecord(table, record(`t${i}`));
          return [i, (await tx.getRecords(table, [`t${i}`])).length];
        }),
      ),
    );
    expect(results).toEqual(Array.from({ length: 8 }, (_, i) => [i, 1]));
    expect(await shard.scanRecords(table, undefined, 20)).toHaveLength(8);
  });
});
