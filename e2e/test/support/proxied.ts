/**
 * What the network-fault tests share: a shard of a local server reached
 * through testkit's TcpProxy, and an entity whose one index holds `n`.
 */
import { Entity, Index, integer, type Shard } from '@waffle/core';
import { mysqlShard } from '@waffle/mysql';
import { postgresShard } from '@waffle/postgres';
import { json } from '@waffle/serializer-json';
import { type Dialect, servers, shardDatabaseUrls, TcpProxy } from '@waffle/testkit';

/** A shard of the first shard database of `dialect`'s server, through a proxy of its own. */
export async function proxiedShard(
  dialect: Exclude<Dialect, 'libsql'>,
  connectTimeoutSeconds: number,
): Promise<{ proxy: TcpProxy; shard: Shard }> {
  const url = shardDatabaseUrls(dialect === 'postgres' ? servers.postgres : servers.mysql)[0]!;
  const { hostname, port } = new URL(url);
  const proxy = await TcpProxy.start({ host: hostname, port: Number(port) });
  const shard =
    dialect === 'postgres'
      ? postgresShard({ url: proxy.url(url), connect_timeout: connectTimeoutSeconds })
      : mysqlShard({ url: proxy.url(url), connectTimeout: connectTimeoutSeconds * 1000 });
  return { proxy, shard };
}

/** An entity `name` on `shard` with an index `<name>_n` of each record's `n`, created. */
export async function numberedEntity<T extends { n: number }>(
  name: string,
  shard: Shard,
): Promise<{ docs: Entity<T>; byN: Index<T> }> {
  const byN = new Index<T>(`${name}_n`, {
    columns: { n: integer() },
    shard: [shard],
    mapper: (d) => [{ n: d.value.n }],
  });
  const docs = new Entity<T>(name, { shards: [shard], indices: [byN], serializer: json() });
  await docs.create();
  return { docs, byN };
}
