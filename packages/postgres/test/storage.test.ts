import { uuidv7 } from '@waffle/core';
import type { IndexRow, Predicate } from '@waffle/core/adapter';
import { dialectEnabled, servers } from '@waffle/testkit';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { postgresShard } from '../src/index.js';
import { keyName } from '../src/postgres-dialect.js';
import { MAX_PREPARED_DYNAMIC } from '../src/postgres-driver.js';
import { arrayLiteral } from '../src/postgres-values.js';
import {
  entitySpec,
  explain,
  historySpec,
  indexSpec,
  insertRecord,
  insertRecords,
  namedIndex,
  onCleanup,
  openClient,
  openShard,
  record,
  recordingClient,
  ref,
} from './helpers.js';

/** A database whose default collation orders text linguistically (ICU en-US), created once. */
async function linguisticDatabase(): Promise<string> {
  const name = 'waffle_icu_en';
  const admin = openClient(0);
  const exists = await admin`SELECT 1 FROM pg_database WHERE datname = ${name}`;
  if (exists.length === 0) {
    try {
      await admin.unsafe(
        `CREATE DATABASE ${name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`,
      );
    } catch (error) {
      if ((error as { code?: string }).code !== '42P04') throw error; // created meanwhile
    }
  }
  return `${servers.postgres}/${name}`;
}

