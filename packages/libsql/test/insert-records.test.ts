import { join } from 'node:path';
import { createClient } from '@libsql/client';
import type { RecordRow, Shard } from '@waffle/core';
import type { SQLWrapper } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/libsql';
import { describe, expect, it } from 'vitest';
import { libsqlShard } from '../src/index.js';
import { Executor, statementOf } from '../src/libsql-exec.js';
import { insertRecords } from '../src/libsql-records.js';
import { libsqlTables } from '../src/libsql-tables.js';
import { backends, onCleanup, openShard, posts, record, tempDir } from './helpers.js';

async function ready(backend: (typeof backends)[number]): Promise<Shard> {
  const shard = openShard(backend);
  await shard.createTables([posts]);
  return shard;
}

/** Every record of `posts`, by id. */
async function stored(shard: Shard): Promise<Map<string, RecordRow>> {
  return new Map((await shard.scanRecords(posts, undefined, 1_000_000)).map((r) => [r.id, r]));
}

/** `n` records `<prefix>00000`, `<prefix>00001`, … with ~100-character bodies. */
function many(prefix: string, n: number): RecordRow[] {
  return Array.from({ length: n }, (_, i) => {
    const id = `${prefix}${String(i).padStart(5, '0')}`;
    return record(id, {
      body: `{"id":"${id}","pad":"${'x'.repeat(80)}"}`,
      note: i % 3 === 0 ? `n${i}` : null,
    });
  });
}

