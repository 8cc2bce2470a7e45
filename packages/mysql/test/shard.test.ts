import { QueryError, ShardUnavailableError, ValidationError, WaffleError } from '@waffle/core';
import { servers } from '@waffle/testkit';
import { DrizzleQueryError } from 'drizzle-orm';
import mysql from 'mysql2';
import { describe, expect, it } from 'vitest';
import { mysqlShard } from '../src/index.js';
import {
  adminPool,
  createTables,
  databaseUrl,
  enabled,
  entitySpec,
  indexSpec,
  insert,
  onCleanup,
  openPool,
  openShard,
  record,
} from './helpers.js';

const server = new URL(servers.mysql);
const host = server.hostname;
const port = Number(server.port || 3306);
const user = decodeURIComponent(server.username);
const password = decodeURIComponent(server.password);

/** The error `promise` rejects with, or what `open` throws. */
async function failure(open: () => unknown): Promise<Error> {
  try {
    await open();
  } catch (error) {
    return error as Error;
  }
  throw new Error('did not fail');
}

/** Everything an error shows: its message, its cause's, and the cause's own fields. */
function shown(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  return `${String((error as Error).message)} ${String((cause as Error | undefined)?.message)} ${JSON.stringify(cause ?? null)}`;
}

describe.skipIf(!enabled)('identity and options', () => {
  it('names shards by location, never with a password', () => {
    const cases: [Parameters<typeof mysqlShard>[0], string][] = [
      ['mysql://root@127.0.0.1:3306/waffle_s0', 'mysql://root@127.0.0.1:3306/waffle_s0'],
      [
        'mysql://ann:hunter2@db.example.com:3307/app?connectTimeout=1000&password=SECRET',
        'mysql://ann@db.example.com:3307/app',
      ],
      ['mysql://ann:hun%40ter2@db.example.com/app', 'mysql://ann@db.example.com/app'],
      [
        { url: 'mysql://ann:hunter2@db.example.com:3306/app', connectionLimit: 3 },
        'mysql://ann@db.example.com:3306/app',
      ],
      [
        { host: 'db.example.com', port: 3306, user: 'ann', password: 'hunter2', database: 'app' },
        'mysql://ann@db.example.com:3306/app',
      ],
      [{ url: 'mysql://ann:hunter2@db.example.com/app', name: 'mysql:shard-7' }, 'mysql:shard-7'],
    ];
    for (const [options, name] of cases) {
      // Pools connect lazily: no server is needed to check names.
      const shard = openShard(options);
      expect(shard.name).toBe(name);
      expect(shard.name).not.toMatch(/hunter|SECRET/);
    }
  });

  it('names a pool passed in by its settings', async () => {
    const pool = openPool();
    expect(openShard(pool).name).toBe(`mysql://${user}@${host}:${port}/test`);
    expect(openShard({ pool, name: 'mine' }).name).toBe('mine');
    const callbackPool = mysql.createPool({ host, port, user, password, database: 'test' });
    onCleanup(() => new Promise((resolve) => callbackPool.end(resolve)));
    expect(openShard(callbackPool).name).toBe(`mysql://${user}@${host}:${port}/test`);
    // Statements run on it, and closing the shard leaves it open.
    const shard = mysqlShard(callbackPool);
    expect(await shard.readMeta(['nothing'])).toEqual(new Map());
    await shard.close();
    await new Promise((resolve, reject) =>
      callbackPool.query('SELECT 1', (e) => (e ? reject(e) : resolve(null))),
    );
  });

  it('rejects bad options without showing the password', async () => {
    for (const url of [
      'mysql://ann:hunter2@[bad/app',
      'postgres://ann:hunter2@host/app',
      'not a url hunter2',
    ]) {
      const error = await failure(() => mysqlShard(url));
      expect(error).toBeInstanceOf(ValidationError);
      expect(shown(error)).not.toContain('hunter2');
    }
    expect(await failure(() => mysqlShard(42 as never))).toBeInstanceOf(ValidationError);
    const connection = await failure(() => mysqlShard({ execute: () => undefined } as never));
    expect(connection).toBeInstanceOf(ValidationError);
    expect(connection.message).toContain('not a single connection');
    expect(await failure(() => mysqlShard({ pool: {} } as never))).toBeInstanceOf(ValidationError);
    const charset = await failure(() => mysqlShard({ url: databaseUrl, charset: 'no-such-charset' }));
    expect(charset).toBeInstanceOf(ValidationError);
    expect(charset.message).toContain('no-such-charset');
  });

  it('learns maxBodyBytes from max_allowed_packet at first use', async () => {
    const shard = openShard();
    expect(shard.limits).toEqual({ maxParameters: 65535 });
    await shard.readMeta(['nothing']);
    const [[packet]] = (await openPool().query('SELECT @@max_allowed_packet', [])) as unknown as [
      { '@@max_allowed_packet': number }[],
    ];
    const max = Number(packet!['@@max_allowed_packet']);
    expect(shard.limits).toEqual({ maxParameters: 65535, maxBodyBytes: max - 16 * 1024 });
  });

  it('refuses a connection that does not speak utf8mb4', async () => {
    const shard = openShard({ url: databaseUrl, charset: 'latin1' });
    const error = await failure(() => shard.readMeta(['x']));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toContain('utf8mb4');
  });
});