describe.skipIf(!dialectEnabled('postgres'))('postgres storage', () => {
  describe('identifiers', () => {
    it('never lets PostgreSQL truncate a derived name into a collision', async () => {
      const shard = openShard(0);
      const prefix = `ix_${Date.now().toString(36)}_`.padEnd(60, 'x');
      const a = namedIndex(`${prefix}aaa`, [['n', 'integer']]);
      const b = namedIndex(`${prefix}bbb`, [['n', 'integer']]);
      expect(a.name).toHaveLength(63);
      expect(keyName('key', a.name)).toHaveLength(63);
      expect(keyName('key', a.name)).not.toBe(keyName('key', b.name));
      expect(keyName('key', 'short')).toBe('__key_short');
      expect(keyName('pk', 'e'.repeat(48))).toBe(`__pk_${'e'.repeat(48)}`);
      await shard.createTables([a, b]);
      await shard.createTables([a, b]);
      const client = openClient(0);
      const indexes =
        await client`SELECT tablename, indexname FROM pg_indexes WHERE tablename IN (${a.name}, ${b.name}) ORDER BY tablename`;
      expect(indexes.map((r) => [r.tablename, r.indexname])).toEqual([
        [a.name, keyName('key', a.name)],
        [b.name, keyName('key', b.name)],
      ]);
      // Each table's upsert finds its own unique index.
      for (const spec of [a, b]) {
        await shard.putIndexRows(spec, [{ id: 'x', values: [1], version: 1 }]);
        await shard.putIndexRows(spec, [{ id: 'x', values: [1], version: 2 }]);
        const rows = await shard.queryIndex(spec, {
          where: undefined,
          orderBy: [{ column: '__id', direction: 'asc' }],
          limit: 5,
        });
        expect(rows).toEqual([{ id: 'x', values: [1], version: 2 }]);
      }
    });

    it('array literals carry any text exactly: quotes, backslashes, commas, braces, NULL as text, empty, spaces, unicode', async () => {
      const client = openClient(0);
      const items = [
        'plain',
        'a"b',
        'a\\b',
        '\\"',
        '"',
        '\\',
        'a,b',
        '{x}',
        'NULL',
        'null',
        '',
        ' lead',
        'tail ',
        '日本😀',
        null,
      ];
      const rows = await client.unsafe(
        'SELECT x FROM unnest($1::text[]) WITH ORDINALITY AS u(x, n) ORDER BY n',
        [arrayLiteral(items)],
      );
      expect(rows.map((r) => r.x)).toEqual(items);
    });

    it('quotes reserved words and mixed case', async () => {
      const shard = openShard(0);
      const index = indexSpec('Select', [
        ['order', 'integer'],
        ['Group', 'text'],
        ['user', 'boolean', true],
      ]);
      await shard.createTables([index]);
      await shard.putIndexRows(index, [{ id: 'a', values: [1, 'x', null], version: 1 }]);
      const rows = await shard.queryIndex(index, {
        where: ref(index, 'Group').eq('x'),
        orderBy: [{ column: 'order', direction: 'desc' }],
        limit: 5,
      });
      expect(rows).toEqual([{ id: 'a', values: [1, 'x', null], version: 1 }]);
    });
  });

  describe('values', () => {
    it('int8, bytea and timestamptz extremes round-trip, order and compare exactly', async () => {
      const shard = openShard(0);
      const index = indexSpec('extremes', [
        ['b', 'bigint'],
        ['d', 'timestamp'],
        ['y', 'bytes'],
      ]);
      await shard.createTables([index]);
      const times = [
        '0001-01-01T00:00:00.000Z',
        '0001-01-01T00:00:00.001Z',
        '0999-12-31T23:59:59.999Z',
        '1969-12-31T23:59:59.999Z',
        '1970-01-01T00:00:00.000Z',
        '2024-02-29T12:34:56.789Z',
        '9999-12-31T23:59:59.999Z',
      ].map((t) => new Date(t));
      const bigints = [-(2n ** 63n), -(2n ** 53n) - 1n, -1n, 0n, 2n ** 53n + 1n, 2n ** 62n, 2n ** 63n - 1n];
      const bytes = [
        new Uint8Array([]),
        new Uint8Array([0]),
        new Uint8Array([0, 0]),
        new Uint8Array([0, 255]),
        new Uint8Array([1]),
        new Uint8Array([127, 128]),
        new Uint8Array([255, 255, 255]),
      ];
      const rows: IndexRow[] = times.map((d, i) => ({
        id: `r${i}`,
        values: [bigints[i]!, d, bytes[i]!],
        version: 1,
      }));
      await shard.putIndexRows(index, [...rows].reverse());
      for (const column of ['b', 'd', 'y']) {
        for (const direction of ['asc', 'desc'] as const) {
          const got = await shard.queryIndex(index, {
            where: undefined,
            orderBy: [{ column, direction }],
            limit: 10,
          });
          expect(got).toEqual(direction === 'asc' ? rows : [...rows].reverse());
        }
      }
      const query = async (where: Predicate) =>
        (
          await shard.queryIndex(index, { where, orderBy: [{ column: '__id', direction: 'asc' }], limit: 10 })
        ).map((r) => r.id);
      expect(await query(ref(index, 'd').lt(new Date('1000-01-01T00:00:00.000Z')))).toEqual([
        'r0',
        'r1',
        'r2',
      ]);
      expect(await query(ref(index, 'd').eq(new Date('9999-12-31T23:59:59.999Z')))).toEqual(['r6']);
      expect(await query(ref(index, 'b').gt(2n ** 53n))).toEqual(['r4', 'r5', 'r6']);
      expect(await query(ref(index, 'b').in([2n ** 63n - 1n, -(2n ** 63n)]))).toEqual(['r0', 'r6']);
      expect(await query(ref(index, 'y').lte(new Uint8Array([0, 255])))).toEqual(['r0', 'r1', 'r2', 'r3']);
      expect(await query(ref(index, 'y').eq(new Uint8Array([])))).toEqual(['r0']);
    });

    it('stores text bodies as text and binary bodies as bytea, 1 MiB each', async () => {
      const shard = openShard(0);
      const table = entitySpec();
      await shard.createTables([table]);
      const text = `{"s":"${'é𝒳x'.repeat(262_144)}"}`;
      const binary = new Uint8Array(1 << 20).map((_, i) => (i * 7919) % 256);
      // One alone (its values bound as scalars), then both in one commit (bound as arrays).
      expect(await insertRecord(shard, table, record('t', { body: text }))).toBe(true);
      expect(await insertRecord(shard, table, record('b', { body: binary, codec: 'msgpack' }))).toBe(true);
      const again = entitySpec();
      await shard.createTables([again]);
      expect(
        await insertRecords(shard, again, [
          record('t', { body: text }),
          record('b', { body: binary, codec: 'msgpack' }),
        ]),
      ).toEqual([true, true]);
      const both = await shard.getRecords(again, ['t', 'b']);
      expect(both.find((r) => r.id === 't')?.body).toBe(text);
      expect(Buffer.compare(both.find((r) => r.id === 'b')?.body as Uint8Array, binary)).toBe(0);
      const got = await shard.getRecords(table, ['t', 'b']);
      const byId = new Map(got.map((r) => [r.id, r]));
      expect(byId.get('t')?.body).toBe(text);
      const bin = byId.get('b')?.body as Uint8Array;
      expect(bin).toBeInstanceOf(Uint8Array);
      expect(Buffer.compare(bin, binary)).toBe(0); // toEqual takes seconds on a million elements
      const client = openClient(0);
      const stored = await client.unsafe(
        `SELECT id, body IS NULL AS no_text, bin IS NULL AS no_bin, octet_length(bin) AS n FROM "${table.name}" ORDER BY id`,
      );
      expect(stored.map((r) => [r.id, r.no_text, r.no_bin])).toEqual([
        ['b', true, false],
        ['t', false, true],
      ]);
    });
  });

  describe('text order', () => {
    it('orders and compares text by code point even where the database collates linguistically', async () => {
      const url = await linguisticDatabase();
      const client = openClient(0);
      const check = postgres(url, { max: 1, onnotice: () => {} });
      onCleanup(() => check.end());
      // The database's own order puts 'a' before 'B'; waffle's must not.
      const own = await check`SELECT x FROM unnest(ARRAY['a', 'B']) AS x ORDER BY x`;
      expect(own.map((r) => r.x)).toEqual(['a', 'B']);
      const shard = postgresShard({ url, max: 2 });
      onCleanup(() => shard.close());
      const index = indexSpec('words', [['w', 'text']]);
      const table = entitySpec();
      onCleanup(async () => {
        await check.unsafe(`DROP TABLE IF EXISTS "${index.name}", "${table.name}"`);
      });
      await shard.createTables([index, table]);
      const words = ['b', 'B', 'a', 'A', 'é', 'e', 'z', '𝒳', '\uffff', 'a b', 'ab', 'a-b'];
      await shard.putIndexRows(
        index,
        words.map((w, i) => ({ id: `w${i}`, values: [w], version: 1 })),
      );
      const codePoint = [...words].sort((x, y) => {
        const a = Array.from(x, (c) => c.codePointAt(0)!);
        const b = Array.from(y, (c) => c.codePointAt(0)!);
        for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
        return a.length - b.length;
      });
      const all = await shard.queryIndex(index, {
        where: undefined,
        orderBy: [{ column: 'w', direction: 'asc' }],
        limit: 50,
      });
      expect(all.map((r) => r.values[0])).toEqual(codePoint);
      const below = await shard.queryIndex(index, {
        where: ref(index, 'w').lt('a'),
        orderBy: [{ column: 'w', direction: 'asc' }],
        limit: 50,
      });
      expect(below.map((r) => r.values[0])).toEqual(['A', 'B']);
      const prefixed = await shard.queryIndex(index, {
        where: ref(index, 'w').startsWith('a'),
        orderBy: [{ column: 'w', direction: 'desc' }],
        limit: 50,
      });
      expect(prefixed.map((r) => r.values[0])).toEqual(['ab', 'a-b', 'a b', 'a']);
      await insertRecords(
        shard,
        table,
        ['b', 'B', 'a', 'A', '_'].map((id) => record(id)),
      );
      expect((await shard.scanRecords(table, { limit: 10 })).map((r) => r.id)).toEqual([
        'A',
        'B',
        '_',
        'a',
        'b',
      ]);
      expect((await shard.scanRecords(table, { after: 'B', limit: 10 })).map((r) => r.id)).toEqual([
        '_',
        'a',
        'b',
      ]);
      expect(await client`SELECT 1 AS one`).toHaveLength(1);
    });
  });

  describe('plans', () => {
    it('index queries in either direction, deletes, commits and record reads use the indexes', async () => {
      const { client, statements } = recordingClient(0, { max: 1 });
      const shard = postgresShard(client);
      const index = indexSpec('planned', [
        ['g', 'integer', true],
        ['t', 'text'],
      ]);
      const table = entitySpec();
      const history = historySpec();
      await shard.createTables([index, table, history]);
      const rows: IndexRow[] = Array.from({ length: 20_000 }, (_, i) => ({
        id: `id${i}`,
        values: [i % 10 === 0 ? null : i % 500, `t${i % 37}`],
        version: 1,
      }));
      await shard.putIndexRows(index, rows);
      await client.unsafe(
        `INSERT INTO "${table.name}" SELECT 'id' || i, '{}', NULL, 'json', 1, 0, 0 FROM generate_series(1, 20000) AS i`,
      );
      await client.unsafe(`ANALYZE "${index.name}"`);
      await client.unsafe(`ANALYZE "${table.name}"`);
      const last = async (run: () => Promise<unknown>) => {
        statements.length = 0;
        await run();
        return statements.at(-1)!;
      };
      for (const direction of ['asc', 'desc'] as const) {
        const query = await last(() =>
          shard.queryIndex(index, {
            where: ref(index, 'g').gte(100),
            orderBy: [
              { column: 'g', direction },
              { column: 't', direction },
              { column: '__id', direction },
            ],
            limit: 20,
          }),
        );
        const plan = await explain(client, query);
        const scan = direction === 'desc' ? 'Index Scan Backward' : 'Index Scan';
        expect(plan).toContain(`${scan} using ${keyName('key', index.name)}`);
        expect(plan).not.toContain('Sort');
      }
      const nulls = await last(() =>
        shard.queryIndex(index, {
          where: ref(index, 'g').isNull(),
          orderBy: [
            { column: 'g', direction: 'asc' },
            { column: 't', direction: 'asc' },
            { column: '__id', direction: 'asc' },
          ],
          limit: 20,
        }),
      );
      expect(await explain(client, nulls)).toMatch(/Index (Only )?Scan using/);
      // Deletes of one row (bound as scalars) and of several (arrays), with and without a null.
      for (const batch of [
        [{ id: 'id5', values: [5, 't5'], version: 9 }],
        [{ id: 'id10', values: [null, 't10'], version: 9 }],
        [
          { id: 'id5', values: [5, 't5'], version: 9 },
          { id: 'id6', values: [6, 't6'], version: 9 },
        ],
        [
          { id: 'id10', values: [null, 't10'], version: 9 },
          { id: 'id20', values: [null, 't20'], version: 9 },
        ],
      ]) {
        const deletion = await last(() => shard.deleteIndexRows(index, batch));
        expect(deletion.sql).toMatch(
          batch.length === 1 ? /^DELETE FROM .* USING \(VALUES / : /^DELETE FROM .* USING unnest\(/,
        );
        const plan = await explain(client, deletion);
        expect(plan).toContain(`Index Scan using ${keyName('key', index.name)}`);
        expect(plan).not.toContain('Seq Scan');
      }
      for (const ids of [['id1'], ['id1', 'id2', 'id3']]) {
        const read = await last(() => shard.getRecords(table, ids));
        expect(await explain(client, read)).toMatch(
          new RegExp(`Index (Only )?Scan using ${keyName('pk', table.name)}`),
        );
      }
      // A commit of updates with rows to put and delete: every table reached through its key.
      const commit = await last(() =>
        shard.commit({
          table,
          writes: [record('id1', { version: 2 }), record('id2', { version: 2 })].map((row) => ({
            row,
            expected: 1,
          })),
          put: [
            {
              table: index,
              rows: [
                { id: 'id1', values: [1, 'new'], version: 2 },
                { id: 'id2', values: [null, 'new'], version: 2 },
              ],
            },
          ],
          delete: [
            {
              table: index,
              rows: [
                { id: 'id1', values: [1, 't1'], version: 2 },
                { id: 'id2', values: [2, 't2'], version: 2 },
              ],
            },
          ],
          history,
        }),
      );
      expect(commit.sql).toMatch(/^WITH /);
      const plan = await explain(client, commit);
      expect(plan).not.toContain('Seq Scan');
      expect(plan).toContain(`using ${keyName('pk', table.name)}`);
      expect(plan).toContain(`using ${keyName('key', index.name)}`);
    });
  });

  describe('prepared statements', () => {
    it('one prepared statement per table and shape, whatever the number of rows, every value bound', async () => {
      const { client, statements, count } = recordingClient(0, { max: 1 });
      const shard = postgresShard(client);
      const table = entitySpec();
      const index = indexSpec('prep', [['n', 'integer']]);
      await shard.createTables([table, index]);
      for (const n of [1, 2, 5, 50]) {
        const ids = Array.from({ length: n }, () => uuidv7());
        await shard.getRecords(table, ids);
        expect(statements.at(-1)!.params).toHaveLength(1);
      }
      const name = "o'neil; DROP TABLE x";
      const row = (id: string, version = 1) => ({ id, values: [version], version });
      // Records bind as VALUES lists of 1, 2, 4, … rows, the columns equal in several records once:
      // 3 and 4 text records share a statement; 4 with text and binary bodies (codec and bin differ) take another.
      for (const [n, mixed] of [
        [1, false],
        [3, false],
        [4, false],
        [4, true],
      ] as const) {
        const records = Array.from({ length: n }, (_, i) =>
          record(
            `${name} ${n} ${mixed} ${i}`,
            mixed && i % 2 === 1 ? { body: new Uint8Array([i]), codec: 'msgpack' } : {},
          ),
        );
        const writes = records.map((r) => ({ row: r, expected: 0 }));
        statements.length = 0;
        expect(
          await shard.commit({ table, writes, put: [{ table: index, rows: records.map((r) => row(r.id)) }] }),
        ).toEqual(records.map(() => true));
        // A commit with its index rows: one statement (one round trip once prepared).
        expect(statements).toHaveLength(1);
        // One record: its 9 values; several: 4 rows of their own columns, then the shared ones once; then the index row.
        expect(statements[0]!.params).toHaveLength((n === 1 ? 9 : mixed ? 4 * 4 + 5 : 4 * 2 + 7) + 3);
      }
      for (let v = 1; v < 4; v++) {
        await shard.commit({
          table,
          writes: [{ row: record(`${name} 1 false 0`, { version: v + 1 }), expected: v }],
        });
      }
      await shard.clearNotes(table, [{ id: `${name} 1 false 0`, version: 4 }]);
      await shard.clearNotes(table, [
        { id: `${name} 1 false 0`, version: 4 },
        { id: 'x', version: 1 },
      ]);
      const prepared = await client.unsafe(
        'SELECT statement FROM pg_prepared_statements WHERE statement LIKE $1',
        [`%"${table.name}"%`],
      );
      // Reads of one id and of several; commits of one, of several alike and of several unlike records
      // with their rows; an update; notes cleared for one and several.
      expect(prepared.map((r) => (r.statement as string).split(' ')[0]).sort()).toEqual([
        'UPDATE',
        'UPDATE',
        'WITH',
        'WITH',
        'WITH',
        'WITH',
        'select',
        'select',
      ]);
      expect(statements.some((s) => s.sql.includes("o'neil"))).toBe(false);
      expect(count(/o'neil/)).toBe(0);
    });

    it('an index query (with its records) and a scan write their LIMIT into the statement, so PostgreSQL keeps one generic plan', async () => {
      const { client, statements } = recordingClient(0, { max: 1 });
      const shard = postgresShard(client);
      const table = entitySpec();
      const index = indexSpec('limited', [['n', 'integer']]);
      await shard.createTables([table, index]);
      await shard.putIndexRows(
        index,
        Array.from({ length: 2000 }, (_, i) => ({
          id: `r${String(i).padStart(4, '0')}`,
          values: [i],
          version: 1,
        })),
      );
      await shard.commit({
        table,
        writes: Array.from({ length: 200 }, (_, i) => ({
          row: record(`r${String(i).padStart(4, '0')}`),
          expected: 0,
        })),
      });
      await client.unsafe(`ANALYZE "${index.name}"`);
      const query = (from: number, limit: number) =>
        shard.queryIndex(index, {
          where: ref(index, 'n').gte(from),
          orderBy: [{ column: 'n', direction: 'asc' }],
          limit,
          records: table,
        });
      for (let i = 0; i < 12; i++) {
        const hits = await query(i * 100, 10);
        expect(hits.map((h) => h.values[0])).toEqual(Array.from({ length: 10 }, (_, k) => i * 100 + k));
      }
      expect(statements.at(-1)!.sql).toMatch(/ limit 10$/);
      expect(statements.at(-1)!.params).toEqual([1100]);
      // Another row count is another statement; the first one is still right.
      expect((await query(5, 3)).map((h) => h.values[0])).toEqual([5, 6, 7]);
      expect(statements.at(-1)!.sql).toMatch(/ limit 3$/);
      expect((await query(1995, 10)).map((h) => h.values[0])).toEqual([1995, 1996, 1997, 1998, 1999]);
      for (let i = 0; i < 8; i++) {
        const after = `r${String(i * 10).padStart(4, '0')}`;
        const page = await shard.scanRecords(table, { after, limit: 7 });
        expect(page.map((r) => r.id)).toEqual(
          Array.from({ length: 7 }, (_, k) => `r${String(i * 10 + k + 1).padStart(4, '0')}`),
        );
      }
      expect(statements.at(-1)!.sql).toMatch(/ limit 7$/);
      const plans = await client.unsafe(
        'SELECT statement, generic_plans::int AS generic, custom_plans::int AS custom FROM pg_prepared_statements WHERE statement LIKE $1',
        [`select%limit 10`],
      );
      expect(plans).toHaveLength(1);
      // After its first five (custom) plans, PostgreSQL settled on the generic one: no planning per call.
      expect(plans[0]).toMatchObject({ custom: 5 });
      expect(plans[0]!.generic).toBeGreaterThan(0);
      await expect(query(0, -1)).rejects.toThrow('limit must be a non-negative integer, got -1');
    });

    it(`prepares at most ${MAX_PREPARED_DYNAMIC} distinct index queries per shard, and runs the others unnamed`, async () => {
      const { client } = recordingClient(0, { max: 1 });
      const shard = postgresShard(client);
      const index = indexSpec('shapes', [['n', 'integer']]);
      await shard.createTables([index]);
      await shard.putIndexRows(
        index,
        Array.from({ length: 300 }, (_, i) => ({ id: `r${i}`, values: [i], version: 1 })),
      );
      // Each length of `in (…)` is a statement of its own.
      const query = (n: number) =>
        shard.queryIndex(index, {
          where: ref(index, 'n').in(Array.from({ length: n }, (_, i) => i)),
          orderBy: [{ column: '__id', direction: 'asc' }],
          limit: 1000,
        });
      const queries = async () =>
        Number(
          (
            await client.unsafe(
              `SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement LIKE $1`,
              [`select%"${index.name}"%`],
            )
          )[0]!.n,
        );
      for (let n = 1; n <= MAX_PREPARED_DYNAMIC + 20; n++) expect(await query(n)).toHaveLength(n);
      expect(await queries()).toBe(MAX_PREPARED_DYNAMIC);
      // Shapes seen before the cap stay prepared; the others keep running, unnamed.
      for (const n of [1, 2, MAX_PREPARED_DYNAMIC + 5]) expect(await query(n)).toHaveLength(n);
      expect(await queries()).toBe(MAX_PREPARED_DYNAMIC);
      // Statements of fixed shape are prepared whatever the count of dynamic ones.
      await shard.putIndexRows(index, [{ id: 'x', values: [1], version: 1 }]);
      const all = await client.unsafe(
        'SELECT statement FROM pg_prepared_statements WHERE statement LIKE $1',
        [`INSERT INTO "${index.name}"%`],
      );
      expect(all.length).toBeGreaterThanOrEqual(2);
    });
  });
});
