/**
 * `@waffle/core`: schema-less documents over the SQL databases you run.
 * This entry point is the user API; the contract adapters implement is
 * `@waffle/core/adapter`.
 */
export type { ColumnKind, ColumnValue, ColumnValues } from './columns.js';
export { bigint, boolean, bytes, ColumnType, integer, real, text, timestamp } from './columns.js';
export type { Doc } from './doc.js';
export type {
  BackfillOptions,
  BackfillReport,
  CheckIndexOptions,
  Consistency,
  CountOptions,
  DeleteOptions,
  DrainOptions,
  DrainReport,
  EntityOptions,
  EntityStatus,
  ExportOptions,
  ExportProgress,
  GetManyOptions,
  GetOptions,
  ImportOptions,
  ImportReport,
  OnConflict,
  ReencodeOptions,
  ReencodeReport,
  ReplicaCheckOptions,
  ReplicaReport,
  ScanOptions,
  StatusOptions,
  UpdateOptions,
  Version,
  WriteMode,
  WriteOptions,
  WriteQuorum,
} from './entity.js';
export { Entity } from './entity.js';
export type { WaffleErrorCode } from './errors.js';
export {
  ConflictError,
  ImportError,
  IndexNotReadyError,
  NotFoundError,
  OutcomeUnknownError,
  QueryError,
  QuorumError,
  SerializationError,
  ShardMapError,
  ShardUnavailableError,
  ValidationError,
  WaffleError,
} from './errors.js';
export { uuidv7 } from './id.js';
export { readLines } from './lines.js';
export type { ColumnRef, OrderTerm, Predicate } from './predicate.js';
export { and, not, or } from './predicate.js';
export type { Page, SelectOptions } from './query.js';
export { Query } from './query.js';
export type { ColumnRefs, Columns, IndexOptions, MapperRow } from './secondary-index.js';
export { Index } from './secondary-index.js';
export type { ShardStrategyOptions } from './shard-strategy.js';
export { BUCKETS, bucketOf, ShardByColumn, ShardByPrimaryKey } from './shard-strategy.js';
export type { Serializer, Shard, ShardKey, ShardStrategy } from './types.js';
export type { IndexReport, VerifyReport } from './verify.js';