describe.skipIf(!enabled)('errors', () => {
  it('wraps driver errors in QueryError with SQL, parameters, shard and cause', async () => {
    const shard = openShard();
    const error = await failure(() =>
      shard.getRecords({ kind: 'entity', name: 'no_such_table' }, ['a', 'b']),
    );
    expect(error).toBeInstanceOf(QueryError);
    expect(WaffleError.is(error)).toBe(true);
    const q = error as QueryError;
    expect(q.code).toBe('QUERY');
    expect(q.message).toMatch(/no_such_table' doesn't exist/);
    expect(q.message).toContain(`[shard ${shard.name}]`);
    expect(q.sql).toMatch(/^select .* from `no_such_table` where `no_such_table`\.`id` in \(\?, \?\)$/);
    expect(q.params).toEqual(['a', 'b']);
    expect(q.shard).toBe('mysql://root@127.0.0.1:3306/test'.replace('root', user).replace('127.0.0.1', host));
    expect(q.cause).not.toBeInstanceOf(DrizzleQueryError);
    expect(q.cause).toMatchObject({ errno: 1146, code: 'ER_NO_SUCH_TABLE' });
  });

  it('reports constraint violations as QueryError', async () => {
    const shard = openShard();
    const spec = entitySpec();
    await createTables(shard, spec);
    const error = await failure(() => insert(shard, spec, record('a', { codec: null as never })));
    expect(error).toBeInstanceOf(QueryError);
    expect((error as QueryError).cause).toMatchObject({ code: 'ER_BAD_NULL_ERROR' });
  });

  it('a closed port is a ShardUnavailableError with the driver error as cause', async () => {
    const shard = openShard(`mysql://${user}:hunter2@127.0.0.1:1/test`);
    const error = await failure(() => shard.getRecords(entitySpec(), ['a']));
    expect(error).toBeInstanceOf(ShardUnavailableError);
    expect(error.message).toMatch(/^Shard mysql:\/\/.*@127\.0\.0\.1:1\/test is unavailable: .*ECONNREFUSED/);
    expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
    expect(shown(error)).not.toContain('hunter2');
    // Nothing is cached from the failure: the next call tries again.
    const index = indexSpec('ix', [['n', 'integer']]);
    const commit = await failure(() =>
      shard.commit({
        table: entitySpec(),
        writes: [{ row: record('a'), expected: 0 }],
        put: [{ table: index, rows: [{ id: 'a', values: [1], version: 1 }] }],
      }),
    );
    expect(commit).toBeInstanceOf(ShardUnavailableError);
    expect(shown(commit)).not.toContain('hunter2');
  });

  it('a database that does not exist is a ShardUnavailableError', async () => {
    const shard = openShard({ host, port, user, password, database: 'waffle_no_such_db' });
    const error = await failure(() => shard.readMeta(['x']));
    expect(error).toBeInstanceOf(ShardUnavailableError);
    expect(error.message).toBe(
      `Shard mysql://${user}@${host}:${port}/waffle_no_such_db is unavailable: Unknown database 'waffle_no_such_db'`,
    );
    expect((error.cause as { errno?: number }).errno).toBe(1049);
  });

  it('a refused login is a ShardUnavailableError that does not show the password', async () => {
    const shard = openShard({
      host,
      port,
      user: 'waffle_no_such_user',
      password: 'hunter2',
      database: 'test',
    });
    const error = await failure(() => shard.readMeta(['x']));
    expect(error).toBeInstanceOf(ShardUnavailableError);
    expect(error.message).toContain('Access denied');
    expect(shown(error)).not.toContain('hunter2');
  });
});

describe.skipIf(!enabled)('close', () => {
  it('ends a pool it created; later calls fail with QueryError', async () => {
    const shard = mysqlShard(databaseUrl);
    const spec = entitySpec();
    await createTables(shard, spec);
    await shard.close();
    await shard.close();
    const closed = await failure(() => shard.getRecords(spec, ['a']));
    expect(closed).toBeInstanceOf(QueryError);
    expect(closed.message).toContain('The shard is closed');
    const index = indexSpec('ix', [['n', 'integer']]);
    const commit = await failure(() =>
      shard.commit({
        table: spec,
        writes: [{ row: record('a'), expected: 0 }],
        put: [{ table: index, rows: [{ id: 'a', values: [1], version: 1 }] }],
      }),
    );
    expect(commit).toBeInstanceOf(QueryError);
    expect(commit.message).toContain('The shard is closed');
  });

  it('leaves a pool passed in open', async () => {
    const pool = openPool();
    const shard = mysqlShard(pool);
    const spec = entitySpec();
    await createTables(shard, spec);
    expect(await insert(shard, spec, record('a'))).toBe(true);
    await shard.close();
    const [rows] = await pool.query(`SELECT COUNT(*) AS n FROM \`${spec.name}\``);
    expect((rows as { n: number }[])[0]!.n).toBe(1);
    await expect(shard.getRecords(spec, ['a'])).rejects.toBeInstanceOf(QueryError);
  });
});

