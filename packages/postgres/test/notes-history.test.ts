import type { EntityTableSpec } from '@waffle/core/adapter';
import { dialectEnabled } from '@waffle/testkit';
import type postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { postgresShard } from '../src/index.js';
import { keyName } from '../src/postgres-dialect.js';
import {
  entitySpec,
  failure,
  historySpec,
  insertRecord,
  openClient,
  openShard,
  record,
  track,
} from './helpers.js';

/** The note and pending columns of every row, by id. */
async function stored(client: postgres.Sql<any>, table: EntityTableSpec) {
  const rows = await client.unsafe(`SELECT id, note, pending FROM "${table.name}" ORDER BY id`);
  return rows.map((r) => [r.id, r.note, r.pending]);
}

describe.skipIf(!dialectEnabled('postgres'))('postgres notes and history', () => {
  describe('notes', () => {
    it('sets pending beside every note, and clears both together', async () => {
      const shard = openShard(0);
      const client = openClient(0);
      const table = entitySpec();
      await shard.createTables([table]);
      const rows = [record('a', { note: 'index a' }), record('b'), record('c', { note: '' })];
      expect(await shard.commit({ table, writes: rows.map((row) => ({ row, expected: 0 })) })).toEqual([
        true,
        true,
        true,
      ]);
      expect(await stored(client, table)).toEqual([
        ['a', 'index a', 1],
        ['b', null, null],
        ['c', '', 1],
      ]);
      // A compare-and-set writes the note (or its absence) of the new version.
      expect(
        await shard.commit({
          table,
          writes: [
            { row: record('a', { version: 2 }), expected: 1 },
            { row: record('b', { version: 2, note: 'index b' }), expected: 1 },
          ],
        }),
      ).toEqual([true, true]);
      expect(await stored(client, table)).toEqual([
        ['a', null, null],
        ['b', 'index b', 1],
        ['c', '', 1],
      ]);
      expect(
        await shard.clearNotes(table, [
          { id: 'b', version: 2 },
          { id: 'c', version: 1 },
          { id: 'a', version: 1 },
        ]),
      ).toEqual([true, true, false]);
      expect(await stored(client, table)).toEqual([
        ['a', null, null],
        ['b', null, null],
        ['c', null, null],
      ]);
    });

    it('scans of notes read through the notes index', async () => {
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
        const found = await shard.scanRecords(table, { after, limit: 3, notes: true });
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
      // Partial, over the 20 rows with a note: the other 19,980 writes added no entry to it.
      const [index] = await client.unsafe(
        `SELECT indexdef, (SELECT reltuples FROM pg_class WHERE relname = indexname) AS entries FROM pg_indexes WHERE indexname = $1`,
        [keyName('pending', table.name)],
      );
      expect(index!.indexdef).toContain('WHERE (pending IS NOT NULL)');
      expect(Number(index!.entries)).toBe(20);
    });
  });

  describe('history', () => {
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
  });

  describe('entity tables made again', () => {
    it('leaves a complete entity table unlocked, and completes one without its notes index under its lock', async () => {
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
      expect(await insertRecord(shard, table, record('a', { note: 'n' }))).toBe(true);
      /** Runs `work` while another session writes to the table in an open transaction. */
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
          await tx.unsafe(`UPDATE "${table.name}" SET version = version WHERE id = 'none'`);
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
      // Complete: nothing to lock, so a writer does not hold createTables up.
      await whileRead(() => shard.createTables([table]));
      // Without its notes index: building it locks out writers, so it waits for the writer (here: times out).
      await reader.unsafe(`DROP INDEX "${keyName('pending', table.name)}"`);
      const error = await whileRead(() => failure(shard.createTables([table])));
      expect(error.cause?.code).toBe('55P03'); // lock_not_available
      await shard.createTables([table]);
      expect(await insertRecord(shard, table, record('b', { note: 'n' }))).toBe(true);
      expect((await shard.scanRecords(table, { limit: 10, notes: true })).map((r) => r.id)).toEqual([
        'a',
        'b',
      ]);
    });
  });
});
