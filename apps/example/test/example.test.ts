import { ValidationError } from '@waffle/core';
import { dialectEnabled, servers } from '@waffle/testkit';
import { describe, expect, it } from 'vitest';
import {
  blog,
  closeShards,
  configFromEnv,
  describeData,
  type ExampleConfig,
  openShards,
  redactUrl,
  seedPosts,
  shardFromUrl,
} from '../src/blog.js';
import { startServer } from '../src/server.js';
import { call, dropBlog, tempDir } from './helpers.js';

const dir = tempDir();

/** Seeds the blog of `config` and lists it as the page's lists do: every post, and ann's. */
async function seedAndList(config: ExampleConfig): Promise<{ saved: number; all: string[]; ann: string[] }> {
  const shards = openShards(config);
  try {
    const b = blog(shards.postShards, shards.authorShards);
    await b.posts.create(); // tables and indices, if they don't already exist
    const saved = await seedPosts(b);
    const all = await b.posts.select(undefined, { orderBy: b.byTime.c.time.desc() });
    const ann = await b.posts.select(b.byAuthor.c.author.eq('ann'), { orderBy: b.byAuthor.c.time.desc() });
    return { saved, all: all.map((p) => p.value.title), ann: ann.map((p) => p.value.title) };
  } finally {
    await closeShards(shards);
  }
}

const seeded = {
  all: ['My First Blog Post', 'Fog', 'Hello from 2009'],
  ann: ['My First Blog Post', 'Hello from 2009'],
};

describe('the sample posts on embedded libSQL files', () => {
  it('are saved on a first start, newest first by time and by author', async () => {
    expect(await seedAndList({ dataDir: `${dir}/seed` })).toEqual({ saved: 3, ...seeded });
  });

  it('are not saved again on the same files', async () => {
    expect(await seedAndList({ dataDir: `${dir}/seed` })).toEqual({ saved: 0, ...seeded });
    const { postShards, authorShards } = openShards({ dataDir: `${dir}/seed` });
    const { posts, byAuthor } = blog(postShards, authorShards);
    expect(await posts.count(byAuthor.c.author.eq('bob'))).toBe(1);
    await closeShards({ postShards, authorShards });
  });
});

describe('configuration from the environment', () => {
  it('reads comma-separated shard URLs', () => {
    expect(
      configFromEnv({ WAFFLE_SHARDS: 'file:a.db, file:b.db', WAFFLE_INDEX_SHARDS: ':memory:' }, 'data'),
    ).toEqual({
      dataDir: 'data',
      shards: ['file:a.db', 'file:b.db'],
      indexShards: [':memory:'],
    });
    expect(configFromEnv({}, 'data')).toEqual({ dataDir: 'data', shards: undefined, indexShards: undefined });
  });

  it('refuses an unknown URL scheme without showing a password', () => {
    expect(() => shardFromUrl('oracle://scott:tiger@db/x')).toThrow(
      'Unknown shard URL scheme in "oracle://db/x"',
    );
    expect(() => shardFromUrl('oracle://scott:tiger@db/x')).not.toThrow(ValidationError);
  });
});

describe('where the data lives', () => {
  it('names the libSQL folder, or the shard URLs without their passwords', () => {
    expect(describeData({ dataDir: '/srv/blog' })).toBe(
      'embedded libSQL files in /srv/blog (posts-0.db, posts-1.db; author index: authors-0.db, authors-1.db)',
    );
    expect(
      describeData({
        dataDir: 'data',
        shards: ['postgres://app:s3cret@db1/blog', 'postgres://app:s3cret@db2/blog'],
      }),
    ).toBe(
      'posts on postgres://app:***@db1/blog, postgres://app:***@db2/blog; author index on postgres://app:***@db1/blog, postgres://app:***@db2/blog',
    );
    expect(describeData({ dataDir: 'data', shards: ['file:a.db'], indexShards: ['mysql://root@h/x'] })).toBe(
      'posts on file:a.db; author index on mysql://root@h/x',
    );
    expect(redactUrl('mysql://root:p%40ss@127.0.0.1:3306/x')).toBe('mysql://root:***@127.0.0.1:3306/x');
  });
});

describe.skipIf(!dialectEnabled('postgres') || !dialectEnabled('mysql'))(
  'the blog service on servers',
  () => {
    const config = {
      dataDir: dir,
      shards: [`${servers.postgres}/waffle_s7`, `${servers.postgres2}/waffle_s7`],
      indexShards: [`${servers.mysql}/waffle_s6`, `${servers.mysql}/waffle_s7`],
    };

    it('serves the sample posts with posts on two PostgreSQL servers and the author index on MariaDB', async () => {
      await dropBlog(config);
      const { app, url } = await startServer({ config, port: 0, seed: true });
      try {
        const all = await call(`${url}/api/posts`, 'GET');
        expect(all.json.posts.map((p: any) => p.value.title)).toEqual(seeded.all);
        const ann = await call(`${url}/api/authors/ann/posts?limit=1`, 'GET');
        expect(ann.json.posts.map((p: any) => p.value.title)).toEqual([seeded.ann[0]]);
        const older = await call(
          `${url}/api/authors/ann/posts?after=${encodeURIComponent(ann.json.next)}`,
          'GET',
        );
        expect(older.json.posts.map((p: any) => p.value.title)).toEqual([seeded.ann[1]]);

        const created = await call(`${url}/api/posts`, 'POST', { title: 'From the API', author: 'ann' });
        expect(created.status).toBe(201);
        const { json } = await call(`${url}/api/authors/ann/posts`, 'GET');
        expect(json.posts.map((p: any) => p.value.title)).toEqual(['From the API', ...seeded.ann]);
      } finally {
        await app.close();
      }
    });

    it('saves nothing again when the blog holds posts', async () => {
      expect(await seedAndList(config)).toEqual({
        saved: 0,
        all: ['From the API', ...seeded.all],
        ann: ['From the API', ...seeded.ann],
      });
    });
  },
);
