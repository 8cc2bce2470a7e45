import type { EntityTableSpec, HistoryRow } from '@waffle/core';
import { dialectEnabled } from '@waffle/testkit';
import type postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { postgresShard } from '../src/index.js';
import { keyName } from '../src/postgres-tables.js';
import { entitySpec, failure, historySpec, openClient, openShard, record, track } from './helpers.js';

/** The note and pending columns of every row, by id. */
async function stored(client: postgres.Sql<any>, table: EntityTableSpec) {
  const rows = await client.unsafe(`SELECT id, note, pending FROM "${table.name}" ORDER BY id`);
  return rows.map((r) => [r.id, r.note, r.pending]);
}

/** A version of a history table. */
function version(id: string, v: number, over: Partial<HistoryRow> = {}): HistoryRow {
  return {
    id,
    version: v,
    codec: 'json',
    body: `{"v":${v}}`,
    createdAt: 1000,
    updatedAt: 1000 + v,
    deleted: false,
    ...over,
  };
}

/** The entity table DDL of the version before notes (`git show HEAD~1:packages/postgres/src/postgres-tables.ts`). */
function oldEntityDdl(name: string): string {
  return `CREATE TABLE IF NOT EXISTS "${name}" ("id" text COLLATE "C" NOT NULL, "body" text NULL, "bin" bytea NULL, "codec" text NOT NULL, "version" int8 NOT NULL, "created_at" int8 NOT NULL, "updated_at" int8 NOT NULL, CONSTRAINT "${keyName('pk', name)}" PRIMARY KEY ("id"))`;
}

