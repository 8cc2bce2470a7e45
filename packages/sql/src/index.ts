/**
 * `@waffle/sql`: waffle's data operations written once for SQL databases.
 * An adapter is a {@link Driver} (connect, run, batch, transaction, errors,
 * close) and a {@link SqlDialect} (types and DDL, upserts, null-safe keys,
 * batch binding, placeholders, limits); {@link SqlShard} makes a shard of them.
 */
export { chunks, rowsPerStatement } from './batch.js';
export {
  type CasCommit,
  type CasWrite,
  type CommitMode,
  FULL_AFTER_CONFLICT,
  historyOf,
  keyOf,
  SqlDialect,
  T,
  tuples,
  V,
} from './dialect.js';
export {
  closedError,
  commitError,
  commits,
  type Driver,
  driverError,
  type ErrorContext,
  FirstUse,
  type Result,
  type Runner,
  redact,
  type Statement,
} from './driver.js';
export { appliesIfNewer, transactionDriver } from './newer.js';
export {
  type ColumnsView,
  compileOrder,
  compilePredicate,
  type Flat,
  flatten,
  type KindedValue,
  orderShape,
} from './predicate.js';
export {
  decodeHistory,
  decodeIndexRow,
  decodeRecord,
  FULL_RECORD,
  HISTORY_COLUMNS,
  historyValues,
  type RecordLayout,
  recordValues,
  WRITE_COLUMNS,
} from './records.js';
export { SqlShard, type SqlShardOptions } from './shard.js';
export {
  type EntityTable,
  type HistoryTable,
  type IndexColumn,
  type IndexTable,
  indexKey,
  qualified,
  TableCache,
} from './tables.js';
export { at, type Render, Template, Templates } from './template.js';
export { readColumn, toNumber, type ValueReader } from './values.js';
