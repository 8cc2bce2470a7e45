import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Doc,
  Entity,
  Index,
  integer,
  type Shard,
  ShardByColumn,
  ShardByPrimaryKey,
  text,
} from '@waffle/core';
import { libsqlShard } from '@waffle/libsql';
import { mysqlShard } from '@waffle/mysql';
import { postgresShard } from '@waffle/postgres';
import { json } from '@waffle/serializer-json';

/** A blog post, as in the 2009 library's example. */
export interface Post {
  title: string;
  body: string;
  author: string;
  created: number;
}

/** Where the example keeps its data. */
export interface ExampleConfig {
  /** Folder of the embedded libSQL files, used when no URLs are given. */
  readonly dataDir: string;
  /** URLs of the post shards (`WAFFLE_SHARDS`). */
  readonly shards?: readonly string[];
  /** URLs of the author index shards (`WAFFLE_INDEX_SHARDS`; default: the post shards). */
  readonly indexShards?: readonly string[];
}

function urls(value: string | undefined): string[] | undefined {
  const list = value
    ?.split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  return list && list.length > 0 ? list : undefined;
}

/** The configuration from `WAFFLE_SHARDS`, `WAFFLE_INDEX_SHARDS` and `WAFFLE_EXAMPLE_DATA`. */
export function configFromEnv(env: NodeJS.ProcessEnv, defaultDataDir: string): ExampleConfig {
  return {
    dataDir: env.WAFFLE_EXAMPLE_DATA || defaultDataDir,
    shards: urls(env.WAFFLE_SHARDS),
    indexShards: urls(env.WAFFLE_INDEX_SHARDS),
  };
}

/** A shard for a URL, by its scheme: PostgreSQL, MySQL/MariaDB, or libSQL (files, `:memory:`, servers). */
export function shardFromUrl(url: string): Shard {
  if (/^postgres(ql)?:\/\//.test(url)) return postgresShard(url);
  if (/^mysql:\/\//.test(url)) return mysqlShard(url);
  if (/^(file:|:memory:|libsql:|https?:|wss?:)/.test(url)) return libsqlShard({ url });
  throw new Error(
    `Unknown shard URL scheme in "${url.replace(/\/\/[^@/]*@/, '//')}": use postgres://, mysql://, file:, libsql:`,
  );
}

/**
 * Opens the shards: the URLs given, or else two libSQL files for posts and
 * two others for the author index.
 */
export function openShards(config: ExampleConfig): { postShards: Shard[]; authorShards: Shard[] } {
  if (config.shards) {
    return {
      postShards: config.shards.map(shardFromUrl),
      authorShards: (config.indexShards ?? config.shards).map(shardFromUrl),
    };
  }
  mkdirSync(config.dataDir, { recursive: true });
  const at = (file: string) => libsqlShard({ url: `file:${join(config.dataDir, file)}` });
  return {
    postShards: [at('posts-0.db'), at('posts-1.db')],
    authorShards: [at('authors-0.db'), at('authors-1.db')],
  };
}

/** The blog entity: posts searchable by time (beside the posts) and by author (on other shards). */
export function blog(postShards: Shard[], authorShards: Shard[]) {
  const byTime = new Index('blog_time', {
    columns: { time: integer() },
    shard: new ShardByPrimaryKey(postShards),
    mapper: (post: Doc<Post>) => [{ time: Math.floor(post.value.created / 1000) }],
  });
  const byAuthor = new Index('blog_author', {
    columns: { author: text(), time: integer() },
    shard: new ShardByColumn('author', authorShards),
    mapper: (post: Doc<Post>) => [{ author: post.value.author, time: Math.floor(post.value.created / 1000) }],
  });
  const posts = new Entity<Post>('blog', {
    shards: postShards,
    indices: [byTime, byAuthor],
    serializer: json(),
  });
  return { posts, byTime, byAuthor };
}

/** Saves three posts (once: they have fixed ids) and prints today's posts and ann's posts. */
export async function runExample(
  config: ExampleConfig,
  print: (line: string) => void = console.log,
): Promise<void> {
  const { postShards, authorShards } = openShards(config);
  try {
    const { posts, byTime, byAuthor } = blog(postShards, authorShards);
    await posts.create(); // tables and indices, if they don't already exist

    const now = Date.now();
    const drafts = [
      {
        id: 'first',
        title: 'My First Blog Post',
        body: "It's a sunny day in San Francisco.",
        author: 'ann',
        created: now,
      },
      { id: 'second', title: 'Fog', body: 'Karl the Fog is back.', author: 'bob', created: now - 3_600_000 },
      {
        id: 'old',
        title: 'Hello from 2009',
        body: 'Schema-less MySQL!',
        author: 'ann',
        created: Date.UTC(2009, 6, 8),
      },
    ];
    for (const { id, ...value } of drafts) {
      const existing = await posts.get(id);
      if (existing && existing.value.created >= now - 86_400_000) continue;
      if (existing) existing.value = { ...value, created: id === 'old' ? value.created : now };
      await posts.save(existing ?? posts.new(value, { id }));
    }

    print("Today's posts:");
    const yesterday = Math.floor((Date.now() - 86_400_000) / 1000);
    for await (const post of posts.select(byTime.c.time.gte(yesterday))) print(`  ${post.value.title}`);

    print("ann's posts, newest first:");
    for (const post of await posts.select(byAuthor.c.author.eq('ann'), {
      orderBy: byAuthor.c.time.desc(),
      limit: 20,
    })) {
      print(`  ${new Date(post.value.created).toISOString().slice(0, 10)}  ${post.value.title}`);
    }
  } finally {
    await Promise.all([...postShards, ...authorShards].map((s) => s.close()));
  }
}
