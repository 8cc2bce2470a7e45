import type { EntityTableSpec, RecordRow } from '@waffle/core';
import { dialectEnabled } from '@waffle/testkit';
import type postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { postgresShard } from '../src/index.js';
import { entitySpec, openClient, openShard, record } from './helpers.js';

/** A shard on a client that counts the statements it runs (those matching `pattern`). */
function countingShard(i = 0) {
  const statements: string[] = [];
  const client = openClient(i, { max: 2, debug: (_c, sql) => statements.push(sql) });
  const shard = postgresShard(client);
  const count = (pattern: RegExp) => statements.filter((s) => pattern.test(s)).length;
  return { shard, client, statements, count };
}

/** Every stored row as text, by id (what the table holds, not what the adapter reads). */
async function stored(client: postgres.Sql<any>, table: EntityTableSpec) {
  const rows = await client.unsafe(
    `SELECT id, body, encode(bin, 'hex') AS bin, codec, version::text, created_at::text, updated_at::text, note, pending FROM "${table.name}" ORDER BY id`,
  );
  return rows.map((r) => ({ ...r }));
}

/** The records with these ids, in that order. */
async function readBack(shard: ReturnType<typeof openShard>, table: EntityTableSpec, ids: string[]) {
  const byId = new Map((await shard.getRecords(table, ids)).map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id));
}

const ALL_BYTES = new Uint8Array(Array.from({ length: 256 }, (_, i) => i));

