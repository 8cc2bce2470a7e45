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

// Every shard is its own database (waffle_s0, waffle_s1, …) on one server, as in production.
describe.skipIf(!dialectEnabled('postgres'))('postgres', () => {
  shardConformance({
    name: 'postgres',
    serializer: json(),
    openShards: async (count) => {
      if (count > SHARD_DATABASES) throw new Error(`at most ${SHARD_DATABASES} shards, asked for ${count}`);
      return shardDatabaseUrls(servers.postgres)
        .slice(0, count)
        .map((url) => postgresShard({ url, max: 4 }));
    },
  });
});
