import { join } from 'node:path';
import { createClient, LibsqlError } from '@libsql/client';
import { QueryError, ShardUnavailableError, ValidationError } from '@waffle/core';
import { DrizzleQueryError } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { libsqlShard } from '../src/index.js';
import { indexSpec, onCleanup, posts, record, tempDir } from './helpers.js';

const kinds = indexSpec('kinds', [
  ['i', 'integer'],
  ['b', 'bigint'],
  ['f', 'boolean'],
  ['d', 'timestamp'],
]);

describe('identity', () => {
  it('names shards by URL without secrets', async () => {
    const memory = libsqlShard({ url: ':memory:' });
    onCleanup(() => memory.close());
    expect(memory.name).toBe('libsql::memory:');
    expect(memory.limits).toEqual({ maxParameters: 32766 });

    const dir = tempDir();
    const file = libsqlShard({ url: `file:${dir}/s0.db` });
    onCleanup(() => file.close());
    expect(file.name).toBe(`libsql:file:${dir}/s0.db`);

    // Remote clients connect lazily, so no server is needed to check the name.
    const remote = libsqlShard({
      url: 'libsql://ann:hunter2@db.example.com/x?authToken=SECRET',
      authToken: 'TOKEN',
    });
    onCleanup(() => remote.close());
    expect(remote.name).toBe('libsql:libsql://db.example.com/x');
    expect(remote.name).not.toMatch(/hunter2|SECRET|TOKEN/);

    const client = createClient({ url: ':memory:' });
    onCleanup(() => client.close());
    expect(libsqlShard({ client }).name).toBe('libsql:client(file)');
    expect(libsqlShard({ client, name: 'libsql:shard-7' }).name).toBe('libsql:shard-7');
  });

  it('rejects bad options without leaking secrets', () => {
    const thrown = (open: () => unknown): Error => {
      try {
        open();
      } catch (error) {
        return error as Error;
      }
      throw new Error('did not throw');
    };
    for (const url of [
      'ftp://host/db?authToken=SECRET',
      'not a url?authToken=SECRET',
      'libsql://h:99999/x?authToken=SECRET',
    ]) {
      const error = thrown(() => libsqlShard({ url, authToken: 'TOKEN' }));
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.message).toMatch(/^Cannot open libsql:/);
      expect(String(error.message) + String((error.cause as Error | undefined)?.message)).not.toMatch(
        /SECRET|TOKEN/,
      );
    }
    const missing = thrown(() => libsqlShard({ url: `file:${tempDir()}/no/such/dir/x.db` }));
    expect(missing).toBeInstanceOf(ShardUnavailableError);
    expect(thrown(() => libsqlShard({ url: ':memory:', busyTimeout: -1 }))).toBeInstanceOf(ValidationError);
    expect(thrown(() => libsqlShard({ url: ':memory:', busyTimeout: 1.5 }))).toBeInstanceOf(ValidationError);
  });
});

describe('errors', () => {
  it('keeps the libSQL error (not drizzle’s wrapper) as the cause of a QueryError', async () => {
    const shard = libsqlShard({ url: ':memory:' });
    onCleanup(() => shard.close());
    const error = await shard
      .getRecords({ kind: 'entity', name: 'nope' }, ['a', 'b'])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueryError);
    const q = error as QueryError;
    expect(q.message).toContain('no such table: nope');
    expect(q.message).toContain('libsql::memory:');
    expect(q.sql).toMatch(/^select .* from "nope" where "nope"\."id" in \(\?, \?\)$/);
    expect(q.params).toEqual(['a', 'b']);
    expect(q.cause).toBeInstanceOf(LibsqlError);
    expect(q.cause).not.toBeInstanceOf(DrizzleQueryError);
    expect((q.cause as LibsqlError).code).toBe('SQLITE_ERROR');
  });
});

