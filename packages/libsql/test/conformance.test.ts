import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { json } from '@waffle/serializer-json';
import { shardConformance } from '@waffle/testkit';
import { afterAll } from 'vitest';
import { libsqlShard } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'waffle-libsql-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

// Every shard is its own database file, as in production (WAL, one connection each).
shardConformance({
  name: 'libsql',
  serializer: json(),
  openShards: async (count) =>
    Array.from({ length: count }, () => libsqlShard({ url: `file:${join(dir, `shard-${files++}.db`)}` })),
});
