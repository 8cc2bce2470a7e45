/**
 * Prepares a shard's connection at first use and finds out how it must be
 * driven: local or remote, in-memory or file, and whether the client keeps an
 * in-memory database alive across `client.transaction()`.
 */
import type { Client } from '@libsql/client';
import { sql } from 'drizzle-orm';
import type { Executor } from './libsql-exec.js';

/** How a shard drives its client. */
export interface ConnectionMode {
  /** A local database (`file:` or `:memory:`): statements and transactions share the process. */
  readonly local: boolean;
  /** An in-memory database, which exists on one connection only. */
  readonly memory: boolean;
  /**
   * The client (before @libsql/client 0.18) gives its only connection of an
   * in-memory database to `transaction()` and then opens a new, empty one; such
   * transactions must run as BEGIN … COMMIT on the client itself.
   */
  readonly manualTransactions: boolean;
}

/**
 * Reads the database's kind; for a local file sets WAL journaling (readers no
 * longer wait for the writer) and the busy timeout of the current connection.
 */
export async function prepareConnection(
  client: Client,
  exec: Executor,
  busyTimeout: number,
): Promise<ConnectionMode> {
  if (client.protocol !== 'file') return { local: false, memory: false, manualTransactions: false };
  const databases = await exec.rows(sql`PRAGMA database_list`);
  const main = databases.find((row) => row[1] === 'main');
  const memory = main === undefined || main[2] === '' || main[2] === null;
  if (memory) return { local: true, memory, manualTransactions: await detachesOnTransaction(exec) };
  // PRAGMA takes no bound parameters; busyTimeout was checked to be a non-negative integer.
  await exec.run(sql`PRAGMA busy_timeout = ${sql.raw(String(busyTimeout))}`);
  await exec.rows(sql`PRAGMA journal_mode = WAL`);
  return { local: true, memory, manualTransactions: false };
}

/**
 * True for clients that keep one connection and leave a BEGIN issued through
 * `execute()` open (before 0.18); clients with a connection pool roll it back
 * when the statement returns its connection, so the ROLLBACK finds nothing.
 */
async function detachesOnTransaction(exec: Executor): Promise<boolean> {
  await exec.run(sql`BEGIN DEFERRED`);
  try {
    await exec.run(sql`ROLLBACK`);
    return true;
  } catch {
    return false;
  }
}
