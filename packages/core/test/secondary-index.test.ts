import { describe, expect, it } from 'vitest';
import {
  bigint,
  bytes,
  type Doc,
  Index,
  integer,
  real,
  ShardByColumn,
  ShardByPrimaryKey,
  type ShardStrategy,
  text,
  timestamp,
  ValidationError,
} from '../src/index.js';
import { INDEX_ID_COLUMN } from '../src/types.js';
import { expectError, fakeShards } from './helpers.js';

type Post = { author: string; created: number; tags: string[] };

const shards = fakeShards(2);
const doc = <T>(value: T, id = 'rec-1'): Doc<T> => ({
  id,
  value,
  version: 0,
  createdAt: new Date(0),
  updatedAt: new Date(0),
});

/** An index whose mapper returns whatever the record's value is. */
const passthrough = () =>
  new Index<unknown>('by_author', {
    columns: { author: text(), time: integer() },
    shard: shards,
    mapper: (r) => r.value as never,
  });

describe('Index construction', () => {
  it('keeps columns in key order and builds column references', () => {
    const ix = new Index('by_author', {
      columns: { author: text(), time: integer(), score: real().nullable() },
      shard: shards,
      mapper: (r: Doc<Post>) => [{ author: r.value.author, time: r.value.created, score: null }],
    });
    expect(ix.name).toBe('by_author');
    expect(ix.columnNames).toEqual(['author', 'time', 'score']);
    expect(ix.columnKinds).toEqual(['text', 'integer', 'real']);
    expect(ix.c.author.name).toBe('author');
    expect(ix.c.author.owner).toBe(ix);
    expect(ix.c.score.type.isNullable).toBe(true);
    expect(ix.idRef.name).toBe(INDEX_ID_COLUMN);
    expect(ix.table).toEqual({
      kind: 'index',
      name: 'by_author',
      columns: [
        { name: 'author', kind: 'text', nullable: false },
        { name: 'time', kind: 'integer', nullable: false },
        { name: 'score', kind: 'real', nullable: true },
      ],
    });
    expect(ix.strategy).toBeInstanceOf(ShardByPrimaryKey);
    expect(ix.strategy.shards).toEqual(shards);
  });

  it('accepts a strategy, and a ShardByColumn on one of its columns', () => {
    const strategy = new ShardByColumn('author', shards);
    const ix = new Index('ix', { columns: { author: text() }, shard: strategy, mapper: () => [] });
    expect(ix.strategy).toBe(strategy);
  });

  it('rejects no columns', () => {
    for (const columns of [{}, undefined, null, 'author']) {
      expectError(
        () => new Index('ix', { columns: columns as never, shard: shards, mapper: () => [] }),
        ValidationError,
        'VALIDATION',
        'Index "ix": columns must name at least one column',
      );
    }
  });

  it('rejects a bad mapper', () => {
    for (const mapper of [undefined, null, 'rows', [{ a: 1 }]]) {
      expectError(
        () => new Index('ix', { columns: { a: integer() }, shard: shards, mapper: mapper as never }),
        ValidationError,
        'VALIDATION',
        'Index "ix": mapper must be a function',
      );
    }
  });

  it('rejects missing options and column types that are not types', () => {
    expectError(
      () => new Index('ix', undefined as never),
      ValidationError,
      'VALIDATION',
      'Index "ix": options are required',
    );
    expectError(
      () => new Index('ix', { columns: { a: 'integer' as never }, shard: shards, mapper: () => [] }),
      ValidationError,
      'VALIDATION',
      'Index "ix": column "a" needs a column type',
      'got "integer" (string)',
    );
    expectError(
      () => new Index('ix', { columns: { a: integer, b: text() } as never, shard: shards, mapper: () => [] }),
      ValidationError,
      'VALIDATION',
      'column "a" needs a column type',
    );
  });

  it('rejects a shard that is neither shards nor a strategy', () => {
    expectError(
      () => new Index('ix', { columns: { a: integer() }, shard: {} as ShardStrategy, mapper: () => [] }),
      ValidationError,
      'VALIDATION',
      'Index "ix": shard must be a ShardStrategy or an array of shards',
    );
    expectError(
      () => new Index('ix', { columns: { a: integer() }, shard: undefined as never, mapper: () => [] }),
      ValidationError,
      'VALIDATION',
      'shard must be a ShardStrategy',
    );
    expectError(
      () => new Index('ix', { columns: { a: integer() }, shard: [], mapper: () => [] }),
      ValidationError,
      'VALIDATION',
      'non-empty array of shards',
    );
  });

  it('rejects a ShardByColumn on a column the index lacks', () => {
    expectError(
      () =>
        new Index('ix', {
          columns: { time: integer() },
          shard: new ShardByColumn('author', shards),
          mapper: () => [],
        }),
      ValidationError,
      'VALIDATION',
      'Index "ix": its shard strategy reads column "author", which it does not have',
    );
    // Not fooled by names every object inherits.
    for (const name of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      expectError(
        () =>
          new Index('ix', {
            columns: { time: integer() },
            shard: new ShardByColumn(name, shards),
            mapper: () => [],
          }),
        ValidationError,
        'VALIDATION',
        `reads column "${name}", which it does not have`,
      );
    }
    // A column that happens to be called like an inherited property is fine when the index has it.
    const ix = new Index('ix', {
      columns: { constructor: text() },
      shard: new ShardByColumn('constructor', shards),
      mapper: () => [],
    });
    expect(ix.columnNames).toEqual(['constructor']);
  });
});

