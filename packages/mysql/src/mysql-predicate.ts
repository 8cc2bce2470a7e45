/**
 * How an index table looks to the shared compiler of `@waffle/sql`: its
 * columns (`__id` included) and MySQL's bound form of values, bigints cast to
 * SIGNED so that they compare as 64-bit integers.
 */
import { INDEX_ID_COLUMN } from '@waffle/core';
import type { SqlColumns } from '@waffle/sql';
import { sql } from 'drizzle-orm';
import type { IndexTable } from './mysql-tables.js';
import { toOperand } from './mysql-values.js';

const cache = new WeakMap<IndexTable, SqlColumns>();

/** The compiler's view of an index table (built once per table). */
export function sqlColumns(t: IndexTable): SqlColumns {
  let columns = cache.get(t);
  if (!columns) {
    // Columns are handed over as SQL, not drizzle columns, so values are bound exactly as toOperand makes them.
    const byName = new Map(
      t.columns.map((c) => [c.name, { column: sql`${c.column}`, kind: c.kind }] as const),
    );
    const id = { column: sql`${t.id}`, kind: 'text' as const };
    columns = {
      table: t.spec.name,
      column: (name) => (name === INDEX_ID_COLUMN ? id : byName.get(name)),
      bind: toOperand,
    };
    cache.set(t, columns);
  }
  return columns;
}