describe.skipIf(!dialectEnabled('postgres'))('postgres insertRecords', () => {
  it('inserts new records: all true, each reads back exactly (text and binary bodies, notes)', async () => {
    const shard = openShard(0);
    const client = openClient(0);
    const table = entitySpec();
    await shard.createTables([table]);
    const records: RecordRow[] = [
      record('plain'),
      record('quotes', { body: 'a "quoted" \\ back\\\\slash, {brace} NULL \'single\' ü 😀\n\ttab' }),
      record('NULL', { body: 'NULL', note: 'NULL' }),
      record('bin', { body: ALL_BYTES, codec: 'msgpack' }),
      record('bin-note', {
        body: new Uint8Array([0x5c, 0x22, 0x7b, 0x7d, 0x2c, 0]),
        note: 'index "bin" \\ {x}',
      }),
      record('noted', {
        note: 'work',
        version: 7,
        createdAt: 1_700_000_000_000,
        updatedAt: 1_700_000_000_123,
      }),
      record('big', { version: Number.MAX_SAFE_INTEGER, createdAt: 0, updatedAt: -5 }),
      record('space id ,{"}', { body: ' leading and trailing spaces ', note: null }),
    ];
    expect(await shard.insertRecords(table, records)).toEqual(records.map(() => true));
    const ids = records.map((r) => r.id);
    expect(await readBack(shard, table, ids)).toEqual(records.map((r) => ({ ...r, note: r.note ?? null })));
    const bin = (await readBack(shard, table, ['bin']))[0]!.body;
    expect(bin).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(bin)).toBe(false);
    // The columns as stored: text bodies in body, binary in bin, pending beside every note.
    const rows = await stored(client, table);
    expect(rows.map((r) => [r.id, r.body === null, r.bin === null, r.note, r.pending])).toEqual([
      ['NULL', false, true, 'NULL', 1],
      ['big', false, true, null, null],
      ['bin', true, false, null, null],
      ['bin-note', true, false, 'index "bin" \\ {x}', 1],
      ['noted', false, true, 'work', 1],
      ['plain', false, true, null, null],
      ['quotes', false, true, null, null],
      ['space id ,{"}', false, true, null, null],
    ]);
    expect(rows.find((r) => r.id === 'bin')!.bin).toBe(Buffer.from(ALL_BYTES).toString('hex'));
    expect(rows.find((r) => r.id === 'big')!.version).toBe(String(Number.MAX_SAFE_INTEGER));
    // The same as one insertRecord each would have stored.
    const single = entitySpec();
    await shard.createTables([single]);
    for (const r of records) expect(await shard.insertRecord(single, r)).toBe(true);
    expect(await stored(client, single)).toEqual(rows);
  });

  it('returns false exactly for ids that exist, leaving their rows unchanged, and inserts the others', async () => {
    const shard = openShard(0);
    const client = openClient(0);
    const table = entitySpec();
    await shard.createTables([table]);
    expect(
      await shard.insertRecord(table, record('b', { body: '{"old":"b"}', version: 3, note: 'old' })),
    ).toBe(true);
    expect(await shard.insertRecord(table, record('d', { body: new Uint8Array([1, 2]), version: 5 }))).toBe(
      true,
    );
    const before = await stored(client, table);
    const batch = [
      record('a'),
      record('b', { body: '{"new":"b"}', version: 1, note: null }),
      record('c', { body: new Uint8Array([9]), note: 'c' }),
      record('d', { body: 'text now', version: 1, note: 'new' }),
      record('e'),
    ];
    expect(await shard.insertRecords(table, batch)).toEqual([true, false, true, false, true]);
    const after = await stored(client, table);
    expect(after.filter((r) => r.id === 'b' || r.id === 'd')).toEqual(before);
    expect(await readBack(shard, table, ['a', 'b', 'c', 'd', 'e'])).toEqual([
      { ...batch[0], note: null },
      record('b', { body: '{"old":"b"}', version: 3, note: 'old' }),
      batch[2],
      record('d', { body: new Uint8Array([1, 2]), version: 5, note: null }),
      { ...batch[4], note: null },
    ]);
    // All existing: nothing changes.
    expect(
      await shard.insertRecords(table, [record('e', { version: 9 }), record('a', { version: 9 })]),
    ).toEqual([false, false]);
    expect(await stored(client, table)).toEqual(after);
  });

  it('splits 16,000 records into statements of at most 7,281 (65,533 values), results in order', async () => {
    const { shard, client, count } = countingShard();
    const table = entitySpec();
    await shard.createTables([table]);
    // Every 997th id exists already, spread over all three statements.
    const existing = new Set<number>();
    for (let i = 0; i < 16_000; i += 997) existing.add(i);
    await client.unsafe(
      `INSERT INTO "${table.name}" (id, body, codec, version, created_at, updated_at) SELECT 'r' || i, 'old', 'json', 1, 1, 1 FROM unnest($1::int4[]) AS i`,
      [`{${[...existing].join(',')}}`],
    );
    const records = Array.from({ length: 16_000 }, (_, i) =>
      record(
        `r${i}`,
        i % 2 === 0 ? { body: `{"n":${i}}` } : { body: new Uint8Array([i & 255, i >> 8]), note: `n${i}` },
      ),
    );
    const before = count(/^INSERT/);
    const result = await shard.insertRecords(table, records);
    expect(count(/^INSERT/) - before).toBe(3);
    expect(result).toEqual(records.map((_, i) => !existing.has(i)));
    const rows = await client.unsafe(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE body = 'old')::int AS old FROM "${table.name}"`,
    );
    expect({ ...rows[0] }).toEqual({ n: 16_000, old: existing.size });
    const sample = [1, 2, 7280, 7281, 7282, 14_562, 14_563, 15_999];
    expect(
      await readBack(
        shard,
        table,
        sample.map((i) => `r${i}`),
      ),
    ).toEqual(sample.map((i) => ({ ...records[i]!, note: records[i]!.note ?? null })));
  });

  it('sends large records alone, and splits the others into statements of at most 16 MiB of data', async () => {
    const { shard, client, count } = countingShard();
    const table = entitySpec();
    await shard.createTables([table]);
    await shard.insertRecord(table, record('big2', { body: 'old' }));
    const mib = 1024 * 1024;
    // 6 MiB of text, or 3 MiB of bytes: each in a statement of its own, not in an array literal.
    const big = Array.from({ length: 5 }, (_, i) =>
      record(`big${i}`, {
        body: i % 2 === 0 ? String.fromCharCode(97 + i).repeat(6 * mib) : new Uint8Array(3 * mib).fill(i),
      }),
    );
    // 2,200 records of 7,900 characters (17 MiB in all): two unnest statements.
    const mid = Array.from({ length: 2200 }, (_, i) =>
      record(`mid${String(i).padStart(4, '0')}`, { body: 'm'.repeat(7900) }),
    );
    const unnest = () => count(/unnest/);
    const before = unnest();
    const result = await shard.insertRecords(table, [...mid.slice(0, 1000), ...big, ...mid.slice(1000)]);
    expect(result).toEqual([...Array(1002).fill(true), false, ...Array(1202).fill(true)]);
    expect(unnest() - before).toBe(2);
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
    const counted = await client.unsafe(
      `SELECT count(*)::int AS n FROM "${table.name}" WHERE id LIKE 'mid%'`,
    );
    expect(counted[0]?.n).toBe(2200);
    const back = await readBack(shard, table, ['big0', 'big3', 'big4']);
    expect(back[0]!.body).toBe(big[0]!.body);
    // Compared as bytes: an element-wise toEqual of 3 MiB takes seconds.
    expect(Buffer.compare(back[1]!.body as Uint8Array, big[3]!.body as Uint8Array)).toBe(0);
    expect(back[2]!.body).toBe(big[4]!.body);
  });

  it('inside a transaction: inserts, a duplicate does not abort it, and a throw rolls all back', async () => {
    const shard = openShard(0);
    const client = openClient(0);
    const table = entitySpec();
    await shard.createTables([table]);
    await shard.insertRecord(table, record('x'));
    const committed = await shard.transaction(async (tx) => {
      const result = await tx.insertRecords(table, [record('x', { version: 2 }), record('a'), record('b')]);
      // The transaction is still usable after a duplicate.
      expect(await tx.getRecords(table, ['a'])).toHaveLength(1);
      return result;
    });
    expect(committed).toEqual([false, true, true]);
    expect((await stored(client, table)).map((r) => [r.id, r.version])).toEqual([
      ['a', '1'],
      ['b', '1'],
      ['x', '1'],
    ]);
    const boom = new Error('boom');
    const failed = shard.transaction(async (tx) => {
      expect(await tx.insertRecords(table, [record('c'), record('a'), record('d', { note: 'n' })])).toEqual([
        true,
        false,
        true,
      ]);
      expect(await tx.getRecords(table, ['c', 'd'])).toHaveLength(2);
      throw boom;
    });
    await expect(failed).rejects.toBe(boom);
    expect((await stored(client, table)).map((r) => r.id)).toEqual(['a', 'b', 'x']);
  });

  it('stores an empty body and an empty binary body', async () => {
    const shard = openShard(0);
    const client = openClient(0);
    const table = entitySpec();
    await shard.createTables([table]);
    const records = [
      record('empty', { body: '' }),
      record('empty-bin', { body: new Uint8Array(0) }),
      record('empty-note', { body: '', note: '' }),
    ];
    expect(await shard.insertRecords(table, records)).toEqual([true, true, true]);
    expect((await stored(client, table)).map((r) => [r.id, r.body, r.bin, r.note, r.pending])).toEqual([
      ['empty', '', null, null, null],
      ['empty-bin', null, '', null, null],
      ['empty-note', '', null, '', 1],
    ]);
    const back = await readBack(shard, table, ['empty', 'empty-bin', 'empty-note']);
    expect(back).toEqual([{ ...records[0], note: null }, { ...records[1], note: null }, records[2]]);
    expect(back[1]!.body).toBeInstanceOf(Uint8Array);
  });
});
