/**
 * The cache of a shard's drizzle tables, and the parts of a table entry every
 * dialect builds alike; the column types and DDL stay with each dialect.
 */
import {
  type EntityTableSpec,
  type HistoryTableSpec,
  INDEX_ID_COLUMN,
  INDEX_VERSION_COLUMN,
  type IndexColumnSpec,
  type IndexTableSpec,
} from '@waffle/core';
import { getTableColumns, type Table } from 'drizzle-orm';
import type { Tables } from './operations.js';
import { type HistoryColumns, historySelection, type RecordColumns, recordSelection } from './records.js';

/**
 * The cache key of an index spec: its name and column shapes, so that a spec
 * whose columns changed gets a table of its own.
 */
export function indexKey(spec: IndexTableSpec): string {
  return `${spec.name}(${spec.columns.map((c) => `${c.name} ${c.kind}${c.nullable ? '?' : ''}`).join(',')})`;
}

/** Builds each entity and history table once per name and each index table once per {@link indexKey}. */
export class TableCache<E, I, H> implements Tables<E, I, H> {
  readonly #entities = new Map<string, E>();
  readonly #indices = new Map<string, I>();
  readonly #histories = new Map<string, H>();

  constructor(private readonly build: Tables<E, I, H>) {}

  /** The table of an entity. */
  entity(spec: EntityTableSpec): E {
    let entry = this.#entities.get(spec.name);
    if (entry === undefined) {
      entry = this.build.entity(spec);
      this.#entities.set(spec.name, entry);
    }
    return entry;
  }

  /** The history table of an entity. */
  history(spec: HistoryTableSpec): H {
    let entry = this.#histories.get(spec.name);
    if (entry === undefined) {
      entry = this.build.history(spec);
      this.#histories.set(spec.name, entry);
    }
    return entry;
  }

  /** The table of an index. */
  index(spec: IndexTableSpec): I {
    const key = indexKey(spec);
    let entry = this.#indices.get(key);
    if (entry === undefined) {
      entry = this.build.index(spec);
      this.#indices.set(key, entry);
    }
    return entry;
  }
}

/** An entity table's drizzle table and record columns (`note` and `pending` included). */
export function entityColumns<T extends Table, C>(table: T) {
  const all = getTableColumns(table) as unknown as RecordColumns<C> & { pending: C };
  return { table, ...recordSelection(all), pending: all.pending };
}

/** A history table's drizzle table and columns. */
export function historyColumns<T extends Table, C>(spec: HistoryTableSpec, table: T) {
  return { spec, table, ...historySelection(getTableColumns(table) as unknown as HistoryColumns<C>) };
}

/** An index table's drizzle table, its index columns by spec, its entity id and version columns. */
export function indexColumns<T extends Table, C>(spec: IndexTableSpec, table: T) {
  const all = getTableColumns(table) as unknown as Record<string, C>;
  return {
    spec,
    table,
    columns: spec.columns.map((c): IndexColumnSpec & { column: C } => ({ ...c, column: all[c.name]! })),
    id: all[INDEX_ID_COLUMN]!,
    version: all[INDEX_VERSION_COLUMN]!,
  };
}

/** A drizzle column builder that can still be made NOT NULL. */
export type NullableBuilder<B> = B & { notNull(): B };

/**
 * The column builders of an index table: its columns by name (NOT NULL unless
 * nullable), then the entity id and version columns.
 */
export function indexBuilders<B>(
  spec: IndexTableSpec,
  column: (c: IndexColumnSpec) => NullableBuilder<B>,
  id: B,
  version: B,
): Record<string, B> {
  const builders: Record<string, B> = {};
  for (const c of spec.columns) {
    const b = column(c);
    builders[c.name] = c.nullable ? b : b.notNull();
  }
  builders[INDEX_ID_COLUMN] = id;
  builders[INDEX_VERSION_COLUMN] = version;
  return builders;
}
