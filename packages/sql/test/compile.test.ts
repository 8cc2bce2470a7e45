import { and, type ColumnKind, type Doc, Index, integer, not, or, text, ValidationError } from '@waffle/core';
import { PgDialect, integer as pgInteger, pgTable, text as pgText } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import { chunks, compileOrder, compilePredicate, rowsPerStatement, type SqlColumns } from '../src/index.js';

const table = pgTable('items', { n: pgInteger('n'), t: pgText('t'), id: pgText('__id') });
const columns: SqlColumns = {
  table: 'items',
  column: (name) =>
    ({
      n: { column: table.n, kind: 'integer' as ColumnKind },
      t: { column: table.t, kind: 'text' as ColumnKind },
      __id: { column: table.id, kind: 'text' as ColumnKind },
    })[name],
  bind: (kind, value) => (kind === 'integer' ? `int:${value}` : value),
};
const index = new Index('items', {
  columns: { n: integer(), t: text() },
  shard: [{ queryIndex: async () => [] } as never],
  mapper: (_: Doc<unknown>) => [],
});
const dialect = new PgDialect();
const render = (sql: ReturnType<typeof compilePredicate>) => dialect.sqlToQuery(sql);

describe('compilePredicate', () => {
  it('binds every value as a parameter, converted by the adapter', () => {
    const q = render(
      compilePredicate(columns, and(index.c.n.gte(3), or(index.c.t.eq("x'; drop"), not(index.c.n.isNull())))),
    );
    expect(q.sql).toBe('(("items"."n" >= $1) and (("items"."t" = $2) or (not ("items"."n" is null))))');
    expect(q.params).toEqual(['int:3', "x'; drop"]);
  });

  it('compiles startsWith to a code point range, never LIKE', () => {
    const q = render(compilePredicate(columns, index.c.t.startsWith('a%_')));
    expect(q.sql).toBe('(("items"."t" >= $1 and "items"."t" < $2))');
    expect(q.params).toEqual(['a%_', 'a%`']);
    expect(render(compilePredicate(columns, index.c.t.startsWith(''))).sql).toBe('("items"."t" >= $1)');
  });

  it('compiles empty lists to constants', () => {
    expect(render(compilePredicate(columns, index.c.n.in([]))).sql).toBe('((1=0))');
    expect(render(compilePredicate(columns, and())).sql).toBe('(1=1)');
    expect(render(compilePredicate(columns, or())).sql).toBe('(1=0)');
  });

  it('nests long lists as balanced trees', () => {
    const many = or(...Array.from({ length: 1024 }, (_, i) => index.c.n.eq(i)));
    const q = render(compilePredicate(columns, many));
    expect(q.params).toHaveLength(1024);
    expect(q.sql.match(/^\(+/)![0].length).toBeLessThan(20);
  });

  it('refuses a column the table lacks, or of another kind', () => {
    const wrong: SqlColumns = {
      ...columns,
      column: (name) => (name === 'n' ? { column: table.n, kind: 'text' } : undefined),
    };
    expect(() => compilePredicate(wrong, index.c.t.eq('x'))).toThrow(ValidationError);
    expect(() => compilePredicate(wrong, index.c.t.eq('x'))).toThrow('Index "items" has no column "t"');
    expect(() => compilePredicate(wrong, index.c.n.eq(1))).toThrow(
      'column "n" is text, but the predicate uses it as integer',
    );
  });
});

describe('compileOrder', () => {
  it('orders nulls first ascending and last descending, explicitly where asked', () => {
    const order = [
      { column: 'n', direction: 'asc' as const },
      { column: '__id', direction: 'desc' as const },
    ];
    expect(compileOrder(columns, order).map((s) => render(s).sql)).toEqual([
      '"items"."n" asc',
      '"items"."__id" desc',
    ]);
    expect(compileOrder(columns, order, true).map((s) => render(s).sql)).toEqual([
      '"items"."n" ASC NULLS FIRST',
      '"items"."__id" DESC NULLS LAST',
    ]);
    expect(() => compileOrder(columns, [{ column: 'x', direction: 'asc' }])).toThrow('has no column "x"');
  });
});

describe('batching', () => {
  it('splits lists and sizes statements under a parameter limit', () => {
    expect(chunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunks([], 3)).toEqual([]);
    expect(rowsPerStatement(3, 65535)).toBe(21845);
    expect(rowsPerStatement(10, 5)).toBe(1);
  });
});
