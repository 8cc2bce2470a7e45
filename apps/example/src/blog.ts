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
import { json } from '@waffle/serializer-json';

/** A blog post, as in the 2009 library's example. */
export interface Post {
  title: string;
  body: string;
  author: string;
  created: number;
}

/** Opens the shards: two databases for posts and two others for the author index. */
export function openShards(dataDir: string): { postShards: Shard[]; authorShards: Shard[] } {
  mkdirSync(dataDir, { recursive: true });
  const at = (file: string) => libsqlShard({ url: `file:${join(dataDir, file)}` });
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
  dataDir: string,
  print: (line: string) => void = console.log,
): Promise<void> {
  const { postShards, authorShards } = openShards(dataDir);
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
