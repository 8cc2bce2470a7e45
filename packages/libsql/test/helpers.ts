import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ColumnKind,
  ColumnRef,
  ColumnType,
  type EntityTableSpec,
  type IndexTableSpec,
  type RecordRow,
  type Shard,
} from '@waffle/core';
import { afterEach } from 'vitest';
import { libsqlShard } from '../src/index.js';

/** The entity table most tests use. */
export const posts: EntityTableSpec = { kind: 'entity', name: 'posts' };

/** An index table spec from `[name, kind, nullable?]` triples. */
export function indexSpec(name: string, columns: [string, ColumnKind, boolean?][]): IndexTableSpec {
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
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Runs `fn` after the current test. */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

/** A fresh temporary directory, removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'waffle-libsql-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The kinds of database every behaviour is checked on. */
export const backends = ['memory', 'file'] as const;

/** A new shard on an empty database of the given kind, closed after the test. */
export function openShard(kind: (typeof backends)[number]): Shard {
  const url = kind === 'memory' ? ':memory:' : `file:${join(tempDir(), 'shard.db')}`;
  const shard = libsqlShard({ url });
  onCleanup(() => shard.close());
  return shard;
}
