import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { QueryError, type Shard } from '@waffle/core';
import { describe, expect, it } from 'vitest';
import { libsqlShard } from '../src/index.js';
import { backends, indexSpec, onCleanup, openShard, posts, record, tempDir } from './helpers.js';

const byTime = indexSpec('by_time', [['time', 'integer']]);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function ready(shard: Shard): Promise<Shard> {
  await shard.createTables([posts, byTime]);
  return shard;
}

describe('transactions on :memory:', () => {
  it('keeps the database across transactions (the libSQL client once lost it)', async () => {
    const shard = await ready(openShard('memory'));
    await shard.insertRecord(posts, record('before'));
    await shard.transaction(async (tx) => {
      await tx.insertRecord(posts, record('inside'));
    });
    await shard.transaction(async () => undefined);
    await shard.putIndexRows(byTime, [{ id: 'after', values: [1], version: 1 }]);
    expect((await shard.getRecords(posts, ['before', 'inside'])).map((r) => r.id).sort()).toEqual([
      'before',
      'inside',
    ]);
    expect(await shard.readMeta(['x'])).toEqual(new Map());
  });

  it('keeps the database of a client passed in', async () => {
    const client = createClient({ url: ':memory:' });
    const shard = await ready(libsqlShard({ client }));
    onCleanup(async () => {
      await shard.close();
      client.close();
    });
    await shard.transaction((tx) => tx.insertRecord(posts, record('a')));
    expect((await client.execute('SELECT id FROM posts')).rows.map((r) => r.id)).toEqual(['a']);
  });
});

describe.each(backends)('transactions (%s)', (backend) => {
  it('commits every operation of the work together', async () => {
    const shard = await ready(openShard(backend));
    await shard.insertRecord(posts, record('a'));
    const result = await shard.transaction(async (tx) => {
      expect(await tx.updateRecord(posts, record('a', { version: 2 }), 1)).toBe(true);
      expect(await tx.insertRecord(posts, record('b'))).toBe(true);
      await tx.putIndexRows(byTime, [
        { id: 'a', values: [1], version: 2 },
        { id: 'b', values: [2], version: 1 },
      ]);
      await tx.deleteIndexRows(byTime, [{ id: 'b', values: [2], version: 2 }]);
      expect(await tx.deleteRecord(posts, 'b', 1)).toBe(true);
      expect((await tx.getRecords(posts, ['a']))[0]!.version).toBe(2);
      expect((await tx.scanRecords(posts, undefined, 10)).map((r) => r.id)).toEqual(['a']);
      return (await tx.queryIndex(byTime, { where: undefined, orderBy: [], limit: 10 })).map((r) => r.id);
    });
    expect(result).toEqual(['a']);
    expect((await shard.getRecords(posts, ['a', 'b'])).map((r) => [r.id, r.version])).toEqual([['a', 2]]);
  });

  it('rolls back when the work throws, passing its error through unchanged', async () => {
    const shard = await ready(openShard(backend));
    const boom = new Error('boom');
    const failed = shard.transaction(async (tx) => {
      await tx.insertRecord(posts, record('a'));
      await tx.putIndexRows(byTime, [{ id: 'a', values: [1], version: 1 }]);
      throw boom;
    });
    await expect(failed).rejects.toBe(boom);
    expect(await shard.getRecords(posts, ['a'])).toEqual([]);
    expect(await shard.queryIndex(byTime, { where: undefined, orderBy: [], limit: 10 })).toEqual([]);
  });

  it('rolls back on a driver error and reports it as a QueryError', async () => {
    const shard = await ready(openShard(backend));
    const failed = shard.transaction(async (tx) => {
      await tx.insertRecord(posts, record('a'));
      await tx.getRecords({ kind: 'entity', name: 'missing' }, ['a']);
    });
    await expect(failed).rejects.toBeInstanceOf(QueryError);
    expect(await shard.getRecords(posts, ['a'])).toEqual([]);
  });

  it('lets other calls wait for a running transaction instead of failing', async () => {
    const shard = await ready(openShard(backend));
    const order: string[] = [];
    const tx = shard.transaction(async (t) => {
      await t.insertRecord(posts, record('a'));
      await pause(30);
      order.push('tx');
    });
    const reads = Promise.all([
      shard.getRecords(posts, ['a']).then((rows) => {
        order.push('read');
        return rows;
      }),
      shard.insertRecord(posts, record('b')),
      shard.putIndexRows(byTime, [{ id: 'b', values: [1], version: 1 }]),
    ]);
    await tx;
    const [rows] = await reads;
    expect(order).toEqual(['tx', 'read']);
    expect(rows.map((r) => r.id)).toEqual(['a']);
  });

  it('serialises concurrent transactions (compare-and-set increments never lose updates)', async () => {
    const shard = await ready(openShard(backend));
    await shard.insertRecord(posts, record('counter', { version: 1 }));
    const increment = () =>
      shard.transaction(async (tx) => {
        const [current] = await tx.getRecords(posts, ['counter']);
        await pause(1);
        const ok = await tx.updateRecord(
          posts,
          record('counter', { version: current!.version + 1 }),
          current!.version,
        );
        if (!ok) throw new Error('lost update');
      });
    await Promise.all(Array.from({ length: 40 }, increment));
    expect((await shard.getRecords(posts, ['counter']))[0]!.version).toBe(41);
  });

  it('refuses the transaction object after the transaction ended', async () => {
    const shard = await ready(openShard(backend));
    const leaked = await shard.transaction(async (tx) => tx);
    await expect(leaked.getRecords(posts, ['a'])).rejects.toBeInstanceOf(QueryError);
  });
});

describe('first use', () => {
  it('prepares the connection once even when the first calls are concurrent', async () => {
    const path = join(tempDir(), 'race.db');
    const shard = libsqlShard({ url: `file:${path}` });
    onCleanup(() => shard.close());
    await Promise.all([
      shard.createTables([posts]),
      shard.readMeta(['a']),
      shard.transaction(async () => 1),
      shard.getRecords(posts, []),
      shard.writeMeta('k', 'v'),
    ]);
    const client = createClient({ url: `file:${path}` });
    onCleanup(() => client.close());
    expect((await client.execute('PRAGMA journal_mode')).rows[0]![0]).toBe('wal');
  });
});
