import {
  type ColumnKind,
  type ColumnType,
  type ColumnValue,
  type ColumnValues,
  compareValues,
} from './columns.js';
import type { Doc } from './doc.js';
import { ValidationError } from './errors.js';
import { checkName, describe } from './names.js';
import { ColumnRef } from './predicate.js';
import { checkStrategyReplicas, ShardByPrimaryKey } from './shard-strategy.js';
import type { IndexTableSpec, Shard, ShardStrategy } from './types.js';
import { INDEX_ID_COLUMN } from './types.js';

/** The columns of an index: name → type. */
export type Columns = { readonly [name: string]: ColumnType };

type ValueOf<T> =
  T extends ColumnType<infer K, infer N> ? ColumnValues[K] | (N extends true ? null : never) : never;
type KindOf<T> = T extends ColumnType<infer K, boolean> ? K : never;

/** One row a mapper returns: a value for every column of the index. */
export type MapperRow<C extends Columns> = string extends keyof C
  ? { readonly [name: string]: unknown }
  : { readonly [K in keyof C]: ValueOf<C[K]> };

/** `index.c`: a {@link ColumnRef} per column. Loosely typed when the columns are not inferred. */
export type ColumnRefs<C extends Columns> = string extends keyof C
  ? // columns unknown to the type system (Index<T> without C)
    any
  : { readonly [K in keyof C]: ColumnRef<KindOf<C[K]>> };

/** Options of an {@link Index}. */
export interface IndexOptions<T, C extends Columns> {
  /** Column name → type, in key order: the first column sorts first. */
  readonly columns: C;
  /** Where the index rows live: a strategy, or shards (sharded by the record id). */
  readonly shard: ShardStrategy | readonly Shard[];
  /**
   * Computes the index rows of a record: zero, one or many. Must be pure and
   * deterministic: reads re-run it to verify hits, and repair to rebuild rows.
   */
  readonly mapper: (record: Doc<T>) => Iterable<MapperRow<C>>;
  /**
   * The version of the mapper (a positive integer, default 1). Raise it when
   * the mapper changes what it produces: opening the entity then marks the
   * index `building`, and `backfill()` rebuilds it.
   */
  readonly version?: number;
  /**
   * The most rows the mapper may return for one record (a positive integer,
   * default 1000). A record whose mapper returns more is
   * refused with a {@link ValidationError} naming the index, the record and
   * this cap, on every path that runs the mapper (save, saveMany, update,
   * backfill, reads, verify and repair): a runaway mapper cannot write an
   * unbounded batch, and an endless iterable is read no further than the cap.
   */
  readonly maxRows?: number;
}

/** Default of {@link IndexOptions.maxRows}: the most index rows one record may have. */
const DEFAULT_MAX_ROWS = 1000;

/** A normalised index row: values in column order. */
export type RowValues = readonly ColumnValue[];

/**
 * A secondary index: a table of rows the application computes from each record
 * with `mapper`, spread over shards by `shard`. Queries go through `index.c`.
 */
export class Index<T = unknown, C extends Columns = Columns> {
  readonly name: string;
  readonly columns: C;
  readonly strategy: ShardStrategy;
  readonly mapper: (record: Doc<T>) => Iterable<MapperRow<C>>;
  /** The version of the mapper: see {@link IndexOptions.version}. */
  readonly version: number;
  /** The most rows the mapper may return for one record: see {@link IndexOptions.maxRows}. */
  readonly maxRows: number;
  /** Column references for predicates and ordering: `index.c.time.gte(…)`. */
  readonly c: ColumnRefs<C>;
  /** The table each of the index's shards holds (its name and columns, for adapters and tools). */
  readonly table: IndexTableSpec;
  /** Column names in key order. */
  readonly columnNames: readonly string[];
  /** Column kinds in key order. */
  readonly columnKinds: readonly ColumnKind[];
  /** @internal The reference to the entity id, for ordering and cursors. */
  readonly idRef: ColumnRef<'text'>;

