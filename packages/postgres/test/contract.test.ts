import { json } from '@waffle/serializer-json';
import { dialectEnabled, SHARD_DATABASES, servers, shardContract, shardDatabaseUrls } from '@waffle/testkit';
import { describe } from 'vitest';
import { postgresShard } from '../src/index.js';

// The shard contract, every operation called directly on waffle_s0, waffle_s1, … of one server.
describe.skipIf(!dialectEnabled('postgres'))('postgres', () => {
  shardContract({
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
