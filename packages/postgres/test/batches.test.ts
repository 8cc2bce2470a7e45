import { type Doc, Entity, Index, integer, QueryError, text } from '@waffle/core';
import type { EntityTableSpec, IndexRow, RecordRow } from '@waffle/core/adapter';
import { json } from '@waffle/serializer-json';
import { FULL_AFTER_CONFLICT } from '@waffle/sql';
import { dialectEnabled, uniqueName } from '@waffle/testkit';
import type postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { postgresShard } from '../src/index.js';
import { keyName } from '../src/postgres-dialect.js';
import {
  entitySpec,
  failure,
  historySpec,
  indexSpec,
  insertRecords,
  openClient,
  openShard,
  record,
  recordingClient,
  track,
} from './helpers.js';

/** A shard on a client that records the statements it runs. */
function recordingShard(i = 0) {
  const { client, statements, count } = recordingClient(i, { max: 2 });
  return { shard: postgresShard(client), client, statements, count };
}

/** How many rows a table holds. */
async function rowCount(client: postgres.Sql<any>, table: string): Promise<number> {
  return Number((await client.unsafe(`SELECT count(*) AS n FROM "${table}"`))[0]!.n);
}

/** The records with these ids, in that order. */
async function readBack(shard: ReturnType<typeof openShard>, table: EntityTableSpec, ids: string[]) {
  const byId = new Map((await shard.getRecords(table, ids)).map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id));
}

const stored = (r: RecordRow) => ({ ...r, note: r.note ?? null });

