import { QueryError, ShardUnavailableError, ValidationError, WaffleError } from '@waffle/core';
import type { Shard } from '@waffle/core/adapter';
import { dialectEnabled, servers, thrown } from '@waffle/testkit';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { postgresShard } from '../src/index.js';
import { openClient as openPostgresClient, reconnectBackoff } from '../src/postgres-options.js';
import {
  databaseUrl,
  entitySpec,
  failure,
  historySpec,
  indexSpec,
  insertRecord,
  onCleanup,
  openClient,
  openShard,
  record,
} from './helpers.js';

const host = new URL(servers.postgres);

describe.skipIf(!dialectEnabled('postgres'))('postgres shard', () => {
  describe('identity', () => {
    it('opens from a URL, from options, or on an existing client, named without the password', async () => {
      const expected = `postgres://postgres@${host.host}/waffle_s0`;
      const byUrl = postgresShard(databaseUrl(0));
      onCleanup(() => byUrl.close());
      expect(byUrl.name).toBe(expected);
      expect(byUrl.limits).toEqual({ maxParameters: 65533 });

      const secretUrl = databaseUrl(0).replace('postgres@', 'postgres:hunter2@');
      const withPassword = postgresShard({ url: secretUrl, max: 2 });
      onCleanup(() => withPassword.close());
      expect(withPassword.name).toBe(expected);
      // Trust authentication accepts any password: the shard works, and its errors never show it.
      const table = entitySpec();
      await withPassword.createTables([table]);
      expect(await insertRecord(withPassword, table, record('a'))).toBe(true);
      const error = await failure(withPassword.getRecords({ kind: 'entity', name: 'no_such_table' }, ['a']));
      expect(error).toBeInstanceOf(QueryError);
      expect(JSON.stringify({ ...error, message: error.message, cause: String(error.cause) })).not.toContain(
        'hunter2',
      );

      const byOptions = postgresShard({
        host: host.hostname,
        port: Number(host.port),
        user: 'postgres',
        password: 'hunter2',
        database: 'waffle_s1',
      });
      onCleanup(() => byOptions.close());
      expect(byOptions.name).toBe(`postgres://postgres@${host.host}/waffle_s1`);
      expect((await byOptions.readMeta(['nothing'])).size).toBe(0);

      const client = openClient(2);
      const onClient = postgresShard(client);
      expect(onClient.name).toBe(`postgres://postgres@${host.host}/waffle_s2`);
      expect(postgresShard(client, { name: 'pg:orders-3' }).name).toBe('pg:orders-3');
      expect(postgresShard(databaseUrl(0), { name: 'pg:a' }).name).toBe('pg:a');
      const named = postgresShard({ url: databaseUrl(0), name: 'pg:b' });
      onCleanup(() => named.close());
      expect(named.name).toBe('pg:b');
    });

    it('lists every host of a multi-host URL', () => {
      // postgres.js connects lazily: no server is needed to check the name.
      const multi = postgresShard('postgres://ann:secret@h1:5001,h2:5002/db');
      onCleanup(() => multi.close());
      expect(multi.name).toBe('postgres://ann@h1:5001,h2:5002/db');
    });
  });

  describe('bad options', () => {
    it('refuses a malformed URL with a ValidationError that shows no password', () => {
      for (const url of [
        'postgres://ann:hunter2@host:99999/db',
        'postgres://ann:hunter2@/db?target_session_attrs=bogus',
      ]) {
        let error: any;
        try {
          postgresShard(url);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(ValidationError);
        expect(error.message).toMatch(/^postgresShard: cannot open postgres:\/\/ann@/);
        expect(error.cause).toBeUndefined();
        expect(JSON.stringify({ ...error, message: error.message })).not.toContain('hunter2');
      }
    });
  });

  describe('URLs of other databases', () => {
    it('refuses a URL that is not postgres:// or postgresql:// before connecting, showing no password', () => {
      const cases: [string, string][] = [
        [
          'mysql://root:hunter2@127.0.0.1:3306/test',
          'postgresShard: expected a postgres:// or postgresql:// URL, got mysql: (mysql://root@127.0.0.1:3306/test)',
        ],
        [
          'libsql://db.example.com',
          'postgresShard: expected a postgres:// or postgresql:// URL, got libsql: (libsql://db.example.com)',
        ],
        [
          'file:data/s0.db',
          'postgresShard: expected a postgres:// or postgresql:// URL, got file: (file:data/s0.db)',
        ],
      ];
      for (const [url, message] of cases) {
        for (const given of [url, { url, max: 1 }]) {
          const error = thrown(() => postgresShard(given), url);
          expect(error).toBeInstanceOf(ValidationError);
          expect(error.message).toBe(message);
          expect(JSON.stringify({ ...error, message: error.message })).not.toContain('hunter2');
        }
      }
      // Both PostgreSQL schemes, in any case, are accepted (postgres.js connects lazily).
      for (const url of ['postgresql://ann@h1:5432/db', 'POSTGRES://ann@h1:5432/db']) {
        const shard = postgresShard(url);
        onCleanup(() => shard.close());
        expect(shard.name).toBe('postgres://ann@h1:5432/db');
      }
    });
  });

  describe('unavailable servers', () => {
    it('reports a closed port as ShardUnavailableError, never showing the password', async () => {
      const open = () => {
        // A new client per attempt: postgres.js waits longer before each reconnection of one client.
        const shard = postgresShard({ url: 'postgres://postgres:s3cr3t-pw@127.0.0.1:1/waffle_s0', max: 1 });
        onCleanup(() => shard.close());
        return shard;
      };
      expect(open().name).toBe('postgres://postgres@127.0.0.1:1/waffle_s0');
      const table = entitySpec();
      const index = indexSpec('ix', [['n', 'integer']]);
      const attempts: ((shard: Shard) => Promise<unknown>)[] = [
        (shard) => shard.getRecords(table, ['a']),
        (shard) => shard.getRecords(table, ['a', 'b']),
        (shard) => shard.scanRecords(table, { limit: 1 }),
        (shard) => insertRecord(shard, table, record('a')),
        (shard) =>
          shard.commit({
            table,
            writes: [record('a'), record('b', { body: 'x'.repeat(10_000) })].map((row) => ({
              row,
              expected: 0,
            })),
          }),
        (shard) => shard.clearNotes(table, [{ id: 'a', version: 1 }]),
        (shard) => shard.getHistory(historySpec(), 'a'),
        (shard) => shard.createTables([table]),
        (shard) => shard.readMeta(['k']),
        (shard) => shard.writeMeta('k', 'v'),
        (shard) => shard.putIndexRows(index, [{ id: 'a', values: [1], version: 1 }]),
        (shard) => shard.deleteIndexRows(index, [{ id: 'a', values: [1], version: 1 }]),
        (shard) =>
          shard.queryIndex(index, {
            where: undefined,
            orderBy: [{ column: '__id', direction: 'asc' }],
            limit: 1,
          }),
      ];
      for (const attempt of attempts) {
        const error = await failure(attempt(open()));
        expect(error).toBeInstanceOf(ShardUnavailableError);
        expect(ShardUnavailableError.is(error)).toBe(true);
        expect(error.message).toContain('postgres://postgres@127.0.0.1:1/waffle_s0');
        expect(error.message).toContain('ECONNREFUSED');
        expect(error.cause).toMatchObject({ code: 'ECONNREFUSED' });
        expect(`${error.message} ${error.stack} ${String(error.cause)}`).not.toContain('s3cr3t-pw');
      }
    });

    it('one client keeps failing fast while its server is unreachable: it waits at most 0.5 s before connecting again', async () => {
      // postgres.js's own back-off grows to 20 s (3 ** failures / 100 s): a call made while a connection
      // waits to reconnect waits as long, even once the server is back.
      expect([1, 2, 3, 4, 5, 6, 20].map(reconnectBackoff)).toEqual([0.05, 0.1, 0.2, 0.4, 0.5, 0.5, 0.5]);
      const client = openPostgresClient({ url: 'postgres://postgres@127.0.0.1:1/waffle_s0', max: 1 });
      expect(client.options.backoff).toBe(reconnectBackoff);
      await client.end();
      const mine = () => 2;
      const own = openPostgresClient({ url: 'postgres://postgres@127.0.0.1:1/waffle_s0', backoff: mine });
      expect(own.options.backoff).toBe(mine); // given: kept
      await own.end();
      // Eight calls in a row on one client (its back-off would reach 3 ** 8 / 100 s = 65 s, capped at 20 s).
      const shard = postgresShard({ url: 'postgres://postgres@127.0.0.1:1/waffle_s0', max: 1 });
      onCleanup(() => shard.close());
      for (let i = 0; i < 8; i++) {
        expect(await failure(shard.readMeta(['k']))).toBeInstanceOf(ShardUnavailableError);
      }
    }, 15_000);

    it('reports a database that does not exist, or a role that does not exist, as ShardUnavailableError', async () => {
      const missing = postgresShard({ url: `postgres://postgres@${host.host}/waffle_no_such_db`, max: 1 });
      onCleanup(() => missing.close());
      for (const attempt of [() => missing.readMeta(['k']), () => missing.getRecords(entitySpec(), ['a'])]) {
        const error = await failure(attempt());
        expect(error).toBeInstanceOf(ShardUnavailableError);
        expect(error.message).toBe(
          `Shard postgres://postgres@${host.host}/waffle_no_such_db is unavailable: database "waffle_no_such_db" does not exist`,
        );
        expect(error.cause).toMatchObject({ code: '3D000' });
      }
      const stranger = postgresShard({
        url: `postgres://waffle_no_such_role@${host.host}/waffle_s0`,
        max: 1,
      });
      onCleanup(() => stranger.close());
      const refused = await failure(stranger.readMeta(['k']));
      expect(refused).toBeInstanceOf(ShardUnavailableError);
      expect(refused.message).toBe(
        `Shard postgres://waffle_no_such_role@${host.host}/waffle_s0 is unavailable: role "waffle_no_such_role" does not exist`,
      );
    });

    it('reports a client ended by its owner as ShardUnavailableError', async () => {
      const client = postgres(databaseUrl(0), { max: 1 });
      const shard = postgresShard(client);
      await client.end();
      expect(await failure(shard.getRecords(entitySpec(), ['a']))).toBeInstanceOf(ShardUnavailableError);
    });
  });

  describe('errors', () => {
    it('wraps server errors in QueryError with SQL, parameters, shard and cause', async () => {
      const shard = openShard(0);
      const error = await failure(shard.getRecords({ kind: 'entity', name: 'nope' }, ['a', 'b"c']));
      expect(error).toBeInstanceOf(QueryError);
      expect(WaffleError.is(error)).toBe(true);
      expect(QueryError.is(error)).toBe(true);
      const q = error as QueryError;
      expect(q.code).toBe('QUERY');
      expect(q.message).toContain('relation "nope" does not exist');
      expect(q.message).toContain(`[shard ${shard.name}]`);
      expect(q.sql).toBe(
        'select "nope"."id", "nope"."body", "nope"."bin", "nope"."codec", "nope"."version", "nope"."created_at", "nope"."updated_at", "nope"."note" from "nope" where "nope"."id" = ANY($1::text[])',
      );
      expect(q.params).toEqual(['{"a","b\\"c"}']);
      expect(q.shard).toBe(shard.name);
      expect(q.cause).toBeInstanceOf(postgres.PostgresError);
      expect((q.cause as postgres.PostgresError).code).toBe('42P01');
    });

    it('reports constraint violations as QueryError, with the values bound as scalars or arrays', async () => {
      const shard = openShard(0);
      const kinds = indexSpec('kinds', [['i', 'integer']]);
      await shard.createTables([kinds]);
      const one = await failure(shard.putIndexRows(kinds, [{ id: 'a', values: [null], version: 1 }]));
      expect(one).toBeInstanceOf(QueryError);
      expect(one.message).toContain('null value in column "i"');
      expect(one.sql).toMatch(
        /^INSERT INTO .* SELECT \* FROM \(VALUES \(\$1::int4, \$2::text, \$3::int8\)\)/,
      );
      expect(one.params).toEqual([null, 'a', 1]);
      expect(one.cause.code).toBe('23502');
      const many = await failure(
        shard.putIndexRows(kinds, [
          { id: 'a', values: [null], version: 1 },
          { id: 'b', values: [2], version: 1 },
        ]),
      );
      expect(many).toBeInstanceOf(QueryError);
      expect(many.message).toContain('null value in column "i"');
      expect(many.sql).toMatch(
        /^INSERT INTO .* SELECT \* FROM unnest\(\$1::int4\[\], \$2::text\[\], \$3::int8\[\]\)/,
      );
      expect(many.params).toEqual(['{NULL,"2"}', '{"a","b"}', '{"1","1"}']);
      const wrongType = await failure(
        shard.putIndexRows(kinds, [{ id: 'a', values: ['x' as never], version: 1 }]),
      );
      expect(wrongType).toBeInstanceOf(QueryError);
      expect(wrongType.message).toContain('invalid input syntax for type integer');
    });

    it("refuses index rows whose number of values is not the index's, before any SQL", async () => {
      const shard = openShard(0);
      const table = entitySpec();
      const two = indexSpec('two', [
        ['a', 'integer'],
        ['b', 'text'],
      ]);
      await shard.createTables([table, two]);
      for (const attempt of [
        () => shard.putIndexRows(two, [{ id: 'r', values: [1], version: 1 }]),
        () => shard.deleteIndexRows(two, [{ id: 'r', values: [1, 'x', 2], version: 1 }]),
        () =>
          shard.commit({
            table,
            writes: [{ row: record('r'), expected: 0 }],
            put: [{ table: two, rows: [{ id: 'r', values: [1], version: 1 }] }],
          }),
      ]) {
        const error = await failure(attempt());
        expect(error).toBeInstanceOf(ValidationError);
        expect(error.message).toMatch(
          new RegExp(`^Index "${two.name}" has 2 columns, but a row for "r" has [13] values$`),
        );
      }
      expect(await shard.getRecords(table, ['r'])).toEqual([]);
    });
  });

  describe('close', () => {
    it('ends a client it opened; later calls fail with QueryError', async () => {
      const application = `waffle_close_${process.pid}_${Date.now()}`;
      const shard = postgresShard({ url: databaseUrl(0), connection: { application_name: application } });
      const table = entitySpec();
      await shard.createTables([table]);
      await shard.getRecords(table, ['a']);
      const admin = openClient(0);
      const connections = async () =>
        Number(
          (
            await admin`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = ${application}`
          )[0]!.n,
        );
      expect(await connections()).toBeGreaterThan(0);
      await shard.close();
      await shard.close();
      expect(await connections()).toBe(0);
      const error = await failure(shard.getRecords(table, ['a']));
      expect(error).toBeInstanceOf(QueryError);
      expect(error.message).toContain('The shard is closed');
      for (const attempt of [
        () => insertRecord(shard, table, record('a')),
        () => shard.createTables([table]),
        () => shard.writeMeta('k', 'v'),
        () =>
          shard.putIndexRows(indexSpec('closed', [['n', 'integer']]), [
            { id: 'a', values: [1], version: 1 },
            { id: 'b', values: [2], version: 1 },
          ]),
      ]) {
        const closed = await failure(attempt());
        expect(closed).toBeInstanceOf(QueryError);
        expect(closed.message).toContain('The shard is closed');
      }
    });

    it('leaves a client passed in open', async () => {
      const client = openClient(0);
      const shard = postgresShard(client);
      const table = entitySpec();
      await shard.createTables([table]);
      await insertRecord(shard, table, record('a'));
      await shard.close();
      expect((await client.unsafe(`SELECT count(*)::int AS n FROM "${table.name}"`))[0]!.n).toBe(1);
      expect(await failure(shard.getRecords(table, ['a']))).toBeInstanceOf(QueryError);
    });
  });

  describe('metadata', () => {
    it('reads no metadata where the table does not exist, and creates it on the first write', async () => {
      const schema = `waffle_empty_${process.pid}_${Date.now().toString(36)}`;
      const admin = openClient(0);
      await admin.unsafe(`CREATE SCHEMA ${schema}`);
      onCleanup(async () => {
        await admin.unsafe(`DROP SCHEMA ${schema} CASCADE`);
      });
      // Tables are named without a schema, so they follow the connection's search_path.
      const shard = openShard(0, { connection: { search_path: schema } });
      expect(await shard.readMeta(['a', 'b'])).toEqual(new Map());
      expect(await shard.readMeta([])).toEqual(new Map());
      expect(await shard.writeMeta('a', '1')).toBe('1');
      expect(await shard.writeMeta('a', '2')).toBe('1');
      expect(await shard.readMeta(['a', 'b', 'a'])).toEqual(new Map([['a', '1']]));
      const tables = await admin`SELECT tablename FROM pg_tables WHERE schemaname = ${schema}`;
      expect(tables.map((r) => r.tablename)).toEqual(['__waffle_meta']);
    });
  });

  describe('a client passed in', () => {
    it('keeps its own type configuration, and the shard reads every value exactly anyway', async () => {
      const notices: unknown[] = [];
      const client = openClient(0, {
        // int8 parsed to a lossy Number, names camel-cased, no array types fetched, no prepared statements.
        types: {
          int8: { to: 20, from: [20], parse: (x: string) => Number(x), serialize: (x: unknown) => String(x) },
        },
        transform: postgres.camel,
        fetch_types: false,
        prepare: false,
        onnotice: (notice) => notices.push(notice),
      });
      const shard = postgresShard(client);
      const table = entitySpec();
      const index = indexSpec('kinds', [
        ['big_value', 'bigint'],
        ['at', 'timestamp', true],
        ['flag', 'boolean', true],
        ['raw', 'bytes', true],
      ]);
      await shard.createTables([table, index]);
      await shard.createTables([table, index]); // again: "already exists" notices are silenced
      expect(notices).toEqual([]);
      const r = record('a', {
        version: 7,
        createdAt: 1_700_000_000_001,
        updatedAt: 1_700_000_000_002,
        note: null,
      });
      await insertRecord(shard, table, r);
      expect(await shard.getRecords(table, ['a'])).toEqual([r]);
      expect(await shard.commit({ table, writes: [{ row: { ...r, version: 8 }, expected: 7 }] })).toEqual([
        true,
      ]);
      expect(await shard.scanRecords(table, { limit: 5 })).toEqual([{ ...r, version: 8 }]);
      const rows = [
        {
          id: 'max',
          values: [
            2n ** 63n - 1n,
            new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999)),
            true,
            new Uint8Array([0, 255]),
          ],
          version: 3,
        },
        { id: 'min', values: [-(2n ** 63n), new Date('0001-01-01T00:00:00.000Z'), false, null], version: 4 },
        { id: 'odd', values: [2n ** 53n + 1n, null, null, new Uint8Array([])], version: 5 },
      ];
      await shard.putIndexRows(index, rows);
      const got = await shard.queryIndex(index, {
        where: undefined,
        orderBy: [{ column: 'big_value', direction: 'desc' }],
        limit: 5,
      });
      expect(got).toEqual([rows[0], rows[2], rows[1]]);
      expect(await shard.writeMeta('k', 'v')).toBe('v');
      expect(await shard.readMeta(['k'])).toEqual(new Map([['k', 'v']]));
      // drizzle-orm's postgres-js driver would have replaced the date parsers: the client still parses dates.
      const [{ now }] = (await client`SELECT now() AS now`) as unknown as [{ now: unknown }];
      expect(now).toBeInstanceOf(Date);
    });

    it("leaves no rows in the client's finished queries: the shard moves them out (a query the engine keeps alive keeps nothing)", async () => {
      const client = openClient(0);
      const queries: PromiseLike<unknown[]>[] = [];
      const unsafe = client.unsafe.bind(client);
      // Every query the shard runs, as postgres.js made it (a Promise subclass resolved with its rows).
      client.unsafe = ((...args: Parameters<typeof unsafe>) => {
        const query = unsafe(...args);
        queries.push(query);
        return query;
      }) as typeof unsafe;
      const shard = postgresShard(client);
      const table = entitySpec();
      await shard.createTables([table]);
      await insertRecord(shard, table, record('a'));
      await insertRecord(shard, table, record('b'));
      const before = queries.length;
      const got = await shard.getRecords(table, ['a', 'b']);
      expect(got.map((r) => r?.id).sort()).toEqual(['a', 'b']);
      const ran = queries.slice(before);
      expect(ran.length).toBeGreaterThan(0);
      for (const query of ran) expect(await query).toEqual([]);
    });
  });
});
