/**
 * `@waffle/core/adapter`: the contract a shard adapter implements, and what
 * an adapter needs of core to implement it. Users of waffle need none of it.
 * `@waffle/sql` implements the contract once for SQL databases.
 */
import { ColumnType } from './columns.js';
import { ValidationError } from './errors.js';
import { ColumnRef as Ref } from './predicate.js';
import { INDEX_ID_COLUMN as ID, type IndexTableSpec as Spec } from './types.js';

export type { ColumnKind, ColumnValue } from './columns.js';
export { compareBytes, compareText, compareValues } from './columns.js';
export { type BreakerState, ShardHealth, shardHealth } from './health.js';
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
  ReadRecords,
  RecordRow,
  RecordWrite,
  ScanRecords,
  Shard,
  ShardLimits,
  TableSpec,
} from './types.js';
export { INDEX_ID_COLUMN, INDEX_VERSION_COLUMN, META_TABLE } from './types.js';

/**
 * A column of an index table, or its entity id (`__id`), as `index.c.<column>`
 * gives it: for building the predicates and order terms of `queryIndex` calls
 * on a shard directly (an adapter's own tests, tools).
 */
export function columnRef(spec: Spec, name: string): Ref {
  if (name === ID) return new Ref({ name: spec.name }, name, new ColumnType('text', false));
  const column = spec.columns.find((c) => c.name === name);
  if (!column) throw new ValidationError(`Index table "${spec.name}" has no column "${name}"`);
  return new Ref({ name: spec.name }, name, new ColumnType(column.kind, column.nullable));
}
