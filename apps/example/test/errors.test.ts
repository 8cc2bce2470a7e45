/**
 * The statuses of failures that are not the client's: a database that cannot
 * be reached (503) and anything else (500), told without internals.
 */
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { libsqlShard } from '@waffle/libsql';
import { afterAll, describe, expect, it } from 'vitest';
import { blog } from '../src/blog.js';
import { buildServer } from '../src/server.js';
import { call } from './helpers.js';

/** A loopback port nothing listens on: one just given up. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The service over `shards`, on a free port, with the log lines it writes. */
async function serveOver(shards: ReturnType<typeof libsqlShard>[]) {
  const logged: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      logged.push(String(chunk));
      done();
    },
  });
  const app = buildServer(blog(shards, shards), { logger: { level: 'error', stream } });
  afterAll(async () => {
    await app.close();
    for (const shard of shards) await shard.close();
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, logged };
}

describe('a database that cannot be reached', async () => {
  const port = await closedPort();
  const { url, logged } = await serveOver([libsqlShard({ url: `http://127.0.0.1:${port}` })]);

  it('is 503 Service Unavailable on the API, without naming the database', async () => {
    for (const [method, path, body] of [
      ['GET', '/api/posts/some-id', undefined],
      ['GET', '/api/posts', undefined],
      ['POST', '/api/posts', { title: 'x', author: 'ann' }],
    ] as const) {
      const failed = await call(`${url}${path}`, method, body);
      expect(failed.status).toBe(503);
      expect(failed.json).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'A database of the blog is unavailable; try again later',
      });
    }
    // The cause is in the service's log, for its operator.
    expect(logged.join('')).toContain(`127.0.0.1:${port}`);
  });

  it('is a 503 page on the HTML page', async () => {
    const response = await fetch(`${url}/`);
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('<h1>503 Service Unavailable</h1>');
    expect(html).not.toContain(String(port));
  });
});

describe('any other failure', async () => {
  // Shards whose tables were never created: waffle refuses them (a ShardMapError), which is no client's fault.
  const { url, logged } = await serveOver([libsqlShard({ url: ':memory:' })]);

  it('is 500 Internal Server Error, with the details only in the log', async () => {
    const failed = await call(`${url}/api/posts/some-id`, 'GET');
    expect(failed.status).toBe(500);
    expect(failed.json).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'Internal Server Error',
    });
    expect(logged.join('')).toMatch(/ShardMapError/);
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(500);
    expect(await page.text()).not.toMatch(/ShardMap|blog_time|create\(\)/);
  });
});
