import type { Serializer, Shard } from '@waffle/core';

/** How the conformance suite reaches an adapter. */
export interface ConformanceOptions {
  /** A label for the suite, e.g. `libsql` or `postgres`. */
  readonly name: string;
  /**
   * Opens `count` shards, each on a database distinct from the others in the
   * same call. Databases may be reused across tests: every test uses table
   * names of its own. The suite closes the shards it opened.
   */
  openShards(count: number): Promise<Shard[]>;
  /**
   * Opens shards for the suite's multi-valued tag index, when it should live
   * apart from the records (on another server or engine). Default: the
   * records' own shards.
   */
  openIndexShards?(count: number): Promise<Shard[]>;
  /** The serializer entities use in the suite, e.g. `json()`. */
  readonly serializer: Serializer;
  /** Scale of the randomized tests (default 1; 0.2 for a quick run). */
  readonly scale?: number;
  /**
   * Random command sequences the model-based suite checks (before `scale`,
   * and times 10 when `WAFFLE_LONG=1`). Default 300, what a database server
   * runs in CI (about 5 s per 100 on PostgreSQL, 7 s on MariaDB); the
   * embedded libSQL runs 1000 (about 5 s per 100).
   */
  readonly modelRuns?: number;
  /** Optional capabilities of the adapter; each one on unless set to false. */
  readonly capabilities?: Capabilities;
}

/** Switches for what not every database behind an adapter can do. */
export interface Capabilities {
  /**
   * The longest text or bytes value, in bytes, that one column of a
   * several-column index can hold (MySQL's keys are limited to 3072 bytes).
   * Default: 4096.
   */
  readonly indexValueBytes?: number;
}

let counter = 0;

/** A table name no other test uses: `prefix_<time><counter>`. */
export function uniqueName(prefix: string): string {
  counter++;
  return `${prefix}_${Date.now().toString(36)}${counter.toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
}