describe.skipIf(!dialectEnabled('postgres'))('postgres notes and history', () => {
  describe('notes', () => {
    it('insertRecord and updateRecord store the note; getRecords and scanRecords return it', async () => {
      const shard = openShard(0);
      const client = openClient(0);
      const table = entitySpec();
      await shard.createTables([table]);
      expect(await shard.insertRecord(table, record('a', { note: 'index a' }))).toBe(true);
      expect(await shard.insertRecord(table, record('b'))).toBe(true);
      expect(await shard.insertRecord(table, record('c', { note: null }))).toBe(true);
      expect(await stored(client, table)).toEqual([
        ['a', 'index a', 1],
        ['b', null, null],
        ['c', null, null],
      ]);
      const byId = async () =>
        Object.fromEntries((await shard.getRecords(table, ['a', 'b', 'c'])).map((r) => [r.id, r.note]));
      expect(await byId()).toEqual({ a: 'index a', b: null, c: null });
      expect(await shard.getRecords(table, ['a'])).toEqual([record('a', { note: 'index a' })]);
      expect(await shard.updateRecord(table, record('b', { version: 2, note: 'index b' }), 1)).toBe(true);
      expect(await shard.updateRecord(table, record('a', { version: 2, note: 'again' }), 1)).toBe(true);
      expect(await byId()).toEqual({ a: 'again', b: 'index b', c: null });
      expect((await shard.scanRecords(table, undefined, 10)).map((r) => [r.id, r.note])).toEqual([
        ['a', 'again'],
        ['b', 'index b'],
        ['c', null],
      ]);
      expect((await shard.scanRecords(table, 'a', 10)).map((r) => [r.id, r.note])).toEqual([
        ['b', 'index b'],
        ['c', null],
      ]);
      // A failed compare-and-set leaves the note alone.
      expect(await shard.updateRecord(table, record('b', { version: 3, note: 'lost' }), 1)).toBe(false);
      expect(await stored(client, table)).toEqual([
        ['a', 'again', 1],
        ['b', 'index b', 1],
        ['c', null, null],
      ]);
    });

    it('updateRecord without a note clears a previous note', async () => {
      const shard = openShard(0);
      const client = openClient(0);
      const table = entitySpec();
      await shard.createTables([table]);
      await shard.insertRecord(table, record('a', { note: 'work' }));
      await shard.insertRecord(table, record('b', { note: 'work' }));
      expect(await shard.updateRecord(table, record('a', { version: 2 }), 1)).toBe(true);
      expect(await shard.updateRecord(table, record('b', { version: 2, note: null }), 1)).toBe(true);
      expect(await stored(client, table)).toEqual([
        ['a', null, null],
        ['b', null, null],
      ]);
      expect((await shard.getRecords(table, ['a']))[0]!.note).toBeNull();
      expect(await shard.scanNotes(table, undefined, 10)).toEqual([]);
    });

    it('clearNote clears the note only at the stored version', async () => {
      const shard = openShard(0);
      const client = openClient(0);
      const table = entitySpec();
      await shard.createTables([table]);
      await shard.insertRecord(table, record('a', { version: 3, note: 'work' }));
      await shard.insertRecord(table, record('b', { version: 3, note: 'other' }));
      for (const wrong of [2, 4]) expect(await shard.clearNote(table, 'a', wrong)).toBe(false);
      expect(await stored(client, table)).toEqual([
        ['a', 'work', 1],
        ['b', 'other', 1],
      ]);
      expect(await shard.clearNote(table, 'a', 3)).toBe(true);
      expect(await stored(client, table)).toEqual([
        ['a', null, null],
        ['b', 'other', 1],
      ]);
      expect((await shard.getRecords(table, ['a']))[0]).toEqual(record('a', { version: 3, note: null }));
      // Clearing a clear note at the right version still finds the record.
      expect(await shard.clearNote(table, 'a', 3)).toBe(true);
      expect(await shard.clearNote(table, 'a', 2)).toBe(false);
      expect(await shard.clearNote(table, 'missing', 3)).toBe(false);
      expect(await stored(client, table)).toEqual([
        ['a', null, null],
        ['b', 'other', 1],
      ]);
    });

    it('scanNotes pages through the noted records in id order', async () => {
      const shard = openShard(0);
      const table = entitySpec();
      await shard.createTables([table]);
      // Inserted out of order; ids in code point order: 'B' < '_' < 'a' < 'b' < 'c' < 'd' < 'é'.
      const noted = ['d', 'B', 'é', 'a', '_'];
      for (const id of noted) await shard.insertRecord(table, record(id, { note: `note ${id}` }));
      for (const id of ['b', 'c', 'A', 'z']) await shard.insertRecord(table, record(id));
      const bin = new Uint8Array([0, 1, 254, 255]);
      expect(await shard.updateRecord(table, record('c', { version: 2, body: bin, note: 'note c' }), 1)).toBe(
        true,
      );
      const all = await shard.scanNotes(table, undefined, 100);
      expect(all.map((r) => r.id)).toEqual(['B', '_', 'a', 'c', 'd', 'é']);
      expect(all.find((r) => r.id === 'c')).toEqual(record('c', { version: 2, body: bin, note: 'note c' }));
      expect(all.find((r) => r.id === 'a')).toEqual(record('a', { note: 'note a' }));
      const pages: string[][] = [];
      let after: string | undefined;
      for (;;) {
        const page = await shard.scanNotes(table, after, 2);
        if (page.length === 0) break;
        pages.push(page.map((r) => r.id));
        after = page.at(-1)!.id;
      }
      expect(pages).toEqual([
        ['B', '_'],
        ['a', 'c'],
        ['d', 'é'],
      ]);
      // `after` need not be a noted id, nor a stored one.
      expect((await shard.scanNotes(table, 'b', 10)).map((r) => r.id)).toEqual(['c', 'd', 'é']);
      expect((await shard.scanNotes(table, 'bb', 1)).map((r) => r.id)).toEqual(['c']);
      expect(await shard.scanNotes(table, 'é', 10)).toEqual([]);
      for (const r of all) expect(await shard.clearNote(table, r.id, r.version)).toBe(true);
      expect(await shard.scanNotes(table, undefined, 100)).toEqual([]);
      expect(await shard.scanRecords(table, undefined, 100)).toHaveLength(9);
    });

    it('scanNotes reads through the notes index', async () => {
      const statements: { sql: string; params: unknown[] }[] = [];
      const client = openClient(0, {
        max: 1,
        debug: (_connection, sql, params) => statements.push({ sql, params: [...params] }),
      });
      const shard = postgresShard(client);
      const table = entitySpec();
      await shard.createTables([table]);
      await client.unsafe(
        `INSERT INTO "${table.name}" SELECT 'id' || lpad(i::text, 5, '0'), '{}', NULL, 'json', 1, 0, 0, CASE WHEN i % 1000 = 0 THEN 'n' END, CASE WHEN i % 1000 = 0 THEN 1 END FROM generate_series(1, 20000) AS i`,
      );
      await client.unsafe(`ANALYZE "${table.name}"`);
      for (const after of [undefined, 'id05000']) {
        statements.length = 0;
        const found = await shard.scanNotes(table, after, 3);
        expect(found.map((r) => r.id)).toEqual(
          after === undefined ? ['id01000', 'id02000', 'id03000'] : ['id06000', 'id07000', 'id08000'],
        );
        const statement = statements.at(-1)!;
        const plan = (await client.unsafe(`EXPLAIN ${statement.sql}`, statement.params as any[]))
          .map((r) => r['QUERY PLAN'] as string)
          .join('\n');
        expect(plan).toContain(`Index Scan using ${keyName('pending', table.name)}`);
        expect(plan).not.toContain('Sort');
      }
    });
  });

  describe('history', () => {
    it('stores text and binary versions and tombstones; keeps the first of duplicates', async () => {
      const shard = openShard(0);
      const client = openClient(0);
      const history = historySpec();
      await shard.createTables([history]);
      await shard.createTables([history]);
      const bin = new Uint8Array([0, 1, 2, 254, 255]);
      const v1 = version('a', 1);
      const v2 = version('a', 2, { codec: 'msgpack', body: bin });
      const v3 = version('a', 3, { body: '', deleted: true });
      const other = version('b', 1);
      // Out of version order, so that the order read back is the query's.
      for (const row of [v3, other, v1, v2]) expect(await shard.insertHistory(history, row)).toBe(true);
      expect(await shard.insertHistory(history, version('a', 1, { body: '{"v":"dup"}' }))).toBe(false);
      expect(await shard.insertHistory(history, version('a', 2, { body: 'text now' }))).toBe(false);
      expect(await shard.insertHistory(history, version('a', 3, { deleted: false }))).toBe(false);
      expect(await shard.getHistory(history, 'a')).toEqual([v1, v2, v3]);
      const [read2] = await shard.getHistory(history, 'a', 2);
      expect(read2).toEqual(v2);
      expect(read2!.body).toBeInstanceOf(Uint8Array);
      expect(Buffer.isBuffer(read2!.body)).toBe(false);
      expect(await shard.getHistory(history, 'a', 3)).toEqual([v3]);
      expect(await shard.getHistory(history, 'a', 1)).toEqual([v1]);
      expect(await shard.getHistory(history, 'a', 4)).toEqual([]);
      expect(await shard.getHistory(history, 'b')).toEqual([other]);
      expect(await shard.getHistory(history, 'missing')).toEqual([]);
      expect(await shard.getHistory(history, 'missing', 1)).toEqual([]);
      // Text bodies in `body`, binary ones in `bin`; `deleted` is 1 for the tombstone.
      const rows = await client.unsafe(
        `SELECT version::int AS v, body, bin, deleted FROM "${history.name}" WHERE id = 'a' ORDER BY version`,
      );
      expect(rows.map((r) => [r.v, r.body, r.bin === null ? null : [...r.bin], r.deleted])).toEqual([
        [1, '{"v":1}', null, 0],
        [2, null, [...bin], 0],
        [3, '', null, 1],
      ]);
    });

    it('creates the history table keyed by (id, version), with the entity table types', async () => {
      const shard = openShard(0);
      const client = openClient(0);
      const history = historySpec();
      await shard.createTables([history]);
      const columns = await client`
        SELECT column_name AS name, data_type AS type, is_nullable AS nullable, collation_name AS collation
        FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ${history.name}
        ORDER BY ordinal_position`;
      expect(columns.map((c) => [c.name, c.type, c.nullable, c.collation])).toEqual([
        ['id', 'text', 'NO', 'C'],
        ['body', 'text', 'YES', null],
        ['bin', 'bytea', 'YES', null],
        ['codec', 'text', 'NO', null],
        ['version', 'bigint', 'NO', null],
        ['created_at', 'bigint', 'NO', null],
        ['updated_at', 'bigint', 'NO', null],
        ['deleted', 'smallint', 'NO', null],
      ]);
      const [key] = await client`
        SELECT c.conname AS name, pg_get_constraintdef(c.oid) AS def FROM pg_constraint c
        WHERE c.conrelid = ${history.name}::regclass AND c.contype = 'p'`;
      expect(key).toEqual({ name: keyName('pk', history.name), def: 'PRIMARY KEY (id, version)' });
    });

    it('a transaction that inserts history and throws leaves nothing', async () => {
      const shard = openShard(0);
      const history = historySpec();
      const table = entitySpec();
      await shard.createTables([table, history]);
      const boom = new Error('boom');
      const error = await failure(
        shard.transaction(async (tx) => {
          expect(await tx.insertRecord(table, record('a', { note: 'work' }))).toBe(true);
          expect(await tx.insertHistory(history, version('a', 1))).toBe(true);
          expect(await tx.insertHistory(history, version('a', 1))).toBe(false);
          expect(await tx.getHistory(history, 'a')).toEqual([version('a', 1)]);
          expect((await tx.scanNotes(table, undefined, 10)).map((r) => r.id)).toEqual(['a']);
          throw boom;
        }),
      );
      expect(error).toBe(boom);
      expect(await shard.getHistory(history, 'a')).toEqual([]);
      expect(await shard.scanNotes(table, undefined, 10)).toEqual([]);
      expect(await shard.getRecords(table, ['a'])).toEqual([]);
      // The same work committed is kept, clearNote included.
      await shard.transaction(async (tx) => {
        await tx.insertRecord(table, record('a', { note: 'work' }));
        await tx.insertHistory(history, version('a', 1));
        expect(await tx.clearNote(table, 'a', 1)).toBe(true);
      });
      expect(await shard.getHistory(history, 'a')).toEqual([version('a', 1)]);
      expect(await shard.getRecords(table, ['a'])).toEqual([record('a', { note: null })]);
    });
  });

  describe('tables of the previous version', () => {
    it('createTables adds the note and pending columns and the notes index to an existing entity table', async () => {
      const shard = openShard(0);
      const client = openClient(0);
      const table = entitySpec();
      await client.unsafe(oldEntityDdl(table.name));
      await client.unsafe(
        `INSERT INTO "${table.name}" (id, body, bin, codec, version, created_at, updated_at) VALUES ('old', '{"id":"old"}', NULL, 'json', 1, 1000, 2000)`,
      );
      const indexes = async () =>
        (
          await client`SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE tablename = ${table.name} ORDER BY indexname`
        ).map((r) => [r.name, r.def.replace(/^.* USING /, '')]);
      expect(await indexes()).toEqual([[keyName('pk', table.name), 'btree (id)']]);
      await shard.createTables([table]);
      await shard.createTables([table]);
      expect(await indexes()).toEqual([
        [keyName('pending', table.name), 'btree (pending, id)'],
        [keyName('pk', table.name), 'btree (id)'],
      ]);
      const columns = await client`
        SELECT column_name AS name, data_type AS type, is_nullable AS nullable FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = ${table.name} AND column_name IN ('note', 'pending')
        ORDER BY column_name`;
      expect(columns.map((c) => [c.name, c.type, c.nullable])).toEqual([
        ['note', 'text', 'YES'],
        ['pending', 'smallint', 'YES'],
      ]);
      expect(await shard.getRecords(table, ['old'])).toEqual([record('old', { note: null })]);
      expect(await shard.updateRecord(table, record('old', { version: 2, note: 'work' }), 1)).toBe(true);
      expect(await shard.scanNotes(table, undefined, 10)).toEqual([
        record('old', { version: 2, note: 'work' }),
      ]);
      expect(await shard.insertRecord(table, record('new', { note: 'more' }))).toBe(true);
      expect(await shard.clearNote(table, 'old', 2)).toBe(true);
      expect((await shard.scanNotes(table, undefined, 10)).map((r) => r.id)).toEqual(['new']);
      expect((await shard.scanRecords(table, undefined, 10)).map((r) => [r.id, r.note])).toEqual([
        ['new', 'more'],
        ['old', null],
      ]);
    });

    it('leaves a complete entity table unlocked, and upgrades an old one under its lock', async () => {
      // A name of 63 bytes, whose notes index name is shortened with a hash.
      const table: EntityTableSpec = {
        kind: 'entity',
        name: track(
          `up_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}_`.padEnd(63, 'x'),
        ),
      };
      expect(keyName('pending', table.name)).toHaveLength(63);
      expect(keyName('pending', table.name)).toMatch(/^__pendingh_/);
      const shard = openShard(0, { connection: { lock_timeout: 1000 } });
      const reader = openClient(0, { max: 1 });
      await shard.createTables([table]);
      expect(await shard.insertRecord(table, record('a', { note: 'n' }))).toBe(true);
      /** Runs `work` while another session reads the table in an open transaction. */
      const whileRead = async <T>(work: () => Promise<T>): Promise<T> => {
        let release!: () => void;
        const released = new Promise<void>((resolve) => {
          release = resolve;
        });
        let reading!: () => void;
        const read = new Promise<void>((resolve) => {
          reading = resolve;
        });
        const held = reader.begin(async (tx) => {
          await tx.unsafe(`SELECT count(*) FROM "${table.name}"`);
          reading();
          await released;
        });
        await read;
        try {
          return await work();
        } finally {
          release();
          await held;
        }
      };
      // Complete: nothing to lock, so a reader does not hold createTables up.
      await whileRead(() => shard.createTables([table]));
      // Old: the upgrade needs the table to itself and waits for the reader (here: times out).
      await reader.unsafe(`DROP INDEX "${keyName('pending', table.name)}"`);
      await reader.unsafe(`ALTER TABLE "${table.name}" DROP COLUMN note, DROP COLUMN pending`);
      const error = await whileRead(() => failure(shard.createTables([table])));
      expect(error.cause?.code).toBe('55P03'); // lock_not_available
      await shard.createTables([table]);
      expect(await shard.insertRecord(table, record('b', { note: 'n' }))).toBe(true);
      expect((await shard.scanNotes(table, undefined, 10)).map((r) => r.id)).toEqual(['b']);
    });
  });
});
