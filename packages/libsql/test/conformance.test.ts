import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Client, createClient } from '@libsql/client';
import { json } from '@waffle/serializer-json';
import { type ConformanceOptions, shardConformance, shardContract } from '@waffle/testkit';
import { afterAll } from 'vitest';
import { libsqlShard } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'waffle-libsql-'));
const clients: Client[] = [];
afterAll(() => {
  for (const client of clients) client.close();
  rmSync(dir, { recursive: true, force: true });
});
let files = 0;

// Every shard is its own database file, as in production (WAL, one connection each).
const options: ConformanceOptions = {
  name: 'libsql',
  serializer: json(),
  // Embedded and fast: more sequences than a database server runs (testkit's default, 300).
  modelRuns: 1000,
  // The mutation run (vitest.mutation.config.ts) sets a smaller scale: it runs the suite once per mutant.
  scale: Number(process.env.WAFFLE_SCALE ?? 1),
  openShards: async (count) =>
    Array.from({ length: count }, () => libsqlShard({ url: `file:${join(dir, `shard-${files++}.db`)}` })),
};
shardConformance(options);
shardContract(options);

// The contract once more through clients the caller created, which the shard drives through the client.
shardContract({
  ...options,
  name: 'libsql client',
  openShards: async (count) =>
    Array.from({ length: count }, () => {
      const client = createClient({ url: `file:${join(dir, `shard-${files++}.db`)}` });
      clients.push(client);
      return libsqlShard({ client });
    }),
});

// And on in-memory databases.
shardContract({
  ...options,
  name: 'libsql :memory:',
  openShards: async (count) => Array.from({ length: count }, () => libsqlShard({ url: ':memory:' })),
});
