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

  constructor(render: Render, query: SQL) {
    const rendered = render(query);
    this.sql = rendered.sql;
    const order = rendered.params.map((p, i) => {
      if (!(p instanceof Placeholder)) throw new Error(`A statement template holds a literal value at ${i}`);
      return Number(p.name);
    });
    this.#order = order.every((position, i) => position === i) ? undefined : order;
  }

  /** The statement with its placeholders bound to `values`. */
  bind(values: readonly unknown[]): Statement {
    const order = this.#order;
    return { sql: this.sql, params: order === undefined ? values : order.map((i) => values[i]) };
  }
}

/** Templates of one table, by shape; each built at first use. */
export class Templates {
  readonly #byShape = new Map<string, Template>();

  constructor(private readonly render: Render) {}

  /** The template of `shape`, built by `build` the first time. */
  get(shape: string, build: () => SQL): Template {
    let found = this.#byShape.get(shape);
    if (found === undefined) {
      found = new Template(this.render, build());
      this.#byShape.set(shape, found);
    }
    return found;
  }
}
