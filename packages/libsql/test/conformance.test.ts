import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { json } from '@waffle/serializer-json';
import { type ConformanceOptions, shardConformance, shardContract } from '@waffle/testkit';
import { afterAll } from 'vitest';
import { libsqlShard } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'waffle-libsql-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

// Every shard is its own database file, as in production (WAL, one connection each).
const options: ConformanceOptions = {
  name: 'libsql',
  serializer: json(),
  openShards: async (count) =>
    Array.from({ length: count }, () => libsqlShard({ url: `file:${join(dir, `shard-${files++}.db`)}` })),
};
shardConformance(options);
shardContract(options);

// The contract once more on in-memory databases, which the client drives differently.
shardContract({
  ...options,
  name: 'libsql :memory:',
  openShards: async (count) => Array.from({ length: count }, () => libsqlShard({ url: ':memory:' })),
});
