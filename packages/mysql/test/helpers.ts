import type { Shard } from '@waffle/core';
import type {
  EntityTableSpec,
  HistoryTableSpec,
  IndexTableSpec,
  RecordRow,
  TableSpec,
} from '@waffle/core/adapter';
import { dialectEnabled, type IndexColumnTuple, indexTableSpec, servers, uniqueName } from '@waffle/testkit';
import mysql, { type Pool, type PoolOptions } from 'mysql2/promise';
import { afterAll, afterEach } from 'vitest';
import { type MysqlShardOptions, mysqlShard } from '../src/index.js';

export { columnRef as ref, recordRow as record } from '@waffle/testkit';

/** False when `WAFFLE_DIALECTS` leaves MySQL out: every file skips its tests then. */
export const enabled = dialectEnabled('mysql');

/** The database the dialect tests use (`test` on the server of `WAFFLE_MYSQL_URL`). */
export const databaseUrl = `${servers.mysql}/test`;

/** A fresh entity table spec. */
export function entitySpec(prefix = 'posts'): EntityTableSpec {
  return { kind: 'entity', name: uniqueName(prefix) };
}

/** A fresh history table spec. */
export function historySpec(prefix = 'posts_history'): HistoryTableSpec {
  return { kind: 'history', name: uniqueName(prefix) };
}

/** An index table spec from `[name, kind, nullable?]` triples, with a fresh name. */
export function indexSpec(prefix: string, columns: IndexColumnTuple[]): IndexTableSpec {
  return indexTableSpec(uniqueName(prefix), columns);
}

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Runs `fn` after the current test. */
export function onCleanup(fn: () => Promise<unknown> | unknown): void {
  cleanups.push(fn);
}

/** A shard on the test database (or as `options` say), closed after the test. */
export function openShard(options: MysqlShardOptions = databaseUrl): Shard {
  const shard = mysqlShard(options);
  onCleanup(() => shard.close());
  return shard;
}

/** A mysql2 pool of the test's own on the test database, ended after the test. */
export function openPool(options: PoolOptions = {}): Pool {
  const pool = mysql.createPool({ uri: databaseUrl, connectionLimit: 4, ...options });
  onCleanup(() => pool.end());
  return pool;
}

let admin: Pool | undefined;
afterAll(async () => {
  await admin?.end();
  admin = undefined;
});

/** A pool of the test file's own on the test database, for checks behind the shard's back. */
export function adminPool(): Pool {
  admin ??= mysql.createPool({ uri: databaseUrl, connectionLimit: 2 });
  return admin;
}

/** Drops the tables (and forgets them in the metadata table) after the test. */
export function dropLater(...names: string[]): void {
  onCleanup(async () => {
    const pool = adminPool();
    await pool.query(`DROP TABLE IF EXISTS ${names.map((n) => `\`${n}\``).join(', ')}`);
    await pool.query('DELETE FROM `__waffle_meta` WHERE `key` IN (?)', [names]).catch(() => undefined);
  });
}

/** Creates the tables on the shard and drops them after the test. */
export async function createTables(shard: Shard, ...specs: TableSpec[]): Promise<void> {
  dropLater(...specs.map((s) => s.name));
  await shard.createTables(specs);
}

/** Inserts one record (a commit of it alone); returns whether it was inserted. */
export async function insert(shard: Shard, spec: EntityTableSpec, row: RecordRow): Promise<boolean> {
  const [done] = await shard.commit({ table: spec, writes: [{ row, expected: 0 }] });
  return done!;
}

/** Inserts records in one commit; returns per record whether it was inserted. */
export function insertAll(
  shard: Shard,
  spec: EntityTableSpec,
  rows: readonly RecordRow[],
): Promise<boolean[]> {
  return shard.commit({ table: spec, writes: rows.map((row) => ({ row, expected: 0 })) });
}

/** Replaces a record stored at `expected` (a commit of it alone); returns whether it did. */
export async function update(
  shard: Shard,
  spec: EntityTableSpec,
  row: RecordRow,
  expected: number,
): Promise<boolean> {
  const [done] = await shard.commit({ table: spec, writes: [{ row, expected }] });
  return done!;
}

/** Every row of an index, ordered by id then values, as compact strings. */
export async function indexContent(shard: Shard, spec: IndexTableSpec): Promise<string[]> {
  const rows = await shard.queryIndex(spec, {
    where: undefined,
    orderBy: [
      { column: '__id', direction: 'asc' },
      ...spec.columns.map((c) => ({ column: c.name, direction: 'asc' as const })),
    ],
    limit: 100_000,
  });
  return rows.map(
    (r) =>
      `${r.id}:${r.values.map((v) => (v instanceof Uint8Array ? `x${Buffer.from(v).toString('hex')}` : String(v))).join('/')}@${r.version}`,
  );
}
