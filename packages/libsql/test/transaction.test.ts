import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { QueryError } from '@waffle/core';
import type { Runner, Statement } from '@waffle/sql';
import { describe, expect, it } from 'vitest';
import { libsqlShard } from '../src/index.js';
import { LibsqlDriver } from '../src/libsql-driver.js';
import { backends, indexSpec, onCleanup, openOptions, openShard, posts, record, tempDir } from './helpers.js';

const byTime = indexSpec('by_time', [['time', 'integer']]);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const statement = (sql: string, ...params: unknown[]): Statement => ({ sql, params });

/** A driver on an empty database of the given kind with a table `t (k TEXT PRIMARY KEY, v INTEGER)`, closed after the test. */
async function openDriver(kind: (typeof backends)[number]): Promise<LibsqlDriver> {
  const driver = new LibsqlDriver(openOptions(kind));
  onCleanup(() => driver.close());
  await driver.run(statement('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)'));
  return driver;
}

/** The rows of `t` as `k=v`, in key order. */
async function content(runner: Runner): Promise<string[]> {
  const result = await runner.run(statement('SELECT k, v FROM t ORDER BY k'));
  return result.rows.map((r) => `${String(r[0])}=${Number(r[1])}`);
}

describe(':memory: databases', () => {
  it('keep their tables and rows across commits, batches and transactions (the libSQL client once lost them)', async () => {
    const shard = openShard('memory');
    await shard.createTables([posts, byTime]);
    expect(await shard.commit({ table: posts, writes: [{ row: record('alone'), expected: 0 }] })).toEqual([
      true,
    ]);
    const put = [{ table: byTime, rows: [{ id: 'batched', values: [1], version: 1 }] }];
    expect(
      await shard.commit({ table: posts, writes: [{ row: record('batched'), expected: 0 }], put }),
    ).toEqual([true]);
    await shard.putIndexRows(byTime, [{ id: 'after', values: [2], version: 1 }]);
    expect((await shard.getRecords(posts, ['alone', 'batched'])).map((r) => r.id).sort()).toEqual([
      'alone',
      'batched',
    ]);
    const rows = await shard.queryIndex(byTime, { where: undefined, orderBy: [], limit: 10 });
    expect(rows.map((r) => r.id).sort()).toEqual(['after', 'batched']);
    expect(await shard.readMeta(['x'])).toEqual(new Map());
  });

  it('keep the database of a driver across its transactions', async () => {
    const driver = await openDriver('memory');
    await driver.transaction(async (tx) => {
      await tx.run(statement('INSERT INTO t VALUES (?, ?)', 'a', 1));
    });
    await driver.transaction(async () => undefined);
    await driver.run(statement('INSERT INTO t VALUES (?, ?)', 'b', 2));
    expect(await content(driver)).toEqual(['a=1', 'b=2']);
  });

  it('keep the database of a client passed in', async () => {
    const client = createClient({ url: ':memory:' });
    onCleanup(() => client.close());
    const driver = new LibsqlDriver({ client });
    onCleanup(() => driver.close());
    await driver.run(statement('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)'));
    await driver.transaction((tx) => tx.run(statement('INSERT INTO t VALUES (?, ?)', 'a', 1)));
    expect((await client.execute('SELECT k FROM t')).rows.map((r) => r.k)).toEqual(['a']);
  });
});

