/**
 * `@waffle/core/adapter`: the contract a shard adapter implements, and what
 * an adapter needs of core to implement it. Users of waffle need none of it.
 * `@waffle/sql` implements the contract once for SQL databases.
 */
export type { ColumnKind, ColumnValue } from './columns.js';
export { compareBytes, compareText, compareValues } from './columns.js';
export type { CompareOp, Predicate } from './predicate.js';
export { ColumnRef, evaluate, forEachColumn, isPredicate, prefixRange } from './predicate.js';
export type {
  Commit,
  EntityTableSpec,
  HistoryRow,
  HistoryTableSpec,
  IndexColumnSpec,
  IndexHit,
  IndexOrder,
  IndexQuery,
  IndexRow,
  IndexRows,
  IndexTableSpec,
  NoteRef,
  RecordRow,
  RecordWrite,
  ScanRecords,
  Shard,
  ShardLimits,
  TableSpec,
} from './types.js';
export { INDEX_ID_COLUMN, INDEX_VERSION_COLUMN, META_TABLE } from './types.js';
