import { createClient, type InArgs, type InStatement } from '@libsql/client';
import { ValidationError } from '@waffle/core';
import { describe, expect, it } from 'vitest';
import { libsqlShard } from '../src/index.js';
import { indexSpec, onCleanup, posts, record } from './helpers.js';

const byTime = indexSpec('by_time', [
  ['time', 'integer'],
  ['tag', 'text', true],
]);

/** A shard on an in-memory client the test can also query directly. */
function memoryWithClient() {
  const client = createClient({ url: ':memory:' });
  const shard = libsqlShard({ client });
  onCleanup(async () => {
    await shard.close();
    client.close();
  });
  return { client, shard };
}

describe('SQLite table layout', () => {
  it('creates the entity, index, history and metadata tables as documented', async () => {
    const { client, shard } = memoryWithClient();
    await shard.createTables([posts, byTime, { kind: 'history', name: 'posts_history' }]);
    const info = async (table: string) =>
      (await client.execute(`PRAGMA table_info("${table}")`)).rows.map((r) => [
        r.name,
        r.type,
        Number(r.notnull),
        Number(r.pk),
      ]);
    expect(await info('posts')).toEqual([
      ['id', 'TEXT', 1, 1],
      ['body', 'TEXT', 0, 0],
      ['bin', 'BLOB', 0, 0],
      ['codec', 'TEXT', 1, 0],
      ['version', 'INTEGER', 1, 0],
      ['created_at', 'INTEGER', 1, 0],
      ['updated_at', 'INTEGER', 1, 0],
      ['note', 'TEXT', 0, 0],
      ['pending', 'INTEGER', 0, 0],
    ]);
    const indices = (await client.execute(`PRAGMA index_list("posts")`)).rows.filter((r) => r.origin === 'c');
    // Partial: over the rows with a note only, so a write that leaves none adds no entry to it.
    expect(indices.map((r) => [r.name, Number(r.unique), Number(r.partial)])).toEqual([
      ['__pending_posts', 0, 1],
    ]);
    const indexed = (await client.execute(`PRAGMA index_info("__pending_posts")`)).rows.map((r) => r.name);
    expect(indexed).toEqual(['pending', 'id']);
    expect(await info('posts_history')).toEqual([
      ['id', 'TEXT', 1, 1],
      ['body', 'TEXT', 0, 0],
      ['bin', 'BLOB', 0, 0],
      ['codec', 'TEXT', 1, 0],
      ['version', 'INTEGER', 1, 2],
      ['created_at', 'INTEGER', 1, 0],
      ['updated_at', 'INTEGER', 1, 0],
      ['deleted', 'INTEGER', 1, 0],
    ]);
    expect(await info('by_time')).toEqual([
      ['time', 'INTEGER', 1, 1],
      ['tag', 'TEXT', 0, 2],
      ['__id', 'TEXT', 1, 3],
      ['__version', 'INTEGER', 1, 0],
    ]);
    expect(await info('__waffle_meta')).toEqual([
      ['key', 'TEXT', 1, 1],
      ['value', 'TEXT', 1, 0],
    ]);
  });

  it('maps every column kind to its SQLite type and storage class', async () => {
    const { client, shard } = memoryWithClient();
    const kinds = indexSpec('kinds', [
      ['i', 'integer'],
      ['b', 'bigint'],
      ['r', 'real'],
      ['t', 'text'],
      ['f', 'boolean'],
      ['d', 'timestamp'],
      ['x', 'bytes'],
    ]);
    await shard.createTables([kinds]);
    const rows = (await client.execute('PRAGMA table_info("kinds")')).rows;
    expect(rows.map((r) => r.type)).toEqual([
      'INTEGER',
      'INTEGER',
      'REAL',
      'TEXT',
      'INTEGER',
      'INTEGER',
      'BLOB',
      'TEXT',
      'INTEGER',
    ]);
    await shard.putIndexRows(kinds, [
      { id: 'a', values: [1, 2n, 1.5, 't', true, new Date(42), new Uint8Array([1])], version: 1 },
    ]);
    const stored = (
      await client.execute(
        'SELECT typeof(i), typeof(b), typeof(r), typeof(t), f, typeof(f), d, typeof(d), typeof(x) FROM kinds',
      )
    ).rows[0]!;
    expect(Array.from(stored)).toEqual([
      'integer',
      'integer',
      'real',
      'text',
      1,
      'integer',
      42,
      'integer',
      'blob',
    ]);
  });

  it('stores text bodies in body and binary ones in bin, with pending beside every note', async () => {
    const { client, shard } = memoryWithClient();
    await shard.createTables([posts]);
    await shard.commit({
      table: posts,
      writes: [
        { row: record('t', { note: 'n' }), expected: 0 },
        { row: record('b', { codec: 'msgpack', body: new Uint8Array([1, 2]) }), expected: 0 },
      ],
    });
    const rows = await client.execute(
      'SELECT id, typeof(body), typeof(bin), note, pending FROM posts ORDER BY id',
    );
    expect(rows.rows.map((r) => Array.from(r))).toEqual([
      ['b', 'null', 'blob', null, null],
      ['t', 'text', 'null', 'n', 1],
    ]);
  });

  it('scans notes through the (pending, id) index, without sorting', async () => {
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
      await shard.scanRecords(posts, { after, limit: 10, notes: true });
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

  it('uses a free name of the row id (rowid, _rowid_, oid) beside user columns, and refuses a table that takes all three', async () => {
    const { client, shard } = memoryWithClient();
    const two = indexSpec('by_rowid', [
      ['rowid', 'integer'],
      ['_rowid_', 'integer'],
    ]);
    await shard.createTables([two]);
    await shard.putIndexRows(two, [
      { id: 'a', values: [7, 8], version: 1 },
      { id: 'b', values: [7, 9], version: 1 },
    ]);
    // The delete finds its rows through `oid`, never through the user's `rowid` column.
    await shard.deleteIndexRows(two, [{ id: 'a', values: [7, 8], version: 2 }]);
    const left = await client.execute('SELECT __id FROM by_rowid');
    expect(left.rows.map((r) => r[0])).toEqual(['b']);
    const three = indexSpec('by_all', [
      ['rowid', 'integer'],
      ['_rowid_', 'integer'],
      ['OID', 'integer'],
    ]);
    const error = await shard.createTables([three]).catch((e) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toBe(
      'Index "by_all": columns rowid, _rowid_ and oid together hide SQLite\'s row id',
    );
    expect((await client.execute("SELECT name FROM sqlite_master WHERE name = 'by_all'")).rows).toEqual([]);
  });
});
