import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EntityTableSpec, Shard } from '@waffle/core/adapter';
import { afterEach } from 'vitest';
import { libsqlShard } from '../src/index.js';

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

/** The kinds of database every behaviour is checked on. */
export const backends = ['memory', 'file'] as const;

/** A new shard on an empty database of the given kind, closed after the test. */
export function openShard(kind: (typeof backends)[number]): Shard {
  const url = kind === 'memory' ? ':memory:' : `file:${join(tempDir(), 'shard.db')}`;
  const shard = libsqlShard({ url });
  onCleanup(() => shard.close());
  return shard;
}
