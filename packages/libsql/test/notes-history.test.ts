import { join } from 'node:path';
import { createClient, type InArgs, type InStatement } from '@libsql/client';
import type { HistoryRow, HistoryTableSpec } from '@waffle/core';
import { describe, expect, it } from 'vitest';
import { libsqlShard } from '../src/index.js';
import { backends, onCleanup, openShard, posts, record, tempDir } from './helpers.js';

const history: HistoryTableSpec = { kind: 'history', name: 'posts_history' };

function version(id: string, over: Partial<HistoryRow> = {}): HistoryRow {
  return {
    id,
    version: 1,
    codec: 'json',
    body: `{"id":${JSON.stringify(id)}}`,
    createdAt: 1000,
    updatedAt: 2000,
    deleted: false,
    ...over,
  };
}

/** A shard on a client the test can also query directly. */
function withClient(backend: (typeof backends)[number]) {
  const url = backend === 'memory' ? ':memory:' : `file:${join(tempDir(), 'shard.db')}`;
  const client = createClient({ url });
  const shard = libsqlShard({ client });
  onCleanup(async () => {
    await shard.close();
    client.close();
  });
  return { client, shard };
}

describe.each(backends)('record notes (%s)', (backend) => {
  it('writes notes on insert and update and reads them back', async () => {
    const shard = openShard(backend);
    await shard.createTables([posts]);
    const a = record('a', { note: '{"todo":["by_time"]}' });
    expect(await shard.insertRecord(posts, a)).toBe(true);
    await shard.insertRecord(posts, record('b'));
    expect(await shard.getRecords(posts, ['a'])).toEqual([a]);
    expect((await shard.getRecords(posts, ['b']))[0]!.note).toBeNull();
    const a2 = record('a', { version: 2, body: 'v2', note: 'second' });
    const b2 = record('b', { version: 2, note: 'é 😀' });
    expect(await shard.updateRecord(posts, a2, 1)).toBe(true);
    expect(await shard.updateRecord(posts, b2, 1)).toBe(true);
    expect(await shard.getRecords(posts, ['a'])).toEqual([a2]);
    expect(await shard.scanRecords(posts, undefined, 10)).toEqual([a2, b2]);
  });

  it('clears a previous note when an update has none', async () => {
    const shard = openShard(backend);
    await shard.createTables([posts]);
    await shard.insertRecord(posts, record('a', { note: 'n1' }));
    await shard.insertRecord(posts, record('b', { note: 'n1' }));
    expect(await shard.updateRecord(posts, record('a', { version: 2 }), 1)).toBe(true);
    expect(await shard.updateRecord(posts, record('b', { version: 2, note: null }), 1)).toBe(true);
    expect((await shard.getRecords(posts, ['a', 'b'])).map((r) => r.note)).toEqual([null, null]);
    expect(await shard.scanNotes(posts, undefined, 10)).toEqual([]);
  });

  it('clears a note only at the stored version, and again at it', async () => {
    const shard = openShard(backend);
    await shard.createTables([posts]);
    const r = record('a', { version: 2, body: 'kept', note: 'n' });
    await shard.insertRecord(posts, r);
    expect(await shard.clearNote(posts, 'a', 1)).toBe(false);
    expect(await shard.clearNote(posts, 'a', 3)).toBe(false);
    expect(await shard.getRecords(posts, ['a'])).toEqual([r]);
    expect((await shard.scanNotes(posts, undefined, 10)).map((x) => x.id)).toEqual(['a']);
    expect(await shard.clearNote(posts, 'a', 2)).toBe(true);
    expect(await shard.getRecords(posts, ['a'])).toEqual([{ ...r, note: null }]);
    expect(await shard.clearNote(posts, 'a', 2)).toBe(true);
    expect(await shard.getRecords(posts, ['a'])).toEqual([{ ...r, note: null }]);
    expect(await shard.clearNote(posts, 'missing', 1)).toBe(false);
    expect(await shard.scanNotes(posts, undefined, 10)).toEqual([]);
  });

  it('scans only noted records in id order, paging with after and limit', async () => {
    const shard = openShard(backend);
    await shard.createTables([posts]);
    // Code point order, as scanRecords: 'B' < 'a' < 'ab' < 'é' < U+FFFD < U+1F600.
    const noted = ['😀', 'a', '\uFFFD', 'B', 'é'];
    for (const id of noted) await shard.insertRecord(posts, record(id, { note: `note ${id}` }));
    for (const id of ['A', 'ab', 'z', '\uFFFE']) await shard.insertRecord(posts, record(id));
    const all = await shard.scanNotes(posts, undefined, 100);
    expect(all.map((r) => r.id)).toEqual(['B', 'a', 'é', '\uFFFD', '😀']);
    expect(all.map((r) => r.note)).toEqual(['note B', 'note a', 'note é', 'note \uFFFD', 'note 😀']);
    expect(all[0]).toEqual(record('B', { note: 'note B' }));
    expect((await shard.scanNotes(posts, undefined, 2)).map((r) => r.id)).toEqual(['B', 'a']);
    expect((await shard.scanNotes(posts, 'a', 2)).map((r) => r.id)).toEqual(['é', '\uFFFD']);
    expect((await shard.scanNotes(posts, 'ab', 10)).map((r) => r.id)).toEqual(['é', '\uFFFD', '😀']);
    expect(await shard.scanNotes(posts, '😀', 10)).toEqual([]);
    for (const id of ['B', 'é']) expect(await shard.clearNote(posts, id, 1)).toBe(true);
    expect((await shard.scanNotes(posts, undefined, 100)).map((r) => r.id)).toEqual(['a', '\uFFFD', '😀']);
    for (const id of ['a', '\uFFFD', '😀']) expect(await shard.clearNote(posts, id, 1)).toBe(true);
    expect(await shard.scanNotes(posts, undefined, 100)).toEqual([]);
    expect((await shard.scanRecords(posts, undefined, 100)).length).toBe(9);
  });
});

