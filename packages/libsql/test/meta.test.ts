import { createClient } from '@libsql/client';
import { describe, expect, it } from 'vitest';
import { libsqlShard } from '../src/index.js';
import { backends, indexSpec, onCleanup, openShard, posts } from './helpers.js';

const byTime = indexSpec('by_time', [
  ['time', 'integer'],
  ['tag', 'text', true],
]);

function memoryWithClient() {
  const client = createClient({ url: ':memory:' });
  const shard = libsqlShard({ client });
  onCleanup(async () => {
    await shard.close();
    client.close();
  });
  return { client, shard };
}

describe.each(backends)('tables and metadata (%s)', (backend) => {
  it('reads no metadata before the metadata table exists', async () => {
    const shard = openShard(backend);
    expect(await shard.readMeta(['a', 'b'])).toEqual(new Map());
    expect(await shard.readMeta([])).toEqual(new Map());
  });

  it('creates tables idempotently, with the metadata table', async () => {
    const shard = openShard(backend);
    await shard.createTables([posts, byTime]);
    await shard.createTables([posts, byTime]);
    await shard.createTables([]);
    expect(await shard.readMeta(['x'])).toEqual(new Map());
  });

  it('writes a metadata value only once and reads present keys', async () => {
    const shard = openShard(backend);
    await shard.createTables([posts]);
    expect(await shard.writeMeta('posts', 'primary-key:2:0')).toBe('primary-key:2:0');
    expect(await shard.writeMeta('posts', 'primary-key:3:1')).toBe('primary-key:2:0');
    expect(await shard.writeMeta('by_time', 'v')).toBe('v');
    expect(await shard.readMeta(['posts', 'missing', 'by_time', 'posts'])).toEqual(
      new Map([
        ['posts', 'primary-key:2:0'],
        ['by_time', 'v'],
      ]),
    );
  });

  it('writes metadata even before createTables', async () => {
    const shard = openShard(backend);
    expect(await shard.writeMeta('k', 'v')).toBe('v');
    expect(await shard.readMeta(['k'])).toEqual(new Map([['k', 'v']]));
  });
});

describe('table layout', () => {
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
    expect(indices.map((r) => [r.name, Number(r.unique)])).toEqual([['__pending_posts', 0]]);
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

  it('maps every column kind to its SQLite type', async () => {
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
});
