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

/** The blog: its entity and its two indices. */
export type Blog = ReturnType<typeof blog>;

/** Closes every shard {@link openShards} opened. */
export async function closeShards(shards: { postShards: Shard[]; authorShards: Shard[] }): Promise<void> {
  await Promise.all([...shards.postShards, ...shards.authorShards].map((s) => s.close()));
}

/** A shard URL without its password, fit to print. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*):[^@/]*@/i, '$1:***@');
}

/** Where the data lives, in one line: the libSQL folder, or the shard URLs (without passwords). */
export function describeData(config: ExampleConfig): string {
  if (!config.shards) {
    return `embedded libSQL files in ${config.dataDir} (posts-0.db, posts-1.db; author index: authors-0.db, authors-1.db)`;
  }
  const list = (urls: readonly string[]) => urls.map(redactUrl).join(', ');
  return `posts on ${list(config.shards)}; author index on ${list(config.indexShards ?? config.shards)}`;
}

/** The three posts of the 2009 README: ann's two (one from 2009) and bob's. */
export function samplePosts(now = Date.now()): Post[] {
  return [
    { title: 'Hello from 2009', body: 'Schema-less MySQL!', author: 'ann', created: Date.UTC(2009, 6, 8) },
    { title: 'Fog', body: 'Karl the Fog is back.', author: 'bob', created: now - 3_600_000 },
    { title: 'My First Blog Post', body: "It's a sunny day in San Francisco.", author: 'ann', created: now },
  ];
}

/**
 * Saves the sample posts when the blog holds no post at all (a first start),
 * so that the page has something to show; returns how many it saved.
 */
export async function seedPosts({ posts, byTime }: Blog, now = Date.now()): Promise<number> {
  const [any] = await posts.select(undefined, { orderBy: byTime.c.time.desc(), limit: 1 });
  if (any) return 0;
  // Time-ordered ids (the default), made oldest first: posts of the same second are listed by id.
  const drafts = samplePosts(now).map((value) => posts.new(value));
  await posts.saveMany(drafts);
  return drafts.length;
}
