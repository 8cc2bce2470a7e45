/** The curl examples of this package's README, run as pasted against a running service. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { serve, tempDir } from './helpers.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const block = [...readme.matchAll(/^```sh\n([\s\S]*?)^```$/gm)]
  .map((m) => m[1]!)
  .find((code) => code.startsWith('api=http://127.0.0.1:3000/api'));

describe("the README's curl examples", async () => {
  const { url } = await serve({ dataDir: tempDir() }, { seed: true });

  it('run in bash and answer as the comments say', async () => {
    expect(block, 'the README has an sh block starting with api=http://127.0.0.1:3000/api').toBeDefined();
    const script = block!.replaceAll('http://127.0.0.1:3000', url);
    const { stdout } = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', script]);
    const lines = stdout.trim().split('\n');
    const id = lines[0]!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(lines[1]!)).toMatchObject({ id, version: 1, value: { title: 'Hello', author: 'ann' } });
    expect(JSON.parse(lines[2]!)).toMatchObject({
      id,
      version: 2,
      value: { title: 'Hello again', body: 'Edited.' },
    });
    expect(JSON.parse(lines[3]!)).toMatchObject({ statusCode: 409, currentVersion: 2 });
    const first = JSON.parse(lines[4]!);
    expect(first.posts.map((p: any) => p.value.title)).toEqual(['Hello again', 'My First Blog Post']);
    expect(JSON.parse(lines[5]!).posts.map((p: any) => p.value.title)).toEqual(['Fog', 'Hello from 2009']);
    expect(JSON.parse(lines[6]!).posts.map((p: any) => p.value.title)).toEqual([
      'Hello again',
      'My First Blog Post',
      'Hello from 2009',
    ]);
    expect(JSON.parse(lines[7]!)).toMatchObject({
      statusCode: 400,
      message: 'querystring/limit must be a whole number from 1 to 100',
    });
    expect(lines[8]).toBe('204');
    expect(JSON.parse(lines[9]!)).toMatchObject({ statusCode: 404 });
    expect(lines).toHaveLength(10);
  });
});