describe.each(backends)('insertRecords (%s)', (backend) => {
  it('inserts new records and each reads back exactly', async () => {
    const shard = await ready(backend);
    const rows = [
      record('text', {
        body: '{"title":"héllo 😀"}',
        version: 3,
        createdAt: 1_700_000_000_123,
        updatedAt: 1_700_000_000_456,
        note: '{"todo":["by_time"]}',
      }),
      record('bin', { codec: 'msgpack', body: new Uint8Array([0, 1, 2, 254, 255]), note: null }),
      record('plain', { note: 'é 😀' }),
      record('bin-noted', { codec: 'msgpack', body: new Uint8Array([9]), note: 'n' }),
      record('no-note'),
    ];
    expect(await shard.insertRecords(posts, rows)).toEqual([true, true, true, true, true]);
    const got = await stored(shard);
    expect(got.size).toBe(rows.length);
    for (const r of rows) expect(got.get(r.id)).toEqual({ ...r, note: r.note ?? null });
    const bin = got.get('bin')!.body;
    expect(Object.getPrototypeOf(bin)).toBe(Uint8Array.prototype);
    // Notes are found through the pending column, so it must be set with them.
    expect((await shard.scanNotes(posts, undefined, 10)).map((r) => r.id)).toEqual([
      'bin-noted',
      'plain',
      'text',
    ]);
  });

  it('reports false only for existing ids, leaving their rows unchanged', async () => {
    const shard = await ready(backend);
    const old1 = record('b', { version: 7, body: 'old b', note: 'kept' });
    const old2 = record('d', { codec: 'msgpack', version: 2, body: new Uint8Array([1, 2]) });
    await shard.insertRecord(posts, old1);
    await shard.insertRecord(posts, old2);
    const rows = [
      record('a', { body: 'new a' }),
      record('b', { body: 'new b', note: null }),
      record('c', { body: new Uint8Array([3]), codec: 'msgpack', note: 'c' }),
      record('d', { body: 'new d', version: 1 }),
      record('e'),
    ];
    expect(await shard.insertRecords(posts, rows)).toEqual([true, false, true, false, true]);
    const got = await stored(shard);
    expect([...got.keys()]).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(got.get('b')).toEqual(old1);
    expect(got.get('d')).toEqual({ ...old2, note: null });
    for (const r of [rows[0]!, rows[2]!, rows[4]!])
      expect(got.get(r.id)).toEqual({ ...r, note: r.note ?? null });
    expect((await shard.scanNotes(posts, undefined, 10)).map((r) => r.id)).toEqual(['b', 'c']);
  });

  it('inserts more records than one statement binds, keeping the order of results', async () => {
    const shard = await ready(backend);
    // 9 values a record: 32766 parameters hold 3640 records, so 8000 take three statements.
    const rows = many('r', 8000);
    const existing = [5, 3639, 3640, 3641, 7279, 7280, 7999];
    for (const i of existing) await shard.insertRecord(posts, { ...rows[i]!, body: 'earlier', note: null });
    // Shuffled, so results must follow the input order, not the id order.
    const order = rows.map((_, i) => (i * 7919) % rows.length);
    expect(new Set(order).size).toBe(rows.length);
    const input = order.map((i) => rows[i]!);
    const result = await shard.insertRecords(posts, input);
    expect(result).toEqual(order.map((i) => !existing.includes(i)));
    const got = await stored(shard);
    expect(got.size).toBe(rows.length);
    rows.forEach((r, i) => {
      expect(got.get(r.id)).toEqual(
        existing.includes(i) ? { ...r, body: 'earlier', note: null } : { ...r, note: r.note ?? null },
      );
    });
  });

  it('inserts inside a transaction, and nothing when the transaction fails', async () => {
    const shard = await ready(backend);
    await shard.insertRecord(posts, record('x', { body: 'old x' }));
    const inside = await shard.transaction((tx) =>
      tx.insertRecords(posts, [record('a'), record('x'), record('b', { note: 'n' })]),
    );
    expect(inside).toEqual([true, false, true]);
    expect([...(await stored(shard)).keys()]).toEqual(['a', 'b', 'x']);
    const seen: boolean[][] = [];
    await expect(
      shard.transaction(async (tx) => {
        seen.push(await tx.insertRecords(posts, [record('c'), ...many('t', 4000), record('a')]));
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(seen[0]!.length).toBe(4002);
    expect(seen[0]!.filter((ok) => !ok).length).toBe(1);
    const got = await stored(shard);
    expect([...got.keys()]).toEqual(['a', 'b', 'x']);
    expect(got.get('x')!.body).toBe('old x');
  });

  it('inserts an empty text body and an empty binary body', async () => {
    const shard = await ready(backend);
    const rows = [
      record('empty-text', { body: '' }),
      record('empty-bin', { codec: 'msgpack', body: new Uint8Array(0) }),
    ];
    expect(await shard.insertRecords(posts, rows)).toEqual([true, true]);
    const got = await stored(shard);
    expect(got.get('empty-text')!.body).toBe('');
    const empty = got.get('empty-bin')!.body;
    expect(empty).toBeInstanceOf(Uint8Array);
    expect((empty as Uint8Array).length).toBe(0);
    expect(got.get('empty-bin')!.codec).toBe('msgpack');
  });
});

describe('insertRecords statements', () => {
  /** Records every statement an executor runs. */
  class Recording extends Executor {
    readonly sql: string[] = [];
    readonly params: number[] = [];
    override rows(query: SQLWrapper) {
      const statement = statementOf(query);
      this.sql.push(statement.sql);
      this.params.push(statement.params.length);
      return super.rows(query);
    }
  }

  it('chunks by the parameter limit into full statements of one shape and a remainder', async () => {
    const client = createClient({ url: `file:${join(tempDir(), 'shard.db')}` });
    const shard = libsqlShard({ client });
    onCleanup(async () => {
      await shard.close();
      client.close();
    });
    await shard.createTables([posts]);
    await shard.insertRecord(posts, record('r00002', { body: 'earlier' }));
    await shard.insertRecord(posts, record('r00006', { body: 'earlier' }));
    const exec = new Recording(drizzle(client), { name: 'test', closed: false });
    const t = libsqlTables().entity(posts);
    const rows = many('r', 7);
    // 20 parameters hold two records of 9 values.
    expect(await insertRecords(exec, t, rows, 20)).toEqual([true, true, false, true, true, true, false]);
    expect(exec.params).toEqual([18, 18, 18, 9]);
    expect(new Set(exec.sql).size).toBe(2);
    expect(exec.sql[0]).toBe(
      'INSERT INTO "posts" ("id", "body", "bin", "codec", "version", "created_at", "updated_at", "note", "pending") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT ("id") DO NOTHING RETURNING "id"',
    );
    const got = await stored(shard);
    expect(got.size).toBe(7);
    expect(got.get('r00002')!.body).toBe('earlier');
    expect(got.get('r00003')).toEqual(rows[3]);
  });
});