  constructor(name: string, options: IndexOptions<T, C>) {
    this.name = checkName('index', name);
    if (typeof options !== 'object' || options === null) {
      throw new ValidationError(`Index "${name}": options are required ({ columns, shard, mapper })`);
    }
    const { columns, shard, mapper } = options;
    if (typeof columns !== 'object' || columns === null || Object.keys(columns).length === 0) {
      throw new ValidationError(`Index "${name}": columns must name at least one column`);
    }
    if (typeof mapper !== 'function') {
      throw new ValidationError(`Index "${name}": mapper must be a function, got ${describe(mapper)}`);
    }
    const refs: Record<string, ColumnRef> = {};
    const folded = new Map<string, string>();
    for (const [column, type] of Object.entries(columns)) {
      checkName('column', column);
      // SQLite and MySQL do not tell column names apart by case: refused on every dialect, before any SQL.
      const same = folded.get(column.toLowerCase());
      if (same !== undefined) {
        throw new ValidationError(
          `Index "${name}": column names "${same}" and "${column}" differ only by case, which SQLite and MySQL do not distinguish`,
        );
      }
      folded.set(column.toLowerCase(), column);
      if (typeof type !== 'object' || type === null || typeof (type as ColumnType).normalize !== 'function') {
        throw new ValidationError(
          `Index "${name}": column "${column}" needs a column type such as integer() or text(), got ${describe(type)}`,
        );
      }
      refs[column] = new ColumnRef(this, column, type);
    }
    this.columns = columns;
    this.columnNames = Object.keys(columns);
    this.columnKinds = this.columnNames.map((c) => columns[c]!.kind);
    this.strategy = Array.isArray(shard) ? new ShardByPrimaryKey(shard) : (shard as ShardStrategy);
    if (!this.strategy || typeof this.strategy.shardOf !== 'function') {
      throw new ValidationError(`Index "${name}": shard must be a ShardStrategy or an array of shards`);
    }
    checkStrategyReplicas(`Index "${name}"`, this.strategy);
    for (const column of this.strategy.columns ?? []) {
      if (!Object.hasOwn(columns, column)) {
        throw new ValidationError(
          `Index "${name}": its shard strategy reads column "${column}", which it does not have`,
        );
      }
    }
    this.mapper = mapper;
    const version = options.version ?? 1;
    if (!Number.isSafeInteger(version) || version < 1) {
      throw new ValidationError(
        `Index "${name}": version must be a positive integer, got ${describe(version)}`,
      );
    }
    this.version = version;
    const maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
    if (!Number.isSafeInteger(maxRows) || maxRows < 1) {
      throw new ValidationError(
        `Index "${name}": maxRows must be a positive integer, got ${describe(maxRows)}`,
      );
    }
    this.maxRows = maxRows;
    this.c = columnProxy(name, refs) as ColumnRefs<C>;
    this.idRef = new ColumnRef(this, INDEX_ID_COLUMN, {
      kind: 'text',
      isNullable: false,
    } as ColumnType<'text'>);
    this.table = {
      kind: 'index',
      name,
      columns: this.columnNames.map((c) => ({
        name: c,
        kind: columns[c]!.kind,
        nullable: columns[c]!.isNullable,
      })),
    };
  }

  /**
   * Runs the mapper on a record and checks its rows: every column present with
   * a value of its type, no unknown column. Duplicate rows are merged.
   * Throws {@link ValidationError} naming the index, the row and the column,
   * or the index and the record when the mapper itself throws.
   */
  rowsOf(record: Doc<T>): RowValues[] {
    return this.#rows(record, 'record', true);
  }

