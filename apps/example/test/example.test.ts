import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { blog, openShards, runExample } from '../src/blog.js';

const dir = mkdtempSync(join(tmpdir(), 'waffle-example-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("prints today's posts, My First Blog Post among them, and ann's posts", async () => {
  const lines: string[] = [];
  await runExample(dir, (line) => lines.push(line));
  expect(lines).toEqual([
    "Today's posts:",
    expect.stringMatching(/^ {2}(My First Blog Post|Fog)$/),
    expect.stringMatching(/^ {2}(My First Blog Post|Fog)$/),
    "ann's posts, newest first:",
    expect.stringMatching(/^ {2}\d{4}-\d\d-\d\d {2}My First Blog Post$/),
    '  2009-07-08  Hello from 2009',
  ]);
  expect(lines.slice(1, 3).sort()).toEqual(['  Fog', '  My First Blog Post']);
});

it('runs again on the same files without duplicating posts', async () => {
  const lines: string[] = [];
  await runExample(dir, (line) => lines.push(line));
  expect(lines.filter((l) => l.includes('My First Blog Post'))).toHaveLength(2);
  const { postShards, authorShards } = openShards(dir);
  const { posts, byAuthor } = blog(postShards, authorShards);
  expect(await posts.count(byAuthor.c.author.eq('bob'))).toBe(1);
  await Promise.all([...postShards, ...authorShards].map((s) => s.close()));
});
