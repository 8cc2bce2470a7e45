/**
 * Learns, at a shard's first use, what its server is and allows: MySQL or
 * MariaDB and which version (for the one statement whose syntax differs), the
 * largest packet it accepts, and whether the connection speaks utf8mb4.
 */
import { ValidationError } from '@waffle/core';
import type { Executor } from './mysql-exec.js';

/** What a shard knows about its server. */
export interface ServerInfo {
  /** `VERSION()`, e.g. `8.0.36` or `10.11.6-MariaDB`. */
  readonly version: string;
  readonly mariadb: boolean;
  /** `@@max_allowed_packet`: the largest packet, hence statement, the server accepts. */
  readonly maxPacket: number;
  /**
   * The upsert refers to the proposed row with a row alias (`INSERT … AS new
   * ON DUPLICATE KEY UPDATE … new.col`, MySQL 8.0.19 and later, where
   * `VALUES(col)` is deprecated) rather than `VALUES(col)` (MariaDB, older MySQL).
   */
  readonly upsertAlias: boolean;
}

/** Bytes of `max_allowed_packet` left for the rest of a record's statement (SQL, id, codec, numbers) and result row. */
export const BODY_MARGIN = 16 * 1024;

/** True for MySQL 8.0.19 and later (not MariaDB, which keeps `VALUES(col)` and has no row alias). */
export function supportsRowAlias(version: string): boolean {
  if (/mariadb/i.test(version)) return false;
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!match) return false;
  const [major, minor, patch] = match.slice(1).map(Number) as [number, number, number];
  return major > 8 || (major === 8 && (minor > 0 || patch >= 19));
}

/** Reads the server's version and limits, and checks the connection's character set. */
export async function inspectServer(exec: Executor): Promise<ServerInfo> {
  const [row] = await exec.rows({
    sql: 'SELECT @@max_allowed_packet, VERSION(), @@character_set_client, @@character_set_connection',
    params: [],
  });
  const version = String(row?.[1] ?? '');
  const charsets = [row?.[2], row?.[3]].map((c) => String(c));
  if (charsets.some((c) => c !== 'utf8mb4')) {
    throw new ValidationError(
      `Shard ${exec.shard} needs a utf8mb4 connection, but this one uses ${charsets.join('/')}: set charset 'utf8mb4' (mysql2's default) in the pool options`,
    );
  }
  return {
    version,
    mariadb: /mariadb/i.test(version),
    maxPacket: Number(row?.[0]),
    upsertAlias: supportsRowAlias(version),
  };
}
