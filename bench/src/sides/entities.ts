/**
 * waffle's entities in the benchmark, built only from the public API: the
 * records with a co-located index (W1-W3, R1, R2, Q1), the records whose
 * index lives on four other databases (Q2), and records without an index
 * (W0, and the scanned ones of S1).
 * The scan's child process builds its entity here too, the same way.
 */
import { Entity, Index, integer, type Shard, ShardByPrimaryKey } from '@waffle/core';
import { json } from '@waffle/serializer-json';
import type { BenchPost } from '../workload/document.js';
import type { TableNames } from '../workload/names.js';

/** The entities over `records` (one database) and `others` (the four of the other index). */
export function benchEntities(names: TableNames, records: Shard, others: readonly Shard[]) {
  // An array of shards is sharding by primary key: over the records' own shard, the index is co-located.
  const byTime = new Index<BenchPost>(names.time, {
    columns: { time: integer() },
    shard: [records],
    mapper: (post) => [{ time: post.value.time }],
  });
  const posts = new Entity<BenchPost>(names.post, {
    shards: [records],
    indices: [byTime],
    serializer: json(),
  });
  const byOther = new Index<BenchPost>(names.other, {
    columns: { time: integer() },
    shard: new ShardByPrimaryKey([...others]),
    mapper: (post) => [{ time: post.value.time }],
  });
  const posts2 = new Entity<BenchPost>(names.post2, {
    shards: [records],
    indices: [byOther],
    serializer: json(),
  });
  return { posts, byTime, posts2, byOther };
}

/** An entity of records only, without an index, on `records`: W0's, and each scanned table of S1. */
export function plainEntity(name: string, records: Shard): Entity<BenchPost> {
  return new Entity<BenchPost>(name, { shards: [records], serializer: json() });
}
