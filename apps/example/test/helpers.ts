import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Dialect, servers } from '@waffle/testkit';
import { afterAll } from 'vitest';
import { blog, closeShards, type ExampleConfig, openShards } from '../src/blog.js';
import { startServer } from '../src/server.js';

/** A temporary folder, removed after the file's tests. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'waffle-example-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Where each dialect's API tests keep the blog. Each uses databases of its own
 * (example.test.ts uses waffle_s7 on both PostgreSQL servers and waffle_s6 and
 * waffle_s7 on MariaDB), so that test files running at once do not meet.
 */
export function backend(dialect: Dialect, dataDir: string): ExampleConfig {
  switch (dialect) {
    case 'libsql':
      return { dataDir };
    case 'postgres':
      return {
        dataDir,
        shards: [`${servers.postgres}/waffle_s6`, `${servers.postgres2}/waffle_s6`],
        indexShards: [`${servers.postgres}/waffle_s5`, `${servers.postgres2}/waffle_s5`],
      };
    case 'mysql':
      return {
        dataDir,
        shards: [`${servers.mysql}/waffle_s4`, `${servers.mysql}/waffle_s5`],
        indexShards: [`${servers.mysql}/waffle_s3`],
      };
  }
}

/** Removes the blog's tables and metadata from the databases of `config`: a fresh start. */
export async function dropBlog(config: ExampleConfig): Promise<void> {
  const shards = openShards(config);
  try {
    await blog(shards.postShards, shards.authorShards).posts.drop();
  } finally {
    await closeShards(shards);
  }
}

/** The service on a free loopback port, stopped after the file's tests. */
export async function serve(config: ExampleConfig, options: { seed?: boolean } = {}) {
  const started = await startServer({ config, port: 0, host: '127.0.0.1', seed: options.seed ?? false });
  afterAll(() => started.app.close());
  return started;
}

/** A response's status, headers and JSON body (undefined when empty). */
export async function call(
  url: string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: any }> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined };
}
