import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '@waffle/core';
import { dialectEnabled, servers } from '@waffle/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import {
  blog,
  configFromEnv,
  type ExampleConfig,
  openShards,
  runExample,
  shardFromUrl,
} from '../src/blog.js';

const dir = mkdtempSync(join(tmpdir(), 'waffle-example-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(config: ExampleConfig): Promise<string[]> {
  const lines: string[] = [];
  await runExample(config, (line) => lines.push(line));
  return lines;
}

function expectBlogOutput(lines: string[]): void {
  expect(lines).toEqual([
    "Today's posts:",
    expect.stringMatching(/^ {2}(My First Blog Post|Fog)$/),
    expect.stringMatching(/^ {2}(My First Blog Post|Fog)$/),
    "ann's posts, newest first:",
    expect.stringMatching(/^ {2}\d{4}-\d\d-\d\d {2}My First Blog Post$/),
    '  2009-07-08  Hello from 2009',
  ]);
  expect(lines.slice(1, 3).sort()).toEqual(['  Fog', '  My First Blog Post']);
}

describe('the blog example on embedded libSQL files', () => {
  it("prints today's posts, My First Blog Post among them, and ann's posts", async () => {
    expectBlogOutput(await run({ dataDir: dir }));
  });

  it('runs again on the same files without duplicating posts', async () => {
    expectBlogOutput(await run({ dataDir: dir }));
    const { postShards, authorShards } = openShards({ dataDir: dir });
    const { posts, byAuthor } = blog(postShards, authorShards);
    expect(await posts.count(byAuthor.c.author.eq('bob'))).toBe(1);
    await Promise.all([...postShards, ...authorShards].map((s) => s.close()));
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

describe.skipIf(!dialectEnabled('postgres') || !dialectEnabled('mysql'))(
  'the blog example on servers',
  () => {
    it('runs with posts on two PostgreSQL servers and the author index on MariaDB', async () => {
      const config = {
        dataDir: dir,
        shards: [`${servers.postgres}/waffle_s7`, `${servers.postgres2}/waffle_s7`],
        indexShards: [`${servers.mysql}/waffle_s6`, `${servers.mysql}/waffle_s7`],
      };
      expectBlogOutput(await run(config));
      expectBlogOutput(await run(config));
    });
  },
);