  /**
   * The mapper's rows of `record` as an array: an error the mapper throws
   * (or its iterable, while iterated) is a {@link ValidationError} naming
   * the index and the record (`what`: "record" or "stored record"), with the
   * mapper's error as its cause.
   */
  #produce(record: Doc<T>, what: string): readonly unknown[] {
    let produced: unknown;
    try {
      produced = this.mapper(record);
      if (
        produced !== null &&
        typeof produced === 'object' &&
        !Array.isArray(produced) &&
        typeof (produced as any)[Symbol.iterator] === 'function'
      ) {
        // Read one row past the cap at most: an endless iterable is refused rather than read forever.
        const rows: unknown[] = [];
        for (const row of produced as Iterable<unknown>) {
          rows.push(row);
          if (rows.length > this.maxRows) break;
        }
        produced = rows;
      }
    } catch (error) {
      throw new ValidationError(
        `Index "${this.name}": the mapper threw on ${what} "${record.id}": ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    if (!Array.isArray(produced)) {
      throw new ValidationError(
        `Index "${this.name}": the mapper must return an array (or iterable) of rows, got ${describe(produced)} for ${what} "${record.id}"`,
      );
    }
    if (produced.length > this.maxRows) {
      throw new ValidationError(
        `Index "${this.name}": the mapper returned more than ${this.maxRows} rows for ${what} "${record.id}", more than the index allows (maxRows: ${this.maxRows})`,
      );
    }
    return produced;
  }

  #rows(record: Doc<T>, what: string, kept: boolean): RowValues[] {
    const produced = this.#produce(record, what);
    // Two array literals, so two allocation sites: V8 decides per site whether to allocate in the
    // old generation. The rows of a record written (`kept`) live on with the record; the rows of a
    // stored record checked by a query die with it. Sharing one site, the write path's long-lived
    // rows made V8 allocate every query's rows in the old generation, where each one held the
    // query's young objects through the next scavenge: MariaDB Q1 lost ~15 % to the collector.
    const rows: RowValues[] = kept ? [] : [];
    const names = this.columnNames;
    // Messages are built only for a row that fails: this runs for every hit of every query.
    const where = (at: number) => `Index "${this.name}", mapper row ${at} of record "${record.id}"`;
    for (let at = 0; at < produced.length; at++) {
      const row = produced[at];
      if (typeof row !== 'object' || row === null || Array.isArray(row)) {
        throw new ValidationError(`${where(at)}: expected an object of column values, got ${describe(row)}`);
      }
      for (const key in row) {
        if (!Object.hasOwn(row, key)) continue;
        if (!Object.hasOwn(this.columns, key)) {
          throw new ValidationError(
            `${where(at)}: unknown column "${key}" (the index has ${names.map((c) => `"${c}"`).join(', ')})`,
          );
        }
      }
      const values: ColumnValue[] = new Array(names.length);
      for (let c = 0; c < names.length; c++) {
        const column = names[c]!;
        const value = (row as Record<string, unknown>)[column];
        if (value === undefined) throw new ValidationError(`${where(at)}: missing column "${column}"`);
        const type = this.columns[column]!;
        try {
          values[c] = type.normalize(value, '');
        } catch {
          type.normalize(value, `${where(at)}, column "${column}"`); // throws, with the row and column named
        }
      }
      if (!this.includesRow(rows, values)) rows.push(values);
    }
    return rows;
  }

  /**
   * @internal {@link rowsOf} of a record as read from storage (by a query,
   * `verify`, `repair` or a write replacing it): an error the mapper throws is
   * reported as a {@link ValidationError} naming the index and the record,
   * with the mapper's error as its cause.
   */
  storedRowsOf(record: Doc<T>): RowValues[] {
    return this.#rows(record, 'stored record', false);
  }

  /** True when two rows of this index have equal values in every column. */
  sameValues(a: RowValues, b: RowValues): boolean {
    for (let i = 0; i < this.columnKinds.length; i++) {
      if (compareValues(this.columnKinds[i]!, a[i]!, b[i]!) !== 0) return false;
    }
    return true;
  }

  /** @internal True when `rows` holds a row with the values of `values` (see {@link sameValues}). */
  includesRow(rows: readonly RowValues[], values: RowValues): boolean {
    for (let i = 0; i < rows.length; i++) if (this.sameValues(rows[i]!, values)) return true;
    return false;
  }

  /** @internal The row as `{ column: value }`, for shard strategies. */
  rowObject(values: RowValues): Record<string, ColumnValue> {
    const out: Record<string, ColumnValue> = {};
    this.columnNames.forEach((c, i) => {
      out[c] = values[i]!;
    });
    return out;
  }
}

/** Properties that tools (test matchers, loggers, await) probe on any object: answered, never an error. */
const PROBED = new Set([
  'then',
  'toJSON',
  'constructor',
  'asymmetricMatch',
  'nodeType',
  'tagName',
  'inspect',
  'valueOf',
  'toString',
  '$$typeof',
]);

/** `index.c`: the column references, and a clear error for a column the index does not have. */
function columnProxy(index: string, refs: Record<string, ColumnRef>): Record<string, ColumnRef> {
  return new Proxy(Object.freeze(refs), {
    get(target, property, receiver) {
      if (
        typeof property === 'string' &&
        !(property in target) &&
        !PROBED.has(property) &&
        !property.startsWith('@@')
      ) {
        throw new ValidationError(
          `Index "${index}" has no column "${property}" (its columns: ${Object.keys(target)
            .map((c) => `"${c}"`)
            .join(', ')})`,
        );
      }
      return Reflect.get(target, property, receiver);
    },
  });
}