describe('Index.rowsOf (mapper row validation)', () => {
  it('returns the rows as values in column order, normalised', () => {
    const ix = new Index('ix', {
      columns: { a: integer(), b: bigint(), c: bytes(), d: timestamp() },
      shard: shards,
      // bigint() accepts a safe-integer number at run time; its static type asks for a bigint.
      mapper: () => [{ d: new Date(5), c: Buffer.from([1]), b: 7 as unknown as bigint, a: -0 }],
    });
    const [row] = ix.rowsOf(doc(null));
    expect(row).toHaveLength(4);
    expect(Object.is(row![0], 0)).toBe(true);
    expect(row![1]).toBe(7n);
    expect((row![2] as Uint8Array).constructor).toBe(Uint8Array);
    expect(row![3]).toEqual(new Date(5));
    expect(ix.rowObject(row!)).toEqual({ a: 0, b: 7n, c: new Uint8Array([1]), d: new Date(5) });
  });

  it('accepts zero rows, and any iterable', () => {
    const ix = passthrough();
    expect(ix.rowsOf(doc([]))).toEqual([]);
    expect(ix.rowsOf(doc(new Set([{ author: 'a', time: 1 }])))).toEqual([['a', 1]]);
    function* rows() {
      yield { author: 'a', time: 1 };
      yield { author: 'b', time: 2 };
    }
    expect(ix.rowsOf(doc(rows()))).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
  });

  it('merges duplicate rows (equal by column value, not by identity)', () => {
    const ix = new Index('ix', {
      columns: { a: integer(), t: timestamp(), b: bytes() },
      shard: shards,
      mapper: () => [
        { a: 1, t: new Date(1), b: new Uint8Array([1, 2]) },
        { a: 1, t: new Date(1), b: Buffer.from([1, 2]) },
        { a: -0, t: new Date(1), b: new Uint8Array([1, 2]) },
        { a: 0, t: new Date(1), b: new Uint8Array([1, 2]) },
        { a: 1, t: new Date(2), b: new Uint8Array([1, 2]) },
      ],
    });
    expect(ix.rowsOf(doc(null)).map((r) => [r[0], (r[1] as Date).getTime()])).toEqual([
      [1, 1],
      [0, 1],
      [1, 2],
    ]);
    const tags = new Index<Post>('tags', {
      columns: { tag: text() },
      shard: shards,
      mapper: (r) => r.value.tags.map((tag) => ({ tag })),
    });
    expect(tags.rowsOf(doc({ author: 'a', created: 0, tags: ['x', 'y', 'x', 'x'] }))).toEqual([['x'], ['y']]);
  });

  it('a missing column names the index, the record and the column', () => {
    const ix = passthrough();
    expectError(
      () => ix.rowsOf(doc([{ author: 'a' }], 'post-7')),
      ValidationError,
      'VALIDATION',
      'Index "by_author"',
      'record "post-7"',
      'missing column "time"',
    );
    // undefined counts as missing
    expectError(
      () => ix.rowsOf(doc([{ author: 'a', time: undefined }], 'post-7')),
      ValidationError,
      'VALIDATION',
      'missing column "time"',
    );
    // the row number is given
    expectError(
      () => ix.rowsOf(doc([{ author: 'a', time: 1 }, { time: 2 }], 'post-7')),
      ValidationError,
      'VALIDATION',
      'mapper row 1 of record "post-7"',
      'missing column "author"',
    );
  });

  it('an unknown column names the index, the record and the column', () => {
    const ix = passthrough();
    expectError(
      () => ix.rowsOf(doc([{ author: 'a', time: 1, extra: 2 }], 'post-8')),
      ValidationError,
      'VALIDATION',
      'Index "by_author"',
      'record "post-8"',
      'unknown column "extra"',
      '"author", "time"',
    );
  });

  it('an unknown column called like an inherited property is still unknown', () => {
    const ix = passthrough();
    for (const key of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
      const row = JSON.parse(`{"author":"a","time":1,"${key}":2}`);
      expectError(
        () => ix.rowsOf(doc([row], 'post-9')),
        ValidationError,
        'VALIDATION',
        'Index "by_author"',
        'record "post-9"',
        `unknown column "${key}"`,
      );
    }
  });

  it('a wrongly typed value names the index, the record and the column', () => {
    const ix = passthrough();
    const cases: [unknown, string][] = [
      [{ author: 'a', time: '1' }, 'expected integer, got "1" (string)'],
      [{ author: 'a', time: 1.5 }, 'expected integer'],
      [{ author: 'a', time: 2 ** 31 }, '32-bit'],
      [{ author: 'a', time: null }, 'not nullable'],
      [{ author: 5, time: 1 }, 'expected text'],
      [{ author: 'a\u0000', time: 1 }, 'no NUL'],
    ];
    for (const [row, why] of cases) {
      const column = why.includes('text') || why.includes('NUL') ? 'author' : 'time';
      expectError(
        () => ix.rowsOf(doc([row], 'post-10')),
        ValidationError,
        'VALIDATION',
        'Index "by_author"',
        'record "post-10"',
        `column "${column}"`,
        why,
      );
    }
  });

  it('a row that is not an object names the index, the record and the row', () => {
    const ix = passthrough();
    for (const [row, got] of [
      [null, 'null'],
      [undefined, 'undefined'],
      [5, '5 (number)'],
      ['author', '"author" (string)'],
      [['a', 1], 'an array'],
    ] as const) {
      expectError(
        () => ix.rowsOf(doc([row], 'post-11')),
        ValidationError,
        'VALIDATION',
        'Index "by_author", mapper row 0 of record "post-11"',
        `expected an object of column values, got ${got}`,
      );
    }
  });

  it('a mapper that returns no iterable names the index and the record', () => {
    const ix = passthrough();
    for (const [value, got] of [
      [undefined, 'undefined'],
      [null, 'null'],
      [{ author: 'a', time: 1 }, 'an object'],
      [42, '42 (number)'],
      ['rows', '"rows" (string)'],
    ] as const) {
      expectError(
        () => ix.rowsOf(doc(value, 'post-12')),
        ValidationError,
        'VALIDATION',
        'Index "by_author"',
        'the mapper must return an array (or iterable) of rows',
        `got ${got}`,
        'record "post-12"',
      );
    }
  });

  it('an error thrown by the mapper is a ValidationError naming the index and the record, the error as cause', () => {
    const boom = new Error('boom');
    const ix = new Index('ix', {
      columns: { a: integer() },
      shard: shards,
      mapper: () => {
        throw boom;
      },
    });
    const error = expectError(
      () => ix.rowsOf(doc(null)),
      ValidationError,
      'VALIDATION',
      'Index "ix": the mapper threw on record "rec-1": boom',
    );
    expect(error.message).toBe('Index "ix": the mapper threw on record "rec-1": boom');
    expect(error.cause).toBe(boom);
    // A generator throws while it is iterated: the same error, and "stored record" for a record read back.
    const lazy = new Index('ix_lazy', {
      columns: { a: integer() },
      shard: shards,
      *mapper() {
        yield { a: 1 };
        throw 'not an Error';
      },
    });
    const lazyError = expectError(() => lazy.storedRowsOf(doc(null, 'rec-2')), ValidationError, 'VALIDATION');
    expect(lazyError.message).toBe(
      'Index "ix_lazy": the mapper threw on stored record "rec-2": not an Error',
    );
    expect(lazyError.cause).toBe('not an Error');
  });
});

