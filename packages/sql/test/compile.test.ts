import { and, type Doc, Index, integer, not, or, text, ValidationError } from '@waffle/core';
import type { ColumnKind } from '@waffle/core/adapter';
import { sql } from 'drizzle-orm';
import { MySqlDialect } from 'drizzle-orm/mysql-core';
import { PgDialect } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import {
  at,
  type ColumnsView,
  chunks,
  compileOrder,
  compilePredicate,
  flatten,
  qualified,
  rowsPerStatement,
  Template,
  Templates,
} from '../src/index.js';

const view = (kinds: Record<string, ColumnKind>): ColumnsView => ({
  table: 'items',
  column: (name) => (kinds[name] ? { sql: qualified('items', name), kind: kinds[name]! } : undefined),
});
const columns = view({ n: 'integer', t: 'text', __id: 'text' });
const index = new Index('items', {
  columns: { n: integer(), t: text() },
  shard: [{ queryIndex: async () => [] } as never],
  mapper: (_: Doc<unknown>) => [],
});
const dialect = new PgDialect();
const render = (query: ReturnType<typeof sql>) => dialect.sqlToQuery(query);

/** Compiles a predicate the way the engine does: placeholders in flatten's order. */
function compiled(predicate: Parameters<typeof flatten>[0] & object) {
  let next = 0;
  const template = new Template(
    render,
    compilePredicate(columns, predicate, () => at(next++)),
  );
  const flat = flatten(predicate);
  return { template, flat, bound: template.bind(flat.values.map((v) => v.value)) };
}

