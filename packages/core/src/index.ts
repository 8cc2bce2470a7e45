export type { ColumnKind, ColumnValue, ColumnValues } from './columns.js';
export {
  bigint,
  boolean,
  bytes,
  ColumnType,
  compareBytes,
  compareText,
  compareValues,
  integer,
  real,
  text,
  timestamp,
} from './columns.js';
export type { Doc } from './doc.js';
export type {
  DeleteOptions,
  DrainOptions,
  DrainReport,
  EntityOptions,
  GetOptions,
  ReencodeOptions,
  ReencodeReport,
  ScanOptions,
  UpdateOptions,
  Version,
  WriteMode,
  WriteOptions,
} from './entity.js';
export { Entity } from './entity.js';
export type { WaffleErrorCode } from './errors.js';
export {
  ConflictError,
  NotFoundError,
  QueryError,
  SerializationError,
  ShardMapError,
  ShardUnavailableError,
  ValidationError,
  WaffleError,
} from './errors.js';
export { murmur3 } from './hash.js';
export { uuidv7 } from './id.js';
export { checkId, checkName, isWellFormed, MAX_ENTITY_NAME, MAX_ID_BYTES, MAX_NAME } from './names.js';
export type { CompareOp, OrderTerm, Predicate, RowReader } from './predicate.js';
export { and, ColumnRef, evaluate, forEachColumn, isPredicate, not, or, prefixRange } from './predicate.js';
export type { Page, SelectOptions } from './query.js';
export { Query } from './query.js';
export type { ColumnRefs, Columns, IndexOptions, MapperRow } from './secondary-index.js';
export { Index } from './secondary-index.js';
export {
  BUCKETS,
  bucketOf,
  bucketOfValue,
  fixedValues,
  ShardByColumn,
  ShardByPrimaryKey,
  shardOfBucket,
} from './shard-strategy.js';
export type {
  EntityTableSpec,
  HistoryRow,
  HistoryTableSpec,
  IndexColumnSpec,
  IndexOrder,
  IndexQuery,
  IndexRow,
  IndexTableSpec,
  RecordRow,
  Serializer,
  Shard,
  ShardKey,
  ShardLimits,
  ShardOperations,
  ShardStrategy,
  TableSpec,
} from './types.js';
export { INDEX_ID_COLUMN, INDEX_VERSION_COLUMN, META_TABLE } from './types.js';
export type { IndexReport, VerifyReport } from './verify.js';
