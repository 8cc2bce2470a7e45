/**
 * How an index table looks to the shared compiler of `@waffle/sql`: its
 * columns (`__id` included) and the bound form of values.
 */
import { INDEX_ID_COLUMN } from '@waffle/core';
import type { SqlColumns } from '@waffle/sql';
import type { IndexTable } from './postgres-tables.js';
import { toStorage } from './postgres-values.js';

const cache = new WeakMap<IndexTable, SqlColumns>();

/** The compiler's view of an index table (built once per table). */
export function sqlColumns(t: IndexTable): SqlColumns {
  let columns = cache.get(t);
  if (!columns) {
    const byName = new Map(t.columns.map((c) => [c.name, c] as const));
    columns = {
      table: t.spec.name,
      column: (name) => (name === INDEX_ID_COLUMN ? { column: t.id, kind: 'text' } : byName.get(name)),
      bind: toStorage,
    };
    cache.set(t, columns);
  }
  return columns;
}