describe('index definitions refused before any SQL', () => {
  const make = (options: unknown) => () => new Index('ix', options as never);

  it('refuses options that are not an object', () => {
    for (const options of [null, 'columns', 7]) {
      expectError(
        make(options),
        ValidationError,
        'VALIDATION',
        'Index "ix": options are required ({ columns, shard, mapper })',
      );
    }
  });

  it('refuses column names that differ only by case, in either order', () => {
    expectError(
      make({ columns: { Time: integer(), time: integer() }, shard: shards, mapper: () => [] }),
      ValidationError,
      'VALIDATION',
      'Index "ix": column names "Time" and "time" differ only by case, which SQLite and MySQL do not distinguish',
    );
    expectError(
      make({ columns: { author: text(), AUTHOR: text() }, shard: shards, mapper: () => [] }),
      ValidationError,
      'VALIDATION',
      'column names "author" and "AUTHOR" differ only by case',
    );
    // Names that differ by more than case are two columns.
    const ok = new Index('ix', {
      columns: { time: integer(), times: integer() },
      shard: shards,
      mapper: () => [],
    });
    expect(ok.columnNames).toEqual(['time', 'times']);
  });

  it('refuses a column type that has no normalize function', () => {
    for (const [type, shown] of [
      [{}, 'an object'],
      [null, 'null'],
      [{ kind: 'integer', normalize: 1 }, 'an object'],
    ] as const) {
      expectError(
        make({ columns: { a: type }, shard: shards, mapper: () => [] }),
        ValidationError,
        'VALIDATION',
        `Index "ix": column "a" needs a column type such as integer() or text(), got ${shown}`,
      );
    }
  });

  it('takes maxRows of 1 and refuses 0, fractions and non-numbers', () => {
    const one = new Index<{ n: number[] }>('ix', {
      columns: { n: integer() },
      shard: shards,
      mapper: (d) => d.value.n.map((n) => ({ n })),
      maxRows: 1,
    });
    expect(one.maxRows).toBe(1);
    expect(one.rowsOf(doc({ n: [5] }))).toEqual([[5]]);
    expectError(
      () => one.rowsOf(doc({ n: [5, 6] })),
      ValidationError,
      'VALIDATION',
      'Index "ix": the mapper returned more than 1 rows for record "rec-1", more than the index allows (maxRows: 1)',
    );
    for (const [maxRows, shown] of [
      [0, '0 (number)'],
      [1.5, '1.5 (number)'],
      ['2', '"2" (string)'],
    ] as const) {
      expectError(
        make({ columns: { n: integer() }, shard: shards, mapper: () => [], maxRows }),
        ValidationError,
        'VALIDATION',
        `Index "ix": maxRows must be a positive integer, got ${shown}`,
      );
    }
  });

  it("reads only a row's own properties: inherited ones are neither columns nor unknown", () => {
    const index = new Index<{ n: number }>('ix', {
      columns: { n: integer() },
      shard: shards,
      mapper: (d) => {
        const row = Object.create({ inherited: 'not a column' }) as { n: number };
        row.n = d.value.n;
        return [row];
      },
    });
    expect(index.rowsOf(doc({ n: 3 }))).toEqual([[3]]);
  });
});

describe("an index's column references (index.c)", () => {
  const index = new Index<{ a: number; b: string }>('ix', {
    columns: { a: integer(), b: text() },
    shard: shards,
    mapper: (d) => [d.value],
  });
  const refs = index.c as unknown as Record<string, unknown>;

  it('names the columns it has when asked for one it does not', () => {
    expectError(
      () => refs.nope,
      ValidationError,
      'VALIDATION',
      'Index "ix" has no column "nope" (its columns: "a", "b")',
    );
  });

  it('answers the properties tools probe (await, JSON, test matchers, loggers, React) without an error', () => {
    for (const probed of [
      'then',
      'toJSON',
      'asymmetricMatch',
      'nodeType',
      'tagName',
      'inspect',
      '$$typeof',
    ]) {
      expect(refs[probed], probed).toBeUndefined();
    }
    expect(refs['@@iterator']).toBeUndefined();
    expect(refs['@@toStringTag']).toBeUndefined();
    // A name that only ends with @@ is an ordinary unknown column.
    expectError(() => refs['column@@'], ValidationError, 'VALIDATION', 'has no column "column@@"');
    expect(JSON.stringify({ refs: index.c.a.name })).toBe('{"refs":"a"}');
  });
});