describe.skipIf(!dialectEnabled('postgres'))('postgres batches', () => {
  it('reads 70,000 ids in statements of at most 65,533 ids', async () => {
    const { shard, client, statements, count } = recordingShard();
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

  it('writes and deletes index rows in statements of at most 65,533 values, in one transaction', async () => {
    const { shard, client, statements, count } = recordingShard();
    const index = indexSpec('many', [['n', 'integer', true]]);
    await shard.createTables([index]);
    statements.length = 0;
    // Three values a row (n, __id, __version): 21,844 rows a statement.
    const rows = Array.from({ length: 50_000 }, (_, i) => ({
      id: `r${i}`,
      values: [i % 1000 === 0 ? null : i],
      version: 1,
    }));
    await shard.putIndexRows(index, rows);
    expect(count(/^INSERT .* unnest\(/)).toBe(3);
    expect(count(/^begin/)).toBe(1);
    expect(await rowCount(client, index.name)).toBe(50_000);
    await shard.putIndexRows(index, rows); // idempotent
    expect(await rowCount(client, index.name)).toBe(50_000);
    await shard.deleteIndexRows(
      index,
      rows.map((r) => ({ ...r, version: 2 })),
    );
    // Rows with a null and rows without one are deleted by separate statements (each served by the index).
    expect(count(/^DELETE/)).toBe(3 + 1);
    expect(await rowCount(client, index.name)).toBe(0);
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

  it('keeps keys with nulls unique (NULLS NOT DISTINCT): puts upsert them, one row a key, the larger version', async () => {
    const shard = openShard(0);
    const client = openClient(0);
    const index = indexSpec('nulls', [
      ['a', 'integer', true],
      ['b', 'text', true],
    ]);
    const table = entitySpec();
    await shard.createTables([index, table]);
    const [definition] =
      await client`SELECT indexdef FROM pg_indexes WHERE indexname = ${keyName('key', index.name)}`;
    expect(definition!.indexdef).toMatch(/NULLS NOT DISTINCT$/);
    const key = (version: number): IndexRow => ({ id: 'r', values: [null, null], version });
    await shard.putIndexRows(index, [key(1)]);
    await shard.putIndexRows(index, [key(3)]);
    await shard.putIndexRows(index, [key(2)]); // older: the stored tag stays
    await shard.putIndexRows(index, [key(2), { id: 's', values: [null, null], version: 1 }]);
    // And in a commit, through the same upsert.
    expect(
      await shard.commit({
        table,
        writes: [{ row: record('r'), expected: 0 }],
        put: [{ table: index, rows: [key(4), { id: 'r', values: [1, null], version: 1 }] }],
      }),
    ).toEqual([true]);
    const stored = await client.unsafe(
      `SELECT a, b, __id, __version::int AS v FROM "${index.name}" ORDER BY __id, a NULLS FIRST`,
    );
    expect(stored.map((r) => [r.a, r.b, r.__id, r.v])).toEqual([
      [null, null, 'r', 4],
      [1, null, 'r', 1],
      [null, null, 's', 1],
    ]);
    // The database itself refuses a second row of a key with nulls.
    const error = await failure(
      client.unsafe(`INSERT INTO "${index.name}" (a, b, __id, __version) VALUES (NULL, NULL, 'r', 9)`),
    );
    expect(error.code).toBe('23505');
    // Deletes match nulls too, and only where the stored tag is older.
    await shard.deleteIndexRows(index, [
      { id: 'r', values: [null, null], version: 4 },
      { id: 's', values: [null, null], version: 2 },
    ]);
    expect(
      (await client.unsafe(`SELECT __id FROM "${index.name}" ORDER BY __id, a`)).map((r) => r.__id),
    ).toEqual(['r', 'r']);
  });

  it('commits 500 records with their index rows and history in one statement (after the plain one a taken id failed); only the records written get rows', async () => {
    const { shard, client, statements } = recordingShard();
    const table = entitySpec();
    const index = indexSpec('bulk', [['n', 'integer']]);
    const history = historySpec();
    await shard.createTables([table, index, history]);
    // Every 97th id exists already: its insert is false, and its rows and history are not written.
    const taken = new Set<number>();
    for (let i = 0; i < 500; i += 97) taken.add(i);
    expect(
      await insertRecords(
        shard,
        table,
        [...taken].map((i) => record(`r${i}`, { body: 'old' })),
      ),
    ).toEqual([...taken].map(() => true));
    const records = Array.from({ length: 500 }, (_, i) =>
      record(
        `r${i}`,
        i % 2 === 0
          ? { body: `{"n":${i},"q":"\\"{,}"}` }
          : { body: new Uint8Array([i & 255, i >> 8, 0, 92, 34]), codec: 'msgpack', note: `n"${i}` },
      ),
    );
    statements.length = 0;
    const result = await shard.commit({
      table,
      writes: records.map((row) => ({ row, expected: 0 })),
      put: [{ table: index, rows: records.map((r, i) => ({ id: r.id, values: [i], version: 1 })) }],
      history,
    });
    // First the plain inserts, which a stored id fails (writing nothing), then the full statement.
    expect(statements).toHaveLength(2);
    const [plain, statement] = statements;
    expect(plain!.sql).not.toMatch(/ON CONFLICT \("id"\)/);
    expect(plain!.params).toEqual(statement!.params);
    // The columns equal in every record (version and times) bound once; the other six as scalars
    // in a VALUES list of 512 rows (the last 12 null); the index rows as three arrays.
    expect(statement!.sql).toMatch(/ON CONFLICT \("id"\) DO NOTHING RETURNING/);
    expect(statement!.sql).toMatch(
      /^WITH .* SELECT "__waffle_v"\."v0", "__waffle_v"\."v1", "__waffle_v"\."v2", "__waffle_v"\."v3", \$1::int8, \$2::int8, \$3::int8, "__waffle_v"\."v4", "__waffle_v"\."v5" FROM \(VALUES \(\$4::text, \$5::text, \$6::text::bytea, \$7::text, \$8::text, \$9::int2\), /,
    );
    expect(statement!.sql).toMatch(/ unnest\(\$3076::int4\[\], \$3077::text\[\], \$3078::int8\[\]\)/);
    expect(statement!.params).toHaveLength(3 + 512 * 6 + 3);
    expect(statement!.params.slice(3 + 500 * 6, 3 + 512 * 6).every((p) => p === null)).toBe(true);
    // Bytes as bytea's hex input, so every parameter is a string, a number or null.
    expect(statement!.params[3 + 6 + 2]).toBe('\\x0100005c22');
    expect(result).toEqual(records.map((_, i) => !taken.has(i)));
    expect(await rowCount(client, table.name)).toBe(500);
    expect(await rowCount(client, index.name)).toBe(500 - taken.size);
    expect(await rowCount(client, history.name)).toBe(500 - taken.size);
    const sample = [1, 2, 97, 300, 499];
    expect(
      await readBack(
        shard,
        table,
        sample.map((i) => `r${i}`),
      ),
    ).toEqual(
      sample.map((i) => (taken.has(i) ? stored(record(`r${i}`, { body: 'old' })) : stored(records[i]!))),
    );
    const { note: _note, ...r1 } = records[1]!;
    expect(await shard.getHistory(history, 'r1')).toEqual([{ ...r1, deleted: false }]);
    expect(await shard.getHistory(history, 'r0')).toEqual([]);
    // Compare-and-set of many in one statement: those stored at the version expected win (r0 too, stored before).
    const next = records
      .slice(0, 10)
      .map((r) => ({ ...r, version: 2, body: 'v2', codec: 'json', note: null }));
    statements.length = 0;
    expect(
      await shard.commit({
        table,
        writes: next.map((row, i) => ({ row, expected: i % 2 === 0 ? 1 : 5 })),
        delete: [{ table: index, rows: next.map((r, i) => ({ id: r.id, values: [i], version: 2 })) }],
        history,
      }),
    ).toEqual(next.map((_, i) => i % 2 === 0));
    expect(statements).toHaveLength(1);
    expect(
      (await client.unsafe(`SELECT __id FROM "${index.name}" WHERE n < 10 ORDER BY n`)).map((r) => r.__id),
    ).toEqual(['r1', 'r3', 'r5', 'r7', 'r9']);
  });

  it('commits new records with plain inserts (no ON CONFLICT, nothing returned); after a conflict, the full statement for the next commits of new records', async () => {
    const { shard, client, statements } = recordingShard();
    const table = entitySpec();
    const index = indexSpec('plain', [['n', 'integer']]);
    const history = historySpec();
    await shard.createTables([table, index, history]);
    let next = 0;
    const commitNew = (n: number, ids = Array.from({ length: n }, () => `p${next++}`)) => {
      statements.length = 0;
      return shard.commit({
        table,
        writes: ids.map((id) => ({ row: record(id), expected: 0 })),
        put: [{ table: index, rows: ids.map((id, i) => ({ id, values: [i], version: 1 })) }],
        history,
      });
    };
    for (const n of [1, 3, 500]) {
      expect(await commitNew(n)).toEqual(Array.from({ length: n }, () => true));
      expect(statements).toHaveLength(1);
      expect(statements[0]!.sql).not.toMatch(
        /ON CONFLICT \("id"\)|ON CONFLICT \("n"|SELECT "id" FROM "__waffle_w"$/,
      );
    }
    expect(await rowCount(client, table.name)).toBe(504);
    expect(await rowCount(client, index.name)).toBe(504);
    expect(await rowCount(client, history.name)).toBe(504);
    const { note: _note, ...p0 } = record('p0');
    expect(await shard.getHistory(history, 'p0')).toEqual([{ ...p0, deleted: false }]);
    // An id taken: nothing of the plain statement is written, the full one writes the others.
    expect(await commitNew(3, ['p0', 'q1', 'q2'])).toEqual([false, true, true]);
    expect(statements).toHaveLength(2);
    expect(await rowCount(client, table.name)).toBe(506);
    expect(await rowCount(client, index.name)).toBe(506);
    // The next commits of new records on that table go straight to the full statement, then plain again.
    for (let i = 0; i < FULL_AFTER_CONFLICT; i++) {
      expect(await commitNew(2)).toEqual([true, true]);
      expect(statements).toHaveLength(1);
      expect(statements[0]!.sql).toMatch(/ON CONFLICT \("id"\) DO NOTHING/);
    }
    expect(await commitNew(2)).toEqual([true, true]);
    expect(statements[0]!.sql).not.toMatch(/ON CONFLICT \("id"\)/);
    // A stored index key alone (a row left by an earlier record of the id) fails the plain insert too;
    // the full statement keeps the larger tag.
    await shard.putIndexRows(index, [{ id: 'stale', values: [0], version: 7 }]);
    expect(await commitNew(1, ['stale'])).toEqual([true]);
    expect(statements).toHaveLength(2);
    expect(
      (await client.unsafe(`SELECT __version::int AS v FROM "${index.name}" WHERE __id = 'stale'`)).map(
        (r) => r.v,
      ),
    ).toEqual([7]);
    // Two commits of one new id at once: one writes it, the other finds it taken.
    const [a, b] = await Promise.all([commitNew(1, ['race']), commitNew(1, ['race'])]);
    expect([a, b].map(([won]) => won).sort()).toEqual([false, true]);
    expect(await rowCount(client, index.name)).toBe(506 + 2 * FULL_AFTER_CONFLICT + 2 + 1 + 1);
  });

  it('splits a large commit into statements of at most 512 records and 16 MiB, in one transaction', async () => {
    const { shard, client, statements, count } = recordingShard();
    const table = entitySpec();
    const index = indexSpec('big', [['k', 'text']]);
    await shard.createTables([table, index]);
    expect(await insertRecords(shard, table, [record('big2', { body: 'old' })])).toEqual([true]);
    const mib = 1024 * 1024;
    // 6 MiB of text, or 3 MiB of bytes (6 MiB as hex).
    const big = Array.from({ length: 5 }, (_, i) =>
      record(`big${i}`, {
        body: i % 2 === 0 ? String.fromCharCode(97 + i).repeat(6 * mib) : new Uint8Array(3 * mib).fill(i),
      }),
    );
    // 2,200 records of 7,900 characters.
    const mid = Array.from({ length: 2200 }, (_, i) =>
      record(`mid${String(i).padStart(4, '0')}`, { body: 'm'.repeat(7900) }),
    );
    const all = [...mid.slice(0, 1000), ...big, ...mid.slice(1000)];
    statements.length = 0;
    const result = await shard.commit({
      table,
      writes: all.map((row) => ({ row, expected: 0 })),
      put: [{ table: index, rows: all.map((r) => ({ id: r.id, values: [r.id], version: 1 })) }],
    });
    expect(result).toEqual([...Array(1002).fill(true), false, ...Array(1202).fill(true)]);
    expect(count(/^begin/)).toBe(1);
    // 512 mid; 488 mid, big0 and big1; big2 and big3; big4 and 511 mid; 512 mid; 177 mid.
    const commits = statements.filter((s) => s.sql.startsWith('WITH'));
    expect(
      commits.map((s) => s.params.filter((p) => typeof p === 'string' && /^(mid|big)\d+$/.test(p)).length),
    ).toEqual([512, 490, 2, 512, 512, 177]);
    expect(commits[1]!.params).toContain(big[0]!.body);
    const sizes = await client.unsafe(
      `SELECT id, coalesce(length(body), length(bin)) AS n FROM "${table.name}" WHERE id LIKE 'big%' ORDER BY id`,
    );
    expect(sizes.map((r) => [r.id, r.n])).toEqual([
      ['big0', 6 * mib],
      ['big1', 3 * mib],
      ['big2', 3],
      ['big3', 3 * mib],
      ['big4', 6 * mib],
    ]);
    expect(await rowCount(client, table.name)).toBe(2205);
    // Every record written has its index row; big2, not written, has none.
    expect(await rowCount(client, index.name)).toBe(2204);
    expect(
      (await client.unsafe(`SELECT count(*)::int AS n FROM "${index.name}" WHERE k = 'big2'`))[0]!.n,
    ).toBe(0);
    const back = await readBack(shard, table, ['big0', 'big3', 'big4']);
    expect(back[0]!.body).toBe(big[0]!.body);
    // Compared as bytes: an element-wise toEqual of 3 MiB takes seconds.
    expect(Buffer.compare(back[1]!.body as Uint8Array, big[3]!.body as Uint8Array)).toBe(0);
    expect(back[2]!.body).toBe(big[4]!.body);
  });

  it('rolls a commit of several statements back whole when one fails, reporting that statement', async () => {
    const { shard, client } = recordingShard();
    const table = entitySpec();
    const index = indexSpec('strict', [['n', 'integer']]);
    await shard.createTables([table, index]);
    const rows = Array.from({ length: 600 }, (_, i) => record(`r${i}`));
    const error = await failure(
      shard.commit({
        table,
        writes: rows.map((row) => ({ row, expected: 0 })),
        // A null in a column that takes none, for a record of the second statement.
        put: [
          {
            table: index,
            rows: rows.map((r, i) => ({ id: r.id, values: [i === 550 ? null : i], version: 1 })),
          },
        ],
      }),
    );
    expect(error).toBeInstanceOf(QueryError);
    expect(error.message).toContain('null value in column "n"');
    expect(error.sql).toMatch(/^WITH /);
    expect(error.params).toContain('r550');
    expect(error.params).not.toContain('r1');
    expect(error.cause.code).toBe('23502');
    expect(await rowCount(client, table.name)).toBe(0);
    expect(await rowCount(client, index.name)).toBe(0);
  });
});

describe.skipIf(!dialectEnabled('postgres'))('postgres concurrency', () => {
  it('creates the same tables from several shards on one database at once', async () => {
    const shards = Array.from({ length: 4 }, () => openShard(0, { max: 2 }));
    for (let round = 0; round < 5; round++) {
      const table = entitySpec('race');
      const tables = [
        table,
        indexSpec('race_ix', [['n', 'integer']]),
        indexSpec('race_iy', [['t', 'text', true]]),
      ];
      await Promise.all(shards.map((s) => s.createTables(tables)));
      expect(await insertRecords(shards[0]!, table, [record('a')])).toEqual([true]);
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