describe('notes index', () => {
  it('scanNotes reads through the (pending, id) index', async () => {
    const client = createClient({ url: ':memory:' });
    const seen: InStatement[] = [];
    const watched = new Proxy(client, {
      get(target, key) {
        if (key === 'execute') {
          return (statement: InStatement) => {
            seen.push(statement);
            return target.execute(statement);
          };
        }
        const value = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const shard = libsqlShard({ client: watched });
    onCleanup(async () => {
      await shard.close();
      client.close();
    });
    await shard.createTables([posts]);
    for (const after of [undefined, 'a']) {
      seen.length = 0;
      await shard.scanNotes(posts, after, 10);
      const scan = seen.find((s) => typeof s === 'object' && /"pending"/.test(s.sql));
      expect(scan).toBeDefined();
      const { sql, args } = scan as { sql: string; args: InArgs };
      const plan = await client.execute({ sql: `EXPLAIN QUERY PLAN ${sql}`, args });
      const detail = plan.rows.map((r) => String(r.detail)).join('\n');
      expect(detail).toContain(
        `USING INDEX __pending_posts (pending=?${after === undefined ? '' : ' AND id>?'})`,
      );
      expect(detail).not.toContain('TEMP B-TREE');
    }
  });
});

describe.each(backends)('history (%s)', (backend) => {
  it('stores text, binary and tombstone versions and reads them in version order', async () => {
    const shard = openShard(backend);
    await shard.createTables([posts, history]);
    const v1 = version('a', { body: '{"t":"héllo 😀"}', createdAt: 1_700_000_000_123, updatedAt: 1 });
    const v2 = version('a', { version: 2, codec: 'msgpack', body: new Uint8Array([0, 1, 254, 255]) });
    const v3 = version('a', { version: 2 ** 31 + 5, body: '', deleted: true, updatedAt: 9 });
    const other = version('b', { version: 2, body: new Uint8Array(0), codec: 'msgpack' });
    expect(await shard.insertHistory(history, v3)).toBe(true);
    expect(await shard.insertHistory(history, v1)).toBe(true);
    expect(await shard.insertHistory(history, v2)).toBe(true);
    expect(await shard.insertHistory(history, other)).toBe(true);
    const got = await shard.getHistory(history, 'a');
    expect(got).toEqual([v1, v2, v3]);
    expect(Object.getPrototypeOf(got[1]!.body)).toBe(Uint8Array.prototype);
    expect(await shard.getHistory(history, 'a', 2)).toEqual([v2]);
    expect(await shard.getHistory(history, 'a', 2 ** 31 + 5)).toEqual([v3]);
    expect(await shard.getHistory(history, 'a', 4)).toEqual([]);
    expect(await shard.getHistory(history, 'b')).toEqual([other]);
    expect(await shard.getHistory(history, 'missing')).toEqual([]);
    expect(await shard.getHistory(history, 'missing', 1)).toEqual([]);
  });

  it('refuses a second row at the same (id, version), keeping the first', async () => {
    const shard = openShard(backend);
    await shard.createTables([history]);
    const first = version('a', { body: 'first' });
    expect(await shard.insertHistory(history, first)).toBe(true);
    expect(await shard.insertHistory(history, version('a', { body: 'second', deleted: true }))).toBe(false);
    expect(await shard.insertHistory(history, version('a', { body: new Uint8Array([1]) }))).toBe(false);
    expect(await shard.getHistory(history, 'a')).toEqual([first]);
    expect(await shard.insertHistory(history, version('a', { version: 2 }))).toBe(true);
    expect(await shard.insertHistory(history, version('b'))).toBe(true);
    expect((await shard.getHistory(history, 'a')).map((v) => v.version)).toEqual([1, 2]);
  });

  it('keeps history written in a committed transaction and none of a rolled back one', async () => {
    const shard = openShard(backend);
    await shard.createTables([posts, history]);
    await shard.transaction(async (tx) => {
      expect(await tx.insertHistory(history, version('kept'))).toBe(true);
    });
    const boom = new Error('boom');
    await expect(
      shard.transaction(async (tx) => {
        expect(await tx.insertHistory(history, version('gone'))).toBe(true);
        expect(await tx.insertHistory(history, version('kept', { version: 2 }))).toBe(true);
        expect(await tx.insertRecord(posts, record('gone', { note: 'n' }))).toBe(true);
        expect((await tx.getHistory(history, 'gone')).length).toBe(1);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await shard.getHistory(history, 'gone')).toEqual([]);
    expect(await shard.getHistory(history, 'kept')).toEqual([version('kept')]);
    expect(await shard.getRecords(posts, ['gone'])).toEqual([]);
  });
});

describe.each(backends)('upgrade (%s)', (backend) => {
  it('adds note, pending and the pending index to an entity table of the previous version', async () => {
    const { client, shard } = withClient(backend);
    // The entity table as the previous version created it.
    await client.execute(
      'CREATE TABLE IF NOT EXISTS "posts" ("id" TEXT PRIMARY KEY NOT NULL, "body" TEXT NULL, "bin" BLOB NULL, "codec" TEXT NOT NULL, "version" INTEGER NOT NULL, "created_at" INTEGER NOT NULL, "updated_at" INTEGER NOT NULL)',
    );
    await client.execute({
      sql: 'INSERT INTO "posts" ("id", "body", "bin", "codec", "version", "created_at", "updated_at") VALUES (?, ?, ?, ?, ?, ?, ?)',
      args: ['old', '{"x":1}', null, 'json', 3, 1000, 2000],
    });
    await shard.createTables([posts]);
    await shard.createTables([posts]);
    const columns = (await client.execute('PRAGMA table_info("posts")')).rows.map((r) => r.name);
    expect(columns).toEqual([
      'id',
      'body',
      'bin',
      'codec',
      'version',
      'created_at',
      'updated_at',
      'note',
      'pending',
    ]);
    const indexed = (await client.execute('PRAGMA index_info("__pending_posts")')).rows.map((r) => r.name);
    expect(indexed).toEqual(['pending', 'id']);
    const old = record('old', { version: 3, body: '{"x":1}', note: null });
    expect(await shard.getRecords(posts, ['old'])).toEqual([old]);
    expect(await shard.scanNotes(posts, undefined, 10)).toEqual([]);
    const noted = record('old', { version: 4, body: '{"x":2}', note: 'n' });
    expect(await shard.updateRecord(posts, noted, 3)).toBe(true);
    expect(await shard.getRecords(posts, ['old'])).toEqual([noted]);
    expect(await shard.scanNotes(posts, undefined, 10)).toEqual([noted]);
    expect(await shard.clearNote(posts, 'old', 4)).toBe(true);
    expect(await shard.scanNotes(posts, undefined, 10)).toEqual([]);
  });

  it('completes a table that has only some of the new columns', async () => {
    const { client, shard } = withClient(backend);
    await client.execute(
      'CREATE TABLE "posts" ("id" TEXT PRIMARY KEY NOT NULL, "body" TEXT NULL, "bin" BLOB NULL, "codec" TEXT NOT NULL, "version" INTEGER NOT NULL, "created_at" INTEGER NOT NULL, "updated_at" INTEGER NOT NULL, "note" TEXT NULL)',
    );
    await shard.createTables([posts]);
    const columns = (await client.execute('PRAGMA table_info("posts")')).rows.map((r) => r.name);
    expect(columns.slice(-2)).toEqual(['note', 'pending']);
    await shard.insertRecord(posts, record('a', { note: 'n' }));
    expect((await shard.scanNotes(posts, undefined, 10)).map((r) => r.note)).toEqual(['n']);
  });
});