describe.skipIf(!enabled)('errors in statements and commits', () => {
  it('hides a secret a server message echoes: the shared redactor, and no cause', async () => {
    // password2 (a second authentication factor) is a secret the shard knows; root needs none to log in.
    const shard = openShard({ url: databaseUrl, password2: 'hunter2' });
    const spec = indexSpec('secret', [['n', 'integer']]);
    await createTables(shard, spec);
    const error = await failure(() =>
      shard.putIndexRows(spec, [{ id: 'a', values: ['hunter2' as never], version: 1 }]),
    );
    expect(error).toBeInstanceOf(QueryError);
    expect(error.message).toMatch(/^Incorrect integer value: '\*\*\*' for column/);
    expect(error.cause).toBeUndefined();
  });

  it('a commit whose index rows fail rolls back, reports a QueryError and gives its connection back', async () => {
    const shard = openShard(openPool({ connectionLimit: 1 }));
    const spec = entitySpec();
    const index = indexSpec('ix', [['n', 'integer']]);
    await createTables(shard, spec, index);
    for (let i = 0; i < 3; i++) {
      const error = await failure(() =>
        shard.commit({
          table: spec,
          writes: [{ row: record(`x${i}`), expected: 0 }],
          put: [{ table: index, rows: [{ id: `x${i}`, values: [null], version: 1 }] }],
        }),
      );
      expect(error).toBeInstanceOf(QueryError);
      expect((error as QueryError).cause).toMatchObject({ code: 'ER_BAD_NULL_ERROR' });
      expect((error as QueryError).sql).toMatch(/^INSERT INTO `ix_/);
    }
    // With one connection in the pool, this works only if every transaction gave it back, rolled back.
    expect(await shard.getRecords(spec, ['x0', 'x1', 'x2'])).toEqual([]);
    expect(await insert(shard, spec, record('y'))).toBe(true);
  });

  it('a duplicate id among many records of a commit is false, and the commit goes on', async () => {
    const shard = openShard();
    const spec = entitySpec();
    const index = indexSpec('ix', [['n', 'integer']]);
    await createTables(shard, spec, index);
    expect(await insert(shard, spec, record('b', { body: 'before' }))).toBe(true);
    const done = await shard.commit({
      table: spec,
      writes: ['a', 'b', 'c'].map((id) => ({ row: record(id), expected: 0 })),
      put: [{ table: index, rows: ['a', 'b', 'c'].map((id, n) => ({ id, values: [n], version: 1 })) }],
    });
    expect(done).toEqual([true, false, true]);
    expect((await shard.getRecords(spec, ['b']))[0]?.body).toBe('before');
    const rows = await shard.queryIndex(index, {
      where: undefined,
      orderBy: [{ column: 'n', direction: 'asc' }],
      limit: 10,
    });
    expect(rows.map((r) => r.id)).toEqual(['a', 'c']);
  });
});

describe.skipIf(!enabled)('deadlocks', () => {
  /** InnoDB's count of deadlocks since the server started. */
  async function deadlocks(): Promise<number> {
    const [rows] = await adminPool().query("SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'");
    return Number((rows as { Value: string }[])[0]?.Value ?? Number.NaN);
  }

  it('a statement chosen as a deadlock victim outside a transaction runs again and succeeds', async () => {
    const shard = openShard();
    const index = indexSpec('dl', [['n', 'integer']]);
    const ballast = indexSpec('dl_ballast', [['n', 'integer']]);
    await createTables(shard, index, ballast);
    await shard.putIndexRows(index, [
      { id: 'a', values: [1], version: 1 },
      { id: 'b', values: [2], version: 1 },
    ]);
    const before = await deadlocks();
    const other = await adminPool().getConnection();
    onCleanup(() => other.release());
    await other.query('START TRANSACTION');
    // The other transaction weighs more (it changed many rows), so InnoDB rolls back the shard's statement.
    await other.query(
      `INSERT INTO \`${ballast.name}\` (n, __id, __version) WITH RECURSIVE s (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 500) SELECT n, 'x', 1 FROM s`,
    );
    await other.query(`SELECT * FROM \`${index.name}\` WHERE n = 2 FOR UPDATE`);
    // The shard locks its keys in order: (1, a), then waits for (2, b).
    const write = shard.putIndexRows(index, [
      { id: 'a', values: [1], version: 5 },
      { id: 'b', values: [2], version: 5 },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Now the other transaction waits for (1, a): a deadlock.
    await other.query(`SELECT * FROM \`${index.name}\` WHERE n = 1 FOR UPDATE`);
    await other.query('COMMIT');
    await write;
    expect(await deadlocks()).toBeGreaterThan(before);
    const rows = await shard.queryIndex(index, {
      where: undefined,
      orderBy: [{ column: 'n', direction: 'asc' }],
      limit: 10,
    });
    expect(rows.map((r) => r.version)).toEqual([5, 5]);
  });
});
