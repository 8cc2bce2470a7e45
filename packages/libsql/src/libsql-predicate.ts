/**
 * How an index table looks to the shared compiler of `@waffle/sql`: its
 * columns (`__id` included) and SQLite's storage form of values.
 */
import { indexSqlColumns } from '@waffle/sql';
import { toStorage } from './libsql-values.js';

/** The compiler's view of an index table (built once per table). */
export const sqlColumns = indexSqlColumns(toStorage);
