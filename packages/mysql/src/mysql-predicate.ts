/**
 * How an index table looks to the shared compiler of `@waffle/sql`: its
 * columns (`__id` included) and MySQL's bound form of values, bigints cast to
 * SIGNED so that they compare as 64-bit integers.
 */
import { indexSqlColumns } from '@waffle/sql';
import { sql } from 'drizzle-orm';
import { toOperand } from './mysql-values.js';

/**
 * The compiler's view of an index table (built once per table). Columns are
 * handed over as SQL, not drizzle columns, so values are bound exactly as
 * toOperand makes them.
 */
export const sqlColumns = indexSqlColumns(toOperand, (column) => sql`${column}`);
