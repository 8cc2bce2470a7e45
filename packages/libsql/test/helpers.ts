import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import type { EntityTableSpec, Shard } from '@waffle/core/adapter';
import { afterEach } from 'vitest';
import { type LibsqlShardOptions, libsqlShard } from '../src/index.js';

export {
  columnRef as ref,
  indexTableSpec as indexSpec,
  recordRow as record,
} from '@waffle/testkit';

/** The entity table most tests use. */
export const posts: EntityTableSpec = { kind: 'entity', name: 'posts' };

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

/**
 * The kinds of database every behaviour is checked on: opened by URL (driven
 * through libsql's statement API) in memory and in a file, and a file through
 * a client the caller created (driven through the client).
 */
export const backends = ['memory', 'file', 'client'] as const;

/** Where a database of `kind` lives and how the shard or driver reaches it. */
export function openOptions(kind: (typeof backends)[number]): LibsqlShardOptions {
  if (kind === 'memory') return { url: ':memory:' };
  const url = `file:${join(tempDir(), 'shard.db')}`;
  if (kind === 'file') return { url };
  const client = createClient({ url });
  onCleanup(() => client.close());
  return { client };
}

/** A new shard on an empty database of the given kind, closed after the test. */
export function openShard(kind: (typeof backends)[number]): Shard {
  const shard = libsqlShard(openOptions(kind));
  onCleanup(() => shard.close());
  return shard;
}
