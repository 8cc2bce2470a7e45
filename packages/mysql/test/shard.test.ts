import { QueryError, ShardUnavailableError, ValidationError, WaffleError } from '@waffle/core';
import { servers } from '@waffle/testkit';
import { DrizzleQueryError } from 'drizzle-orm';
import mysql from 'mysql2';
import { describe, expect, it } from 'vitest';
import { mysqlShard } from '../src/index.js';
import {
  createTables,
  databaseUrl,
  enabled,
  entitySpec,
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
      expect(shard.dialect).toBe('mysql');
    }
  });

  it('names a pool passed in by its settings', () => {
    const pool = openPool();
    expect(openShard(pool).name).toBe(`mysql://${user}@${host}:${port}/test`);
    expect(openShard({ pool, name: 'mine' }).name).toBe('mine');
    const callbackPool = mysql.createPool({ host, port, user, password, database: 'test' });
    onCleanup(() => new Promise((resolve) => callbackPool.end(resolve)));
    expect(openShard(callbackPool).name).toBe(`mysql://${user}@${host}:${port}/test`);
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
    expect(shard.limits).toEqual({ maxParameters: 65535, maxIdentifierLength: 64 });
    await shard.readMeta(['nothing']);
    const [[packet]] = (await openPool().query('SELECT @@max_allowed_packet', [])) as unknown as [
      { '@@max_allowed_packet': number }[],
    ];
    const max = Number(packet!['@@max_allowed_packet']);
    expect(shard.limits).toEqual({
      maxParameters: 65535,
      maxIdentifierLength: 64,
      maxBodyBytes: max - 16 * 1024,
    });
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
    expect(q.sql).toMatch(/^SELECT .* FROM `no_such_table` WHERE `no_such_table`\.`id` IN \(\?, \?\)$/);
    expect(q.params).toEqual(['a', 'b']);
    expect(q.shard).toBe('mysql://root@127.0.0.1:3306/test'.replace('root', user).replace('127.0.0.1', host));
    expect(q.cause).not.toBeInstanceOf(DrizzleQueryError);
    expect(q.cause).toMatchObject({ errno: 1146, code: 'ER_NO_SUCH_TABLE' });
  });

  it('reports constraint violations as QueryError', async () => {
    const shard = openShard();
    const spec = entitySpec();
    await createTables(shard, spec);
    const error = await failure(() => shard.insertRecord(spec, record('a', { codec: null as never })));
    expect(error).toBeInstanceOf(QueryError);
    expect((error as QueryError).cause).toMatchObject({ code: 'ER_BAD_NULL_ERROR' });
  });

  it('a closed port is a ShardUnavailableError with the driver error as cause', async () => {
    const shard = openShard(`mysql://${user}:hunter2@127.0.0.1:1/test`);
    const error = await failure(() => shard.getRecords(entitySpec(), ['a']));
    expect(error).toBeInstanceOf(ShardUnavailableError);
    expect(error.message).toMatch(/^Cannot connect to mysql:\/\/.*@127\.0\.0\.1:1\/test: .*ECONNREFUSED/);
    expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
    expect(shown(error)).not.toContain('hunter2');
    // Nothing is cached from the failure: the next call tries again.
    expect(await failure(() => shard.transaction(async () => 1))).toBeInstanceOf(ShardUnavailableError);
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
    await expect(shard.getRecords(spec, ['a'])).rejects.toBeInstanceOf(QueryError);
    await expect(shard.transaction(async () => 1)).rejects.toBeInstanceOf(QueryError);
  });

  it('leaves a pool passed in open', async () => {
    const pool = openPool();
    const shard = mysqlShard(pool);
    const spec = entitySpec();
    await createTables(shard, spec);
    await shard.insertRecord(spec, record('a'));
    await shard.close();
    const [rows] = await pool.query(`SELECT COUNT(*) AS n FROM \`${spec.name}\``);
    expect((rows as { n: number }[])[0]!.n).toBe(1);
    await expect(shard.getRecords(spec, ['a'])).rejects.toBeInstanceOf(QueryError);
  });
});
