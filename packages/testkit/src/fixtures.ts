import {
  type Doc,
  Entity,
  type EntityOptions,
  Index,
  integer,
  real,
  type Shard,
  ShardByColumn,
  text,
} from '@waffle/core';
import { afterEach } from 'vitest';
import { type ConformanceOptions, uniqueName } from './options.js';

/** Opens shards through the options and closes every one after each test. */
export function shardPool(options: ConformanceOptions): (count: number) => Promise<Shard[]> {
  const open: Shard[] = [];
  afterEach(async () => {
    const closing = open.splice(0);
    await Promise.all(closing.map((s) => s.close()));
  });
  return async (count) => {
    const shards = await options.openShards(count);
    open.push(...shards);
    return shards;
  };
}

/** The table names of one blog entity, to open it again over other shard objects. */
export interface BlogNames {
  readonly post: string;
  readonly byGroup: string;
  readonly byTag: string;
}

/** The document of the suite's blog-like entity. */
export interface Post {
  title: string;
  author: string;
  group: number;
  score: number | null;
  tags: string[];
  rank: number;
}

/**
 * A blog entity over `shards`: `byGroup` (one row per record, beside the
 * records) and `byTag` (one row per tag, 0..n, sharded by tag on `tagShards`).
 */
export function blog(
  options: ConformanceOptions,
  shards: Shard[],
  tagShards: Shard[] = shards,
  names: BlogNames = {
    post: uniqueName('post'),
    byGroup: uniqueName('by_group'),
    byTag: uniqueName('by_tag'),
  },
  extra: Pick<EntityOptions<Post>, 'mode' | 'history' | 'onIndexError' | 'readRepair'> = {},
) {
  const byGroup = new Index(names.byGroup, {
    columns: { group: integer(), title: text(), score: real().nullable() },
    shard: shards,
    mapper: (post: Doc<Post>) => [
      { group: post.value.group, title: post.value.title, score: post.value.score },
    ],
  });
  const byTag = new Index(names.byTag, {
    columns: { tag: text(), rank: integer() },
    shard: new ShardByColumn('tag', tagShards),
    mapper: (post: Doc<Post>) => post.value.tags.map((tag) => ({ tag, rank: post.value.rank })),
  });
  const posts = new Entity<Post>(names.post, {
    shards,
    indices: [byGroup, byTag],
    serializer: options.serializer,
    ...extra,
  });
  return { posts, byGroup, byTag, names };
}

/**
 * `open(count)` opens shards; `blogOn(count)` opens `count` shards and makes
 * the blog entity on them, with its tag index on `count` index shards when
 * the options give `openIndexShards` (another engine, say).
 */
export function blogFixtures(options: ConformanceOptions) {
  const open = shardPool(options);
  const openIndex = options.openIndexShards
    ? shardPool({ ...options, openShards: options.openIndexShards })
    : undefined;
  const blogOn = async (count: number) => {
    const shards = await open(count);
    const tagShards = openIndex ? await openIndex(count) : shards;
    return { ...blog(options, shards, tagShards), shards, tagShards };
  };
  return { open, blogOn };
}

/** A post with defaults for the fields a test does not care about. */
export function post(fields: Partial<Post> = {}): Post {
  return { title: 't', author: 'ann', group: 0, score: null, tags: [], rank: 0, ...fields };
}

/** A record line as `Entity.export` writes it (and `Entity.import` reads it), created and updated at `at`. */
export const lineOf = (id: string, version: number, value: Post, at = '2026-01-31T12:00:00.000Z') =>
  JSON.stringify({ id, version, createdAt: at, updatedAt: at, value });
