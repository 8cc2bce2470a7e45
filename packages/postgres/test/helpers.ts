import type { Shard } from '@waffle/core';
import type { EntityTableSpec, HistoryTableSpec, IndexTableSpec, RecordRow } from '@waffle/core/adapter';
import {
  type IndexColumnTuple,
  indexTableSpec,
  servers,
  shardDatabaseUrls,
  uniqueName,
} from '@waffle/testkit';
import postgres from 'postgres';
import { afterEach } from 'vitest';
import type { PostgresDriverOptions } from '../src/index.js';
import { type PostgresUrlOptions, postgresShard } from '../src/index.js';

export { columnRef as ref, recordRow as record } from '@waffle/testkit';

/** `postgres://postgres@127.0.0.1:5432/waffle_s<i>` (or as the environment says). */
export function databaseUrl(i = 0, server = servers.postgres): string {
  return shardDatabaseUrls(server)[i]!;
}

/** An entity table spec with a name no other test uses. */
export function entitySpec(prefix = 'posts'): EntityTableSpec {
  return { kind: 'entity', name: track(uniqueName(prefix)) };
}

/** A history table spec with a name no other test uses. */
export function historySpec(prefix = 'history'): HistoryTableSpec {
  return { kind: 'history', name: track(uniqueName(prefix)) };
}

/** An index table spec from `[name, kind, nullable?]` triples, with a name no other test uses. */
export function indexSpec(prefix: string, columns: IndexColumnTuple[]): IndexTableSpec {
  return namedIndex(track(uniqueName(prefix)), columns);
}

/** An index table spec with exactly this name (dropped after the test). */
export function namedIndex(name: string, columns: IndexColumnTuple[]): IndexTableSpec {
  track(name);
  return indexTableSpec(name, columns);
}

const cleanups: (() => Promise<void> | void)[] = [];
const tables = new Set<string>();

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
  if (tables.size > 0) {
    // Tables of this file's tests live in waffle_s0 (and waffle_s1); drop them there.
    for (const url of [databaseUrl(0), databaseUrl(1)]) {
      const admin = postgres(url, { max: 1, onnotice: () => {} });
      try {
        for (const name of tables) await admin.unsafe(`DROP TABLE IF EXISTS "${name}"`);
      } finally {
        await admin.end();
      }
    }
    tables.clear();
  }
});

/** Drops the table after the test. */
export function track(name: string): string {
  tables.add(name);
  return name;
}

/** Runs `fn` after the current test. */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

/** A new shard (closed after the test) on `waffle_s<i>` by URL, with extra options. */
export function openShard(i = 0, options: Omit<PostgresUrlOptions, 'url'> = {}): Shard {
  const shard = postgresShard({ url: databaseUrl(i), max: 4, ...options });
  onCleanup(() => shard.close());
  return shard;
}

/** A postgres.js client of the test's own (ended after the test). */
export function openClient(i = 0, options: PostgresDriverOptions = {}): postgres.Sql<any> {
  const client = postgres(databaseUrl(i), { max: 2, onnotice: () => {}, ...options });
  onCleanup(() => client.end({ timeout: 5 }));
  return client;
}

/** The error a promise rejects with. */
export async function failure(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

/** Inserts records in one commit; returns per record whether it went in. */
export function insertRecords(
  shard: Shard,
  table: EntityTableSpec,
  rows: readonly RecordRow[],
): Promise<boolean[]> {
  return shard.commit({ table, writes: rows.map((row) => ({ row, expected: 0 })) });
}

/** Inserts one record; returns whether it went in. */
export async function insertRecord(shard: Shard, table: EntityTableSpec, row: RecordRow): Promise<boolean> {
  return (await insertRecords(shard, table, [row]))[0]!;
}

/** A client of the test's own that records the SQL text and parameters of every statement it runs. */
export function recordingClient(i = 0, options: PostgresDriverOptions = {}) {
  const statements: { sql: string; params: unknown[] }[] = [];
  const client = openClient(i, {
    ...options,
    debug: (_connection, sql, params) => statements.push({ sql, params: [...params] }),
  });
  /** How many statements matched `pattern` since the last reset. */
  const count = (pattern: RegExp) => statements.filter((s) => pattern.test(s.sql)).length;
  return { client, statements, count };
}

/** The plan PostgreSQL picks for a statement with its parameters. */
export async function explain(client: postgres.Sql<any>, statement: { sql: string; params: unknown[] }) {
  const rows = await client.unsafe(`EXPLAIN ${statement.sql}`, statement.params as any[]);
  return rows.map((r) => r['QUERY PLAN'] as string).join('\n');
}
