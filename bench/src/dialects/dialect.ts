/**
 * What the run needs from a dialect: waffle's shards, the raw store on tables
 * cloned from waffle's, the peers (PostgreSQL only), where a scan's child
 * process connects, and the cleanup of everything the run created.
 */
import type { Shard } from '@waffle/core';
import type { Dialect } from '@waffle/testkit';
import type { BenchConfig } from '../config.js';
import type { RawStore } from '../raw/side.js';
import type { Picks, Preload } from '../workload/data.js';
import type { TableNames } from '../workload/names.js';
import type { Side } from '../workload/operations.js';

/** The compared peers of a dialect, and why any is missing. */
export interface Peers {
  readonly sides: Side[];
  readonly notes: string[];
}

/** One dialect's databases for one run. */
export interface DialectSetup {
  readonly dialect: Dialect;
  /** The server (version, address) or file, for the report. */
  readonly server: string;
  /** waffle's shards: the records' database and the four databases of the other index. */
  readonly shards: { readonly records: Shard; readonly others: readonly Shard[] };
  /** Clones waffle's tables (`waffle`, all created) as the raw side's (`raw`) and opens the raw store on them. */
  rawStore(waffle: TableNames, raw: TableNames): Promise<RawStore>;
  /** The peers measured beside waffle, each with `preload` stored. */
  peers(config: BenchConfig, preload: Preload, pick: Picks): Promise<Peers>;
  /** Where a scan's child process connects for `side`: a URL or a file. */
  scanTarget(side: 'waffle' | 'raw'): string;
  /** Closes waffle's shards, then drops every table whose name starts with the run's prefix, and their metadata keys. */
  close(): Promise<void>;
}

/** Runs every cleanup step, even after one fails; throws the first failure at the end. */
export async function allSettled(steps: readonly (() => Promise<unknown>)[]): Promise<void> {
  const failures = (await Promise.allSettled(steps.map((step) => step()))).filter(
    (r): r is PromiseRejectedResult => r.status === 'rejected',
  );
  if (failures.length > 0) throw failures[0]!.reason;
}
