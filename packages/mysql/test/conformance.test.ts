import { json } from '@waffle/serializer-json';
import {
  type ConformanceOptions,
  dialectEnabled,
  servers,
  shardConformance,
  shardContract,
  shardDatabaseUrls,
} from '@waffle/testkit';
import { describe } from 'vitest';
import { mysqlShard } from '../src/index.js';

// Every shard of one call is its own database (waffle_s0 …) on the server, as in production.
const options: ConformanceOptions = {
  name: 'mysql',
  serializer: json(),
  // InnoDB keys hold 3072 bytes: the suite's 7-column index leaves 1390 bytes to each text or bytes column.
  capabilities: { indexValueBytes: 1390 },
  openShards: async (count) => {
    const urls = shardDatabaseUrls(servers.mysql);
    if (count > urls.length) throw new Error(`at most ${urls.length} shards, asked for ${count}`);
    return urls.slice(0, count).map((url) => mysqlShard(url));
  },
};

describe.skipIf(!dialectEnabled('mysql'))('mysql', () => {
  shardConformance(options);
  shardContract(options);
});