describe('close', () => {
  it('closes a client it opened', async () => {
    const shard = libsqlShard({ url: `file:${join(tempDir(), 'c.db')}` });
    await shard.createTables([posts]);
    await shard.close();
    await expect(shard.getRecords(posts, ['a'])).rejects.toBeInstanceOf(QueryError);
  });

  it('leaves a client passed in open', async () => {
    const client = createClient({ url: ':memory:' });
    onCleanup(() => client.close());
    const shard = libsqlShard({ client });
    await shard.createTables([posts]);
    expect(await shard.commit({ table: posts, writes: [{ row: record('a'), expected: 0 }] })).toEqual([true]);
    await shard.close();
    expect(client.closed).toBe(false);
    expect((await client.execute('SELECT count(*) AS n FROM posts')).rows[0]!.n).toBe(1);
    await expect(shard.getRecords(posts, ['a'])).rejects.toBeInstanceOf(QueryError);
  });
});

describe('local files', () => {
  it('switches to WAL and sets the busy timeout at first use', async () => {
    const path = join(tempDir(), 'wal.db');
    const client = createClient({ url: `file:${path}` });
    onCleanup(() => client.close());
    const shard = libsqlShard({ client, busyTimeout: 1234 });
    expect((await client.execute('PRAGMA journal_mode')).rows[0]![0]).toBe('delete');
    await shard.createTables([posts]);
    expect((await client.execute('PRAGMA journal_mode')).rows[0]![0]).toBe('wal');
    expect((await client.execute('PRAGMA busy_timeout')).rows[0]![0]).toBe(1234);
  });

  it('switches a file it opened from a URL to WAL', async () => {
    const path = join(tempDir(), 'own.db');
    const shard = libsqlShard({ url: `file:${path}` });
    onCleanup(() => shard.close());
    await shard.createTables([posts]);
    const client = createClient({ url: `file:${path}` });
    onCleanup(() => client.close());
    expect((await client.execute('PRAGMA journal_mode')).rows[0]![0]).toBe('wal');
  });

  it('shares one file between shards', async () => {
    const url = `file:${join(tempDir(), 'shared.db')}`;
    const a = libsqlShard({ url });
    const b = libsqlShard({ url });
    onCleanup(async () => {
      await a.close();
      await b.close();
    });
    await a.createTables([posts, kinds]);
    const put = [{ table: kinds, rows: [{ id: 'x', values: [1, 2n, true, new Date(3)], version: 1 }] }];
    expect(await a.commit({ table: posts, writes: [{ row: record('x'), expected: 0 }], put })).toEqual([
      true,
    ]);
    expect((await b.getRecords(posts, ['x'])).map((r) => r.id)).toEqual(['x']);
    expect(await b.commit({ table: posts, writes: [{ row: record('x'), expected: 0 }] })).toEqual([false]);
    expect((await b.queryIndex(kinds, { where: undefined, orderBy: [], limit: 5 })).map((r) => r.id)).toEqual(
      ['x'],
    );
  });
});

describe.each(['number', 'bigint', 'string'] as const)('client intMode %s', (intMode) => {
  it('reads integers, bigints, booleans, timestamps and versions exactly', async () => {
    const client = createClient({ url: ':memory:', intMode });
    onCleanup(() => client.close());
    const shard = libsqlShard({ client });
    await shard.createTables([posts, kinds]);
    const r = record('a', {
      version: 7,
      createdAt: 1_700_000_000_001,
      updatedAt: 1_700_000_000_002,
      note: 'n',
    });
    expect(await shard.commit({ table: posts, writes: [{ row: r, expected: 0 }] })).toEqual([true]);
    expect(await shard.getRecords(posts, ['a'])).toEqual([r]);
    expect(await shard.scanRecords(posts, { limit: 5, notes: true })).toEqual([r]);
    expect(await shard.clearNotes(posts, [{ id: 'a', version: 7 }])).toEqual([true]);
    const rows = [
      { id: 'max', values: [2 ** 31 - 1, 2n ** 63n - 1n, true, new Date(Date.UTC(9999, 0, 1))], version: 3 },
      { id: 'min', values: [-(2 ** 31), -(2n ** 63n), false, new Date(Date.UTC(1, 0, 1))], version: 4 },
    ];
    await shard.putIndexRows(kinds, rows);
    const got = await shard.queryIndex(kinds, {
      where: undefined,
      orderBy: [{ column: 'b', direction: 'desc' }],
      limit: 5,
      records: posts,
    });
    expect(got).toEqual(rows.map((row) => ({ ...row, record: null })));
    expect(await shard.readMeta(['k'])).toEqual(new Map());
  });
});
