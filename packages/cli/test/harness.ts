/**
 * Runs the `waffle` command as a child process (from its TypeScript sources,
 * as `pnpm` does in the workspace) against a config written to a temporary
 * folder inside this package, so that the config resolves `@waffle/*`.
 */

import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Dialect, servers, shardDatabaseUrls, uniqueName } from '@waffle/testkit';

const here = dirname(fileURLToPath(import.meta.url));
const BIN = join(here, '..', 'src', 'bin.ts');
/** Temporary configs live here: inside the package, so their imports resolve. */
export const TMP = join(here, '.tmp');

/** What a run of the command gave. */
export interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `waffle ...args` in `cwd` with extra `env`, feeding `input` on stdin. */
export function waffle(
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
  input?: string,
): Promise<Ran> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', BIN, ...args], {
    cwd,
    env: { ...process.env, ...env, FORCE_COLOR: '0' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  child.stdin.end(input ?? '');
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The JSON lines of an output. */
export function jsonLines(text: string): any[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}

/** A fresh folder under {@link TMP}; removed by the returned function. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = join(TMP, uniqueName('run'));
  mkdirSync(dir, { recursive: true });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The names a blog fixture uses (unique per fixture, so runs on servers never collide). */
export interface BlogNames {
  readonly posts: string;
  readonly copy: string;
  readonly time: string;
  readonly tag: string;
  readonly copyTime: string;
}

/**
 * Writes `blog.mjs` (a factory of the blog entities over `dialect`'s shards,
 * shaped by environment variables) and `waffle.config.mjs` into `dir`:
 * - `CLI_SHIFT`: added to the time index's values (a changed mapper);
 * - `CLI_TAG`: `on` (default) the tag index is one of the posts' indices,
 *   `off` it is not, `retired` it is listed under `retired`;
 * - `CLI_CODEC`: `superjson` writes with superjson and reads json too.
 */
export function writeBlog(dir: string, dialect: Dialect): BlogNames {
  const names: BlogNames = {
    posts: uniqueName('cli_posts'),
    copy: uniqueName('cli_copy'),
    time: uniqueName('cli_time'),
    tag: uniqueName('cli_tag'),
    copyTime: uniqueName('cli_ctime'),
  };
  let urls: { shards: string[]; tagShards: string[] };
  if (dialect === 'libsql') {
    const file = (n: string) => `file:${join(dir, `${n}.db`)}`;
    urls = { shards: [file('p0'), file('p1')], tagShards: [file('t0')] };
  } else {
    const all = shardDatabaseUrls(dialect === 'postgres' ? servers.postgres : servers.mysql);
    urls = { shards: all.slice(0, 2), tagShards: all.slice(2, 3) };
  }
  writeFileSync(
    join(dir, 'blog.mjs'),
    `import { Entity, Index, integer, ShardByColumn, text } from '@waffle/core';
import { libsqlShard } from '@waffle/libsql';
import { mysqlShard } from '@waffle/mysql';
import { postgresShard } from '@waffle/postgres';
import { json } from '@waffle/serializer-json';
import { superjson } from '@waffle/serializer-superjson';

const SETUP = ${JSON.stringify({ names, ...urls })};

const shardFor = (url) =>
  url.startsWith('postgres://') ? postgresShard(url) : url.startsWith('mysql://') ? mysqlShard(url) : libsqlShard({ url });

export function blog(env = process.env, wrapTagShard = (shard) => shard) {
  const shards = SETUP.shards.map(shardFor);
  const tagShards = SETUP.tagShards.map(shardFor).map(wrapTagShard);
  const shift = Number(env.CLI_SHIFT ?? 0);
  const byTime = new Index(SETUP.names.time, {
    columns: { time: integer() },
    shard: shards,
    mapper: (post) => [{ time: post.value.time + shift }],
  });
  const byTag = new Index(SETUP.names.tag, {
    columns: { tag: text() },
    shard: new ShardByColumn('tag', tagShards),
    mapper: (post) => post.value.tags.map((tag) => ({ tag })),
  });
  const copyTime = new Index(SETUP.names.copyTime, {
    columns: { time: integer() },
    shard: shards,
    mapper: (post) => [{ time: post.value.time }],
  });
  const tag = env.CLI_TAG ?? 'on';
  const superjsonCodec = env.CLI_CODEC === 'superjson';
  const posts = new Entity(SETUP.names.posts, {
    shards,
    indices: tag === 'on' ? [byTime, byTag] : [byTime],
    serializer: superjsonCodec ? superjson() : json(),
    readers: superjsonCodec ? [json()] : [],
    mode: env.CLI_MODE ?? 'sync',
  });
  const copy = new Entity(SETUP.names.copy, { shards, indices: [copyTime], serializer: json() });
  const retired = tag === 'retired' ? { [posts.name]: [byTag] } : {};
  return { posts, copy, byTime, byTag, copyTime, shards, tagShards, retired };
}
`,
  );
  writeFileSync(
    join(dir, 'waffle.config.mjs'),
    `import { defineConfig } from '@waffle/cli';
import { blog } from './blog.mjs';

const { posts, copy, retired } = blog();
export default defineConfig({ entities: [posts, copy], retired });
`,
  );
  return names;
}
