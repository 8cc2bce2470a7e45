import { json } from '@waffle/serializer-json';
import {
  dialectEnabled,
  SHARD_DATABASES,
  servers,
  shardConformance,
  shardDatabaseUrls,
} from '@waffle/testkit';
import { describe } from 'vitest';
import { postgresShard } from '../src/index.js';

// Shards alternate between two PostgreSQL servers: one entity (and its indices) over both.
describe.skipIf(!dialectEnabled('postgres'))('postgres on two servers', () => {
  shardConformance({
    name: 'postgres (two servers)',
    serializer: json(),
    openShards: async (count) => {
      if (count > SHARD_DATABASES) throw new Error(`at most ${SHARD_DATABASES} shards, asked for ${count}`);
      const first = shardDatabaseUrls(servers.postgres);
      const second = shardDatabaseUrls(servers.postgres2);
      return Array.from({ length: count }, (_, i) =>
        postgresShard({ url: (i % 2 === 0 ? first : second)[i]!, max: 4 }),
      );
    },
  });
});
