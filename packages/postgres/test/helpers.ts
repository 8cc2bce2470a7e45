import {
  type ColumnKind,
  ColumnRef,
  ColumnType,
  type EntityTableSpec,
  type IndexTableSpec,
  type RecordRow,
  type Shard,
} from '@waffle/core';
import { servers, shardDatabaseUrls, uniqueName } from '@waffle/testkit';
import postgres from 'postgres';
import { afterEach } from 'vitest';
import type { PostgresDriverOptions } from '../src/index.js';
import { type PostgresUrlOptions, postgresShard } from '../src/index.js';

/** `postgres://postgres@127.0.0.1:5432/waffle_s<i>` (or as the environment says). */
export function databaseUrl(i = 0, server = servers.postgres): string {
  return shardDatabaseUrls(server)[i]!;
}

/** An entity table spec with a name no other test uses. */
export function entitySpec(prefix = 'posts'): EntityTableSpec {
  return { kind: 'entity', name: track(uniqueName(prefix)) };
}

/** An index table spec from `[name, kind, nullable?]` triples, with a name no other test uses. */
export function indexSpec(prefix: string, columns: [string, ColumnKind, boolean?][]): IndexTableSpec {
  return namedIndex(track(uniqueName(prefix)), columns);
}

/** An index table spec with exactly this name (dropped after the test). */
export function namedIndex(name: string, columns: [string, ColumnKind, boolean?][]): IndexTableSpec {
  track(name);
  return {
    kind: 'index',
    name,
    columns: columns.map(([n, kind, nullable]) => ({ name: n, kind, nullable: !!nullable })),
  };
}

/** A column reference on an index, as core's `index.c.<column>` would give. */
export function ref(spec: IndexTableSpec, name: string): ColumnRef {
  if (name === '__id') return new ColumnRef({ name: spec.name }, name, new ColumnType('text', false));
  const column = spec.columns.find((c) => c.name === name);
  if (!column) throw new Error(`no column ${name}`);
  return new ColumnRef({ name: spec.name }, name, new ColumnType(column.kind, column.nullable));
}

/** A stored record with defaults. */
export function record(id: string, over: Partial<RecordRow> = {}): RecordRow {
  return {
    id,
    version: 1,
    codec: 'json',
    body: `{"id":${JSON.stringify(id)}}`,
    createdAt: 1000,
    updatedAt: 2000,
    ...over,
  };
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
