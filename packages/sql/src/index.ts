/**
 * `@waffle/sql`: the SQL building blocks waffle's drizzle-based adapters share,
 * so that every dialect compiles predicates and orders the same way.
 */
export { chunks, rowsPerStatement } from './batch.js';
export { compileOrder, compilePredicate, type SqlColumns } from './predicate.js';