describe.each(backends)('driver transactions (%s)', (backend) => {
  it('commit every statement of the work together and return its result', async () => {
    const driver = await openDriver(backend);
    const result = await driver.transaction(async (tx) => {
      await tx.run(statement('INSERT INTO t VALUES (?, ?)', 'a', 1));
      await tx.run(statement('INSERT INTO t VALUES (?, ?)', 'b', 2));
      await tx.run(statement('UPDATE t SET v = v + 10 WHERE k = ?', 'a'));
      return content(tx);
    });
    expect(result).toEqual(['a=11', 'b=2']);
    expect(await content(driver)).toEqual(['a=11', 'b=2']);
  });

  it('roll back when the work throws, passing its error through unchanged', async () => {
    const driver = await openDriver(backend);
    const boom = new Error('boom');
    const failed = driver.transaction(async (tx) => {
      await tx.run(statement('INSERT INTO t VALUES (?, ?)', 'a', 1));
      throw boom;
    });
    await expect(failed).rejects.toBe(boom);
    expect(await content(driver)).toEqual([]);
  });

  it('roll back on a failed statement, reported as a QueryError with its SQL', async () => {
    const driver = await openDriver(backend);
    const error = await driver
      .transaction(async (tx) => {
        await tx.run(statement('INSERT INTO t VALUES (?, ?)', 'a', 1));
        await tx.run(statement('INSERT INTO t VALUES (?, ?)', 'a', 2));
      })
      .catch((e: unknown) => e);
    expect(QueryError.is(error)).toBe(true);
    expect((error as QueryError).sql).toBe('INSERT INTO t VALUES (?, ?)');
    expect((error as QueryError).params).toEqual(['a', 2]);
    expect(await content(driver)).toEqual([]);
    // The driver goes on.
    await driver.run(statement('INSERT INTO t VALUES (?, ?)', 'b', 1));
    expect(await content(driver)).toEqual(['b=1']);
  });

  it('refuse the runner of a transaction that has ended', async () => {
    const driver = await openDriver(backend);
    const leaked = await driver.transaction(async (tx) => tx);
    const error = await leaked
      .run(statement('INSERT INTO t VALUES (?, ?)', 'late', 1))
      .catch((e: unknown) => e);
    expect(QueryError.is(error), String(error)).toBe(true);
    expect(await content(driver)).toEqual([]);
  });

  it('roll a batch back when one of its statements fails', async () => {
    const driver = await openDriver(backend);
    const error = await driver
      .batch([statement('INSERT INTO t VALUES (?, ?)', 'a', 1), statement('INSERT INTO missing VALUES (1)')])
      .catch((e: unknown) => e);
    expect(QueryError.is(error)).toBe(true);
    expect((error as QueryError).sql).toBe('INSERT INTO missing VALUES (1)');
    expect(await content(driver)).toEqual([]);
    const results = await driver.batch([
      statement('INSERT INTO t VALUES (?, ?)', 'a', 1),
      statement('SELECT count(*) FROM t'),
    ]);
    expect(results.map((r) => r.changes)).toEqual([1, 0]);
    expect(Number(results[1]!.rows[0]![0])).toBe(1);
  });

  it('make other calls wait for a running transaction instead of failing or seeing its work', async () => {
    const driver = await openDriver(backend);
    const order: string[] = [];
    let running!: () => void;
    const started = new Promise<void>((resolve) => {
      running = resolve;
    });
    const tx = driver.transaction(async (t) => {
      await t.run(statement('INSERT INTO t VALUES (?, ?)', 'a', 1));
      running();
      await pause(30);
      order.push('tx');
    });
    await started;
    const others = Promise.all([
      content(driver).then((rows) => {
        order.push('read');
        return rows;
      }),
      driver.run(statement('INSERT INTO t VALUES (?, ?)', 'b', 2)),
      driver.batch([statement('INSERT INTO t VALUES (?, ?)', 'c', 3)]),
    ]);
    await tx;
    const [rows] = await others;
    expect(order).toEqual(['tx', 'read']);
    expect(rows).toEqual(['a=1']);
    expect(await content(driver)).toEqual(['a=1', 'b=2', 'c=3']);
  });

  it('serialise concurrent transactions: read-modify-write increments never lose an update', async () => {
    const driver = await openDriver(backend);
    await driver.run(statement('INSERT INTO t VALUES (?, ?)', 'counter', 0));
    const increment = () =>
      driver.transaction(async (tx) => {
        const [row] = (await tx.run(statement('SELECT v FROM t WHERE k = ?', 'counter'))).rows;
        await pause(1);
        const result = await tx.run(
          statement(
            'UPDATE t SET v = ? WHERE k = ? AND v = ?',
            Number(row![0]) + 1,
            'counter',
            Number(row![0]),
          ),
        );
        if (result.changes !== 1) throw new Error('lost update');
      });
    await Promise.all(Array.from({ length: 40 }, increment));
    expect(await content(driver)).toEqual(['counter=40']);
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
      shard.commit({ table: posts, writes: [] }),
      shard.getRecords(posts, []),
      shard.writeMeta('k', 'v'),
    ]);
    const client = createClient({ url: `file:${path}` });
    onCleanup(() => client.close());
    expect((await client.execute('PRAGMA journal_mode')).rows[0]![0]).toBe('wal');
  });
});
