/**
 * `@waffle/sql`: the SQL building blocks waffle's drizzle-based adapters share,
 * so that every dialect compiles predicates, maps records and dispatches
 * operations the same way.
 */
export { chunks, rowsPerStatement } from './batch.js';
export {
  direct,
  type Enter,
  type OperationsOptions,
  OperationsShard,
  SqlOperations,
  type Statements,
  type Tables,
} from './operations.js';
export {
  compileOrder,
  compilePredicate,
  type IndexTableColumns,
  indexSqlColumns,
  type SqlColumns,
} from './predicate.js';
export {
  decodeHistory,
  decodeIndexRow,
  decodeRecord,
  HISTORY_COLUMNS,
  type HistoryColumns,
  type HistoryValues,
  historySelection,
  historyValues,
  RECORD_COLUMNS,
  type RecordColumns,
  type RecordValues,
  recordSelection,
  recordValues,
} from './records.js';
export {
  entityColumns,
  historyColumns,
  indexBuilders,
  indexColumns,
  indexKey,
  type NullableBuilder,
  TableCache,
} from './tables.js';
export { readColumn, toNumber, type ValueReader } from './values.js';
