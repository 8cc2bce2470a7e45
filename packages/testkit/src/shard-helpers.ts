/**
 * Small builders for an adapter's own tests, which call a shard directly
 * with core's table specs, records and column references.
 */
import type { ColumnKind, EntityTableSpec, IndexTableSpec, RecordRow } from '@waffle/core/adapter';

/** A column reference on an index table (or on its `__id`), as core's `index.c.<column>` would give. */
export { columnRef } from '@waffle/core/adapter';

/** An index column as `[name, kind, nullable?]`. */
export type IndexColumnTuple = [name: string, kind: ColumnKind, nullable?: boolean];

/** An index table spec named `name` with the given columns. */
export function indexTableSpec(name: string, columns: readonly IndexColumnTuple[]): IndexTableSpec {
  return {
    kind: 'index',
    name,
    columns: columns.map(([n, kind, nullable]) => ({ name: n, kind, nullable: !!nullable })),
  };
}

/** A stored record with defaults: version 1, a JSON text body, fixed times. */
export function recordRow(id: string, over: Partial<RecordRow> = {}): RecordRow {
  return {
    id,
    version: 1,
    codec: 'json',
    body: `{"id":${JSON.stringify(id)}}`,
    createdAt: 1000,
    updatedAt: 2000,
    ...over,
  };
}

/** The table spec of an entity's records, as its shards hold it. */
export function entityTable(entity: { readonly name: string }): EntityTableSpec {
  return { kind: 'entity', name: entity.name };
}
