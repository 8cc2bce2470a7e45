/**
 * How the engine sees a shard's tables: quoted names and column expressions,
 * built once per table spec, with the templates of the statements on them.
 */
import {
  type ColumnKind,
  type EntityTableSpec,
  type HistoryTableSpec,
  INDEX_ID_COLUMN,
  INDEX_VERSION_COLUMN,
  type IndexTableSpec,
} from '@waffle/core/adapter';
import { type SQL, sql } from 'drizzle-orm';
import type { ColumnsView } from './predicate.js';
import { type Render, Templates } from './template.js';

/** `"table"."column"`. */
export function qualified(table: string, column: string): SQL {
  return sql`${sql.identifier(table)}.${sql.identifier(column)}`;
}

/** An entity table. */
export interface EntityTable {
  readonly spec: EntityTableSpec;
  readonly name: SQL;
  readonly templates: Templates;
}

/** A history table. */
export interface HistoryTable {
  readonly spec: HistoryTableSpec;
  readonly name: SQL;
  readonly templates: Templates;
}

/** One column of an index table. */
export interface IndexColumn {
  readonly name: string;
  readonly kind: ColumnKind;
  readonly nullable: boolean;
  /** `"t"."c"`. */
  readonly sql: SQL;
}

/** An index table: its value columns in spec order, then `__id` and `__version`. */
export interface IndexTable {
  readonly spec: IndexTableSpec;
  readonly name: SQL;
  readonly columns: readonly IndexColumn[];
  readonly id: SQL;
  readonly version: SQL;
  /** True when some key column is nullable. */
  readonly nullable: boolean;
  /** The columns by name, `__id` included, for the predicate compiler. */
  readonly view: ColumnsView;
  readonly templates: Templates;
}

/**
 * The cache key of an index spec: its name and column shapes, so that a spec
 * whose columns changed gets a table of its own.
 */
export function indexKey(spec: IndexTableSpec): string {
  return `${spec.name}(${spec.columns.map((c) => `${c.name} ${c.kind}${c.nullable ? '?' : ''}`).join(',')})`;
}

/** Builds each table description once per spec, with its own templates. */
export class TableCache {
  readonly #entities = new Map<string, EntityTable>();
  readonly #histories = new Map<string, HistoryTable>();
  readonly #indices = new Map<string, IndexTable>();
  /** The same tables by spec object: an index's spec is one object for its life, so a call finds its table without building the key. */
  readonly #bySpec = new WeakMap<IndexTableSpec, IndexTable>();

  constructor(private readonly render: Render) {}

  entity(spec: EntityTableSpec): EntityTable {
    return cached(this.#entities, spec.name, () => this.#named(spec));
  }

  history(spec: HistoryTableSpec): HistoryTable {
    return cached(this.#histories, spec.name, () => this.#named(spec));
  }

  /** A table known by its name alone: entity and history tables. */
  #named<S extends { readonly name: string }>(spec: S): { spec: S; name: SQL; templates: Templates } {
    return { spec, name: sql.identifier(spec.name) as unknown as SQL, templates: new Templates(this.render) };
  }

  index(spec: IndexTableSpec): IndexTable {
    let table = this.#bySpec.get(spec);
    if (table === undefined) {
      table = this.#build(spec);
      this.#bySpec.set(spec, table);
    }
    return table;
  }

  #build(spec: IndexTableSpec): IndexTable {
    return cached(this.#indices, indexKey(spec), () => {
      const columns = spec.columns.map((c) => ({ ...c, sql: qualified(spec.name, c.name) }));
      const id = qualified(spec.name, INDEX_ID_COLUMN);
      const byName = new Map<string, { sql: SQL; kind: ColumnKind }>(columns.map((c) => [c.name, c]));
      byName.set(INDEX_ID_COLUMN, { sql: id, kind: 'text' });
      return {
        ...this.#named(spec),
        columns,
        id,
        version: qualified(spec.name, INDEX_VERSION_COLUMN),
        nullable: spec.columns.some((c) => c.nullable),
        view: { table: spec.name, column: (name) => byName.get(name) },
      };
    });
  }
}

/** The entry of `key` in `map`, built by `build` the first time. */
function cached<V>(map: Map<string, V>, key: string, build: () => V): V {
  let found = map.get(key);
  if (found === undefined) {
    found = build();
    map.set(key, found);
  }
  return found;
}
