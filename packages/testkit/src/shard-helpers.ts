/**
 * Small builders for an adapter's own tests, which call a shard directly
 * with core's table specs, records and column references.
 */
import type { Doc, Entity, Serializer } from '@waffle/core';
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

/**
 * Commits `value` as version `version` of `record` (expecting `version - 1`)
 * straight to its shard, as a writer's commit lands, without the entity's
 * index work: the commit's answer, `[true]` when it went in.
 */
export function commitVersion<T>(
  entity: Entity<T>,
  serializer: Serializer,
  record: Doc<T>,
  value: T,
  version: number,
): Promise<boolean[]> {
  const row: RecordRow = {
    id: record.id,
    version,
    codec: serializer.codec,
    body: serializer.encode(value),
    createdAt: record.createdAt.getTime(),
    updatedAt: Date.now(),
  };
  const shard = entity.strategy.shards[entity.strategy.shardOf({ id: record.id })]!;
  return shard.commit({ table: entityTable(entity), writes: [{ row, expected: version - 1 }] });
}
