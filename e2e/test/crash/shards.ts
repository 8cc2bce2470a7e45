import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Shard } from '@waffle/core';
import { libsqlShard } from '@waffle/libsql';
import { mysqlShard } from '@waffle/mysql';
import { postgresShard } from '@waffle/postgres';
import { type Dialect, servers, shardDatabaseUrls } from '@waffle/testkit';

/** A shard for a URL, by its scheme. */
export function shardFor(url: string): Shard {
  if (url.startsWith('postgres://')) return postgresShard(url);
  if (url.startsWith('mysql://')) return mysqlShard(url);
  return libsqlShard({ url });
}

/**
 * The URLs of two record shards and two tag shards for `dialect`: libSQL
 * files in `dir` (named with `prefix`), else the shard databases of the
 * local server.
 */
export function shardUrls(
  dialect: Dialect,
  dir: string,
  prefix = '',
): { shards: string[]; tagShards: string[] } {
  if (dialect === 'libsql') {
    const file = (n: string) => `file:${join(dir, `${prefix}${n}.db`)}`;
    return { shards: [file('p0'), file('p1')], tagShards: [file('t0'), file('t1')] };
  }
  const all = shardDatabaseUrls(dialect === 'postgres' ? servers.postgres : servers.mysql);
  return { shards: all.slice(0, 2), tagShards: all.slice(2, 4) };
}

/**
 * Starts the child process `script` with `args` as its JSON argument;
 * resolves with the process once it has printed its first line.
 */
export function startChild(script: string, args: object): Promise<ChildProcess> {
  const child = spawn(process.execPath, [script, JSON.stringify(args)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`${script} exited early (${code})`)));
  });
}
