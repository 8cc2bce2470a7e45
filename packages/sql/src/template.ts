/**
 * Statements built once and bound many times. A statement is built with
 * drizzle's `sql` template, its values standing as {@link at}`(i)`: the i-th
 * value of a call. Rendering it once per table and shape gives the SQL text
 * and where each value goes; a call only binds values.
 */
import { Placeholder, type SQL, sql } from 'drizzle-orm';
import type { Statement } from './driver.js';

/** Renders drizzle SQL in a dialect: quoted identifiers, the dialect's placeholders. */
export type Render = (query: SQL) => { sql: string; params: unknown[] };

/** The i-th value of a call, in a statement being built. */
export function at(i: number): SQL {
  return sql`${sql.placeholder(String(i))}`;
}

/** A rendered statement: its text, and the value each placeholder takes. */
export class Template {
  readonly sql: string;
  /** For each placeholder in the text, the position of its value in a call's values; undefined when in order. */
  readonly #order: readonly number[] | undefined;
  /**
   * How many placeholders the text has (a call may hold values the text does
   * not use, after them); undefined for a text that holds its own positional
   * `?` and no placeholder (MySQL's derived tables, built as text): every
   * value of a call is its.
   */
  readonly #count: number | undefined;

  constructor(render: Render, query: SQL) {
    const rendered = render(query);
    this.sql = rendered.sql;
    const order = rendered.params.map((p, i) => {
      if (!(p instanceof Placeholder)) throw new Error(`A statement template holds a literal value at ${i}`);
      return Number(p.name);
    });
    this.#order = order.every((position, i) => position === i) ? undefined : order;
    this.#count = order.length === 0 && this.sql.includes('?') ? undefined : order.length;
  }

  /** The statement with its placeholders bound to `values`. */
  bind(values: readonly unknown[]): Statement {
    const order = this.#order;
    if (order !== undefined) return { sql: this.sql, params: order.map((i) => values[i]) };
    const count = this.#count;
    return {
      sql: this.sql,
      params: count === undefined || values.length === count ? values : values.slice(0, count),
    };
  }
}

/**
 * Templates of one table, by shape; each built at first use. The shapes in
 * use are few (a table's statements, a batch size or two, the predicates an
 * application asks), but a caller can make many (every batch size of a
 * saveMany): the least recently used templates beyond {@link Templates.MAX}
 * are dropped, so memory stays bounded.
 */
export class Templates {
  /** Most templates kept per table. */
  static readonly MAX = 128;
  readonly #byShape = new Map<string, Template>();

  constructor(private readonly render: Render) {}

  /** The template of `shape`, built by `build` the first time (or again after it was dropped). */
  get(shape: string, build: () => SQL): Template {
    const byShape = this.#byShape;
    let found = byShape.get(shape);
    if (found === undefined) {
      found = new Template(this.render, build());
      if (byShape.size >= Templates.MAX) byShape.delete(byShape.keys().next().value!);
    } else if (byShape.size > Templates.MAX / 2) {
      // Refresh only when dropping could happen: the common case stays one lookup.
      byShape.delete(shape);
    } else {
      return found;
    }
    byShape.set(shape, found);
    return found;
  }

  /** Templates kept now. */
  get size(): number {
    return this.#byShape.size;
  }
}