describe('compilePredicate and flatten', () => {
  it('binds every value as a parameter, in the order flatten gives them', () => {
    const { bound, flat } = compiled(
      and(index.c.n.gte(3), or(index.c.t.eq("x'; drop"), not(index.c.n.isNull()))),
    );
    expect(bound.sql).toBe('(("items"."n" >= $1) and (("items"."t" = $2) or (not ("items"."n" is null))))');
    expect(bound.params).toEqual([3, "x'; drop"]);
    expect(flat.values.map((v) => v.kind)).toEqual(['integer', 'text']);
  });

  it('gives one shape to predicates that differ only in their values, and another otherwise', () => {
    const a = flatten(and(index.c.n.gte(3), index.c.t.in(['a', 'b'])));
    const b = flatten(and(index.c.n.gte(9), index.c.t.in(['c', 'd'])));
    expect(a.shape).toBe(b.shape);
    expect(flatten(and(index.c.n.gte(3), index.c.t.in(['a']))).shape).not.toBe(a.shape);
    expect(flatten(and(index.c.n.gt(3), index.c.t.in(['a', 'b']))).shape).not.toBe(a.shape);
    expect(flatten(index.c.t.startsWith('a')).shape).not.toBe(
      flatten(index.c.t.startsWith('\u{10FFFF}')).shape,
    );
    expect(flatten(undefined)).toEqual({ shape: '', values: [] });
  });

  it('compiles startsWith to a code point range, never LIKE', () => {
    const { bound } = compiled(index.c.t.startsWith('a%_'));
    expect(bound.sql).toBe('("items"."t" >= $1 and "items"."t" < $2)');
    expect(bound.params).toEqual(['a%_', 'a%`']);
    expect(compiled(index.c.t.startsWith('')).bound.sql).toBe('("items"."t" >= $1)');
  });

  it('compiles empty lists to constants', () => {
    expect(compiled(index.c.n.in([])).bound.sql).toBe('(1=0)');
    expect(compiled(and()).bound.sql).toBe('(1=1)');
    expect(compiled(or()).bound.sql).toBe('(1=0)');
  });

  it('nests long lists as balanced trees', () => {
    const { bound } = compiled(or(...Array.from({ length: 1024 }, (_, i) => index.c.n.eq(i))));
    expect(bound.params).toHaveLength(1024);
    expect(bound.sql.match(/^\(+/)![0].length).toBeLessThan(20);
  });

  it('refuses a column the table lacks, or of another kind', () => {
    const wrong = view({ n: 'text' });
    const compile = (p: Parameters<typeof flatten>[0] & object) => () =>
      compilePredicate(wrong, p, () => at(0));
    expect(compile(index.c.t.eq('x'))).toThrow(ValidationError);
    expect(compile(index.c.t.eq('x'))).toThrow('Index "items" has no column "t"');
    expect(compile(index.c.n.eq(1))).toThrow(
      'Index "items" column "n" is text, but the predicate uses it as integer',
    );
  });
});

describe('compileOrder', () => {
  it('orders nulls first ascending and last descending, explicitly where asked', () => {
    const order = [
      { column: 'n', direction: 'asc' as const },
      { column: '__id', direction: 'desc' as const },
    ];
    expect(render(compileOrder(columns, order, false)).sql).toBe('"items"."n" asc, "items"."__id" desc');
    expect(render(compileOrder(columns, order, true)).sql).toBe(
      '"items"."n" asc nulls first, "items"."__id" desc nulls last',
    );
    expect(() => compileOrder(columns, [{ column: 'zz', direction: 'asc' }], false)).toThrow(
      'Index "items" has no column "zz"',
    );
  });
});

describe('templates', () => {
  it('render once per shape and only bind afterwards, placing values where the placeholders are', () => {
    const templates = new Templates(render);
    let builds = 0;
    const build = () => {
      builds++;
      return sql`select ${at(1)}, ${at(0)}, ${at(1)}`;
    };
    const first = templates.get('s', build).bind(['a', 'b']);
    const second = templates.get('s', build).bind(['c', 'd']);
    expect(builds).toBe(1);
    expect(first).toEqual({ sql: 'select $1, $2, $3', params: ['b', 'a', 'b'] });
    expect(second.params).toEqual(['d', 'c', 'd']);
    templates.get('other', build);
    expect(builds).toBe(2);
  });

  it('bind only the values their text uses; a text of positional ? and no placeholder (MySQL) gets them all', () => {
    expect(new Template(render, sql`select ${at(0)}`).bind(['a', 'b'])).toEqual({
      sql: 'select $1',
      params: ['a'],
    });
    expect(new Template(render, sql`select 1 limit 20`).bind([20])).toEqual({
      sql: 'select 1 limit 20',
      params: [],
    });
    const mysql = new MySqlDialect();
    const positional = new Template((q) => mysql.sqlToQuery(q), sql.raw('select ? as v0 union all select ?'));
    expect(positional.bind(['a', 'b'])).toEqual({
      sql: 'select ? as v0 union all select ?',
      params: ['a', 'b'],
    });
  });

  it('refuse a literal value, which would be built into the text', () => {
    expect(() => new Template(render, sql`select ${1}`)).toThrow(
      'A statement template holds a literal value at 0',
    );
  });
});

describe('batching', () => {
  it('splits lists and sizes statements under a parameter limit', () => {
    expect(chunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunks([], 3)).toEqual([]);
    expect(rowsPerStatement(9, 32766)).toBe(3640);
    expect(rowsPerStatement(100, 10)).toBe(1);
  });
});

describe('template cache', () => {
  it('keeps at most MAX templates per table, dropping the least recently used', () => {
    const templates = new Templates(render);
    const builds: string[] = [];
    const get = (shape: string) =>
      templates.get(shape, () => {
        builds.push(shape);
        return sql`select ${at(0)}`;
      });
    for (let i = 0; i < Templates.MAX; i++) get(`s${i}`);
    expect(templates.size).toBe(Templates.MAX);
    get('s0'); // used again: now the most recent
    get('new');
    expect(templates.size).toBe(Templates.MAX);
    builds.length = 0;
    get('s0');
    expect(builds).toEqual([]);
    get('s1'); // the least recently used, dropped for 'new'
    expect(builds).toEqual(['s1']);
  });
});
