import { describe, expect, it } from 'vitest';
import {
  and,
  type Doc,
  Entity,
  Index,
  integer,
  Query,
  type Serializer,
  ShardByColumn,
  ShardByPrimaryKey,
  text,
  ValidationError,
} from '../src/index.js';
import { ColumnRef } from '../src/predicate.js';
import type { RecordRow } from '../src/types.js';
import { expectError, fakeShards, jsonSerializer, scriptedShard } from './helpers.js';

type Post = { title: string; author: string; created: number };

const shards = fakeShards(2);
const otherShards = fakeShards(3);

const byTime = new Index('blog_time', {
  columns: { time: integer() },
  shard: new ShardByPrimaryKey(shards),
  mapper: (post: Doc<Post>) => [{ time: Math.floor(post.value.created / 1000) }],
});
const byAuthor = new Index('blog_author', {
  columns: { author: text(), time: integer() },
  shard: new ShardByColumn('author', otherShards),
  mapper: (post: Doc<Post>) => [{ author: post.value.author, time: Math.floor(post.value.created / 1000) }],
});
const unrelated = new Index('unrelated', {
  columns: { time: integer() },
  shard: shards,
  mapper: (post: Doc<Post>) => [{ time: post.value.created }],
});

const posts = new Entity<Post>('blog', { shards, indices: [byTime, byAuthor], serializer: jsonSerializer });

describe('Entity construction', () => {
  it('keeps its parts', () => {
    expect(posts.name).toBe('blog');
    expect(posts.indices).toEqual([byTime, byAuthor]);
    expect(posts.serializer).toBe(jsonSerializer);
    expect(posts.strategy).toBeInstanceOf(ShardByPrimaryKey);
    expect(posts.strategy.shards).toEqual(shards);
    const custom = new ShardByPrimaryKey(shards);
    expect(new Entity('e', { shards: custom, serializer: jsonSerializer }).strategy).toBe(custom);
    expect(new Entity('e', { shards, serializer: jsonSerializer }).indices).toEqual([]);
  });

  it('new() makes an unsaved record with a uuidv7 id', () => {
    const post = posts.new({ title: 't', author: 'ann', created: 0 });
    expect(post.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(post.version).toBe(0);
    expect(post.value).toEqual({ title: 't', author: 'ann', created: 0 });
    expect(post.createdAt).toBeInstanceOf(Date);
    expect(posts.new({ title: 't', author: 'ann', created: 0 }, { id: 'my-id' }).id).toBe('my-id');
  });

  it('rejects a bad name', () => {
    for (const name of ['', 'a-b', 'a;drop', '1abc', '__blog', 'b'.repeat(49)]) {
      expectError(
        () => new Entity(name, { shards, serializer: jsonSerializer }),
        ValidationError,
        'VALIDATION',
        'Invalid entity name',
      );
    }
  });

  it('rejects missing options and bad shards', () => {
    for (const options of [undefined, null, 'sync']) {
      expectError(
        () => new Entity('e', options as never),
        ValidationError,
        'VALIDATION',
        'Entity "e": options are required',
      );
    }
    expectError(
      () => new Entity('e', { shards: {} as never, serializer: jsonSerializer }),
      ValidationError,
      'VALIDATION',
      'Entity "e": shards must be an array of shards or a ShardStrategy',
    );
    expectError(
      () => new Entity('e', { shards: [], serializer: jsonSerializer }),
      ValidationError,
      'VALIDATION',
      'ShardByPrimaryKey',
      'non-empty array of shards',
    );
    expectError(
      () => new Entity('e', { shards: [shards[0]!, shards[0]!], serializer: jsonSerializer }),
      ValidationError,
      'VALIDATION',
      'shard 1 is the same shard as shard 0',
    );
  });

  it('requires a serializer', () => {
    const bad: unknown[] = [
      undefined,
      null,
      'json',
      {},
      { codec: 'json', format: 'text', encode: JSON.stringify },
      { codec: 'json', format: 'text', decode: JSON.parse },
    ];
    for (const serializer of bad) {
      expectError(
        () => new Entity('e', { shards, serializer: serializer as Serializer }),
        ValidationError,
        'VALIDATION',
        'Entity "e": a serializer is required',
      );
    }
  });

  it('rejects two indices with one name, and an index named like the entity', () => {
    const twin = new Index('blog_time', { columns: { t: integer() }, shard: shards, mapper: () => [] });
    expectError(
      () => new Entity<Post>('blog', { shards, indices: [byTime, twin], serializer: jsonSerializer }),
      ValidationError,
      'VALIDATION',
      'Entity "blog": the name "blog_time" is used twice',
    );
    expectError(
      () => new Entity<Post>('blog', { shards, indices: [byTime, byTime], serializer: jsonSerializer }),
      ValidationError,
      'VALIDATION',
      'the name "blog_time" is used twice',
    );
    const selfNamed = new Index('blog', { columns: { t: integer() }, shard: shards, mapper: () => [] });
    expectError(
      () => new Entity('blog', { shards, indices: [selfNamed], serializer: jsonSerializer }),
      ValidationError,
      'VALIDATION',
      'Entity "blog": the name "blog" is used twice',
    );
    // The history table's name is reserved, with or without history: it may be turned on later.
    const historyNamed = new Index('blog__history', {
      columns: { t: integer() },
      shard: shards,
      mapper: () => [],
    });
    expectError(
      () => new Entity('blog', { shards, indices: [historyNamed], serializer: jsonSerializer }),
      ValidationError,
      'VALIDATION',
      'Entity "blog": the name "blog__history" is used twice',
    );
    // Names that differ only by case are one table name on SQLite.
    const cased = new Index('Blog_Time', { columns: { t: integer() }, shard: shards, mapper: () => [] });
    expectError(
      () => new Entity<Post>('blog', { shards, indices: [byTime, cased], serializer: jsonSerializer }),
      ValidationError,
      'VALIDATION',
      'Entity "blog": the names "blog_time" and "Blog_Time" differ only by case (tables share one namespace, and SQLite does not distinguish them)',
    );
  });

  it('refuses write options that are not an object, and bad counts, before anything is read', async () => {
    const posts = new Entity<Post>('blog', { shards, indices: [byTime], serializer: jsonSerializer });
    const record = posts.new({ title: 't', created: 1 } as Post);
    const notObject = await posts.save(record, null as never).catch((e) => e);
    expect(notObject).toBeInstanceOf(ValidationError);
    expect(notObject.message).toBe('blog.save(): options must be an object, got null');
    const retries = await posts.update('a', (v) => v, { retries: -1 }).catch((e) => e);
    expect(retries.message).toBe('blog.update(): retries must be a non-negative integer, got -1 (number)');
    const expected = await posts.delete('a', { expectedVersion: 1.5 }).catch((e) => e);
    expect(expected.message).toBe(
      'blog.delete(): expectedVersion must be a positive integer, got 1.5 (number)',
    );
  });

  it('refuses a record that is not one, a bad version or a frozen record, before anything is written', async () => {
    const posts = new Entity<Post>('blog', { shards, indices: [byTime], serializer: jsonSerializer });
    const notRecord = await posts.save(null as never).catch((e) => e);
    expect(notRecord).toBeInstanceOf(ValidationError);
    expect(notRecord.message).toBe('blog.save(): expected a record made by new() or get(), got null');
    const text = await posts.save('r1' as never).catch((e) => e);
    expect(text).toBeInstanceOf(ValidationError);
    expect(text.message).toMatch(/^blog\.save\(\): expected a record made by new\(\) or get\(\), got /);
    for (const [what, call] of [
      ['saveMany', () => posts.saveMany(posts.new({ title: 't', author: 'a', created: 1 }) as never)],
      ['getMany', () => posts.getMany('r1' as never)],
    ] as const) {
      const notArray = await call().catch((e) => e);
      expect(notArray).toBeInstanceOf(ValidationError);
      expect(notArray.message).toMatch(
        new RegExp(`^blog\\.${what}\\(\\): expected an array of (records|ids), got `),
      );
    }
    const record = posts.new({ title: 't', author: 'a', created: 1 }, { id: 'r1' });
    const badVersion = await posts.saveMany([{ ...record, version: -1 }]).catch((e) => e);
    expect(badVersion).toBeInstanceOf(ValidationError);
    expect(badVersion.message).toBe('blog.saveMany(): record "r1" has an invalid version -1 (number)');
    const frozen = await posts.save(Object.freeze({ ...record })).catch((e) => e);
    expect(frozen).toBeInstanceOf(ValidationError);
    expect(frozen.message).toBe(
      'blog.save(): record "r1" is frozen; a saved record is updated in place (version, times), so save a copy ({ ...record })',
    );
  });

  it('refuses a record whose index rows would change once read back through the serializer', async () => {
    type Event = { at: Date };
    const byLabel = new Index('event_label', {
      columns: { label: text() },
      shard: shards,
      mapper: (event: Doc<Event>) => [{ label: typeof event.value.at }],
    });
    const events = new Entity<Event>('event', { shards, indices: [byLabel], serializer: jsonSerializer });
    const at = new Date(Date.UTC(2026, 0, 2));
    const error = await events.save(events.new({ at }, { id: 'e1' })).catch((e) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toBe(
      'event.save(): record "e1" would not be found by index "event_label" as saved: through json, column "label" is "object" (string) in the value saved, "string" (string) in the value read back; store the value as the serializer keeps it (a number or an ISO string for a date), or use a serializer that keeps its type (superjson, msgpack)',
    );
    // A plain value is not read back (nothing to compare), and a mapper that throws is named with the record.
    const throwing = new Index('event_throw', {
      columns: { label: text() },
      shard: shards,
      mapper: (event: Doc<Event>) => [{ label: event.value.at.toISOString() }],
    });
    expectError(
      () =>
        throwing.storedRowsOf({
          id: 'e2',
          value: { at: 'not a date' as never },
          version: 1,
          createdAt: at,
          updatedAt: at,
        }),
      ValidationError,
      'VALIDATION',
      'Index "event_throw": the mapper threw on stored record "e2": event.value.at.toISOString is not a function',
    );
  });

  // Mutants: the walk that skips the read-back for values every serializer keeps looks past arrays.
  it('reads back a value with a Date inside an array: the rows differ, so it is refused', async () => {
    type Log = { items: unknown[] };
    const byItem = new Index('log_item', {
      columns: { item: text() },
      shard: shards,
      mapper: (log: Doc<Log>) =>
        log.value.items.map((item) => ({
          item: typeof ((item as { at?: unknown } | undefined)?.at ?? item),
        })),
    });
    const logs = new Entity<Log>('log', { shards, indices: [byItem], serializer: jsonSerializer });
    const nested = await logs
      .save(logs.new({ items: ['a', { at: new Date(0) }] }, { id: 'l1' }))
      .catch((e) => e);
    expect(nested).toBeInstanceOf(ValidationError);
    expect(nested.message).toBe(
      'log.save(): record "l1" would not be found by index "log_item" as saved: through json, column "item" is "object" (string) in the value saved, "string" (string) in the value read back; store the value as the serializer keeps it (a number or an ISO string for a date), or use a serializer that keeps its type (superjson, msgpack)',
    );
  });

  it('rejects indices that are not Index objects', () => {
    for (const index of [null, 'blog_time', { name: 'x' }]) {
      expectError(
        () => new Entity('e', { shards, indices: [index as never], serializer: jsonSerializer }),
        ValidationError,
        'VALIDATION',
        'Entity "e": indices must be Index objects',
      );
    }
  });
});

describe('select() planning, before any database access', () => {
  const selectError = (fn: () => unknown, ...fragments: string[]) =>
    expectError(fn, ValidationError, 'VALIDATION', 'blog.select(): ', ...fragments);

  it('plans valid queries synchronously into a Query', () => {
    expect(posts.select(byTime.c.time.gte(0))).toBeInstanceOf(Query);
    expect(posts.select(undefined, { orderBy: byAuthor.c.time.desc() })).toBeInstanceOf(Query);
    expect(
      posts.select(byAuthor.c.author.eq('ann'), {
        orderBy: [byAuthor.c.time.desc(), byAuthor.c.author.asc()],
        limit: 20,
      }),
    ).toBeInstanceOf(Query);
    expect(posts.select(and(byTime.c.time.gt(1), byTime.c.time.lt(5)), { limit: 1 })).toBeInstanceOf(Query);
  });

  it('a predicate on columns of two indices', () => {
    selectError(
      () => posts.select(and(byTime.c.time.gt(1), byAuthor.c.author.eq('ann'))),
      'a query uses the columns of one index',
      '"blog_time" and "blog_author"',
    );
    selectError(
      () => posts.select(byAuthor.c.author.eq('ann'), { orderBy: byTime.c.time.desc() }),
      '"blog_author" and "blog_time"',
    );
    selectError(
      () => posts.select(undefined, { orderBy: [byTime.c.time.asc(), byAuthor.c.time.asc()] }),
      'one index',
    );
  });

  it('an index that is not one of the entity’s', () => {
    selectError(
      () => posts.select(unrelated.c.time.eq(1)),
      'index "unrelated" is not one of this entity\'s indices',
    );
    selectError(
      () => posts.select(undefined, { orderBy: unrelated.c.time.asc() }),
      'index "unrelated" is not one of',
    );
  });

  it('a column reference the index did not make', () => {
    // Built by hand with the index as owner: not `byTime.c.time`, whatever its name.
    const alike = new ColumnRef(byTime, 'time', integer());
    selectError(
      () => posts.select(alike.gte(1)),
      `the reference to column "time" is not index "blog_time"'s own: use blog_time.c.time`,
    );
    const forged = { column: { owner: byTime, name: 'nope' }, direction: 'asc' } as never;
    expectError(
      () => posts.select(undefined, { orderBy: forged }),
      ValidationError,
      'VALIDATION',
      'Index "blog_time" has no column "nope" (its columns: "time")',
    );
    // Refused among valid references too, wherever it stands.
    selectError(
      () => posts.select(byTime.c.time.gte(1), { orderBy: [byTime.c.time.asc(), alike.desc()] }),
      'is not index "blog_time"\'s own',
    );
  });

  it('nothing to choose the index from', () => {
    selectError(() => posts.select(), 'give a predicate or an orderBy');
    selectError(() => posts.select(and()), 'give a predicate or an orderBy');
  });

  it('a first argument that is not a predicate', () => {
    selectError(
      () => posts.select('time > 1' as never),
      'the first argument must be a predicate',
      '"time > 1" (string)',
    );
    selectError(() => posts.select({ time: 1 } as never), 'the first argument must be a predicate');
    selectError(() => posts.select(byTime.c.time.asc() as never), 'the first argument must be a predicate');
  });

  it('options that are not an object', () => {
    selectError(
      () => posts.select(byTime.c.time.eq(1), null as never),
      'options must be an object, got null',
    );
    selectError(() => posts.select(byTime.c.time.eq(1), 20 as never), 'options must be an object');
  });

  it('limit 0, 1.5, -1 and other non-positive-integers', () => {
    for (const [limit, got] of [
      [0, '0 (number)'],
      [1.5, '1.5 (number)'],
      [-1, '-1 (number)'],
      [Number.NaN, 'NaN'],
      [Number.POSITIVE_INFINITY, 'Infinity'],
      ['10', '"10" (string)'],
      [2 ** 53, String(2 ** 53)],
    ] as const) {
      selectError(
        () => posts.select(byTime.c.time.gte(0), { limit: limit as never }),
        'limit must be a positive integer',
        `got ${got}`,
      );
    }
    expect(posts.select(byTime.c.time.gte(0), { limit: 1 })).toBeInstanceOf(Query);
  });

  it('orderBy garbage', () => {
    for (const orderBy of [
      'time',
      'time desc',
      5,
      null,
      {},
      [null],
      [byTime.c.time.asc(), 'x'],
      { column: byTime.c.time, direction: 'up' },
      { column: byTime.c.time },
      { direction: 'asc' },
      [byTime.c.time],
    ]) {
      selectError(
        () => posts.select(byTime.c.time.gte(0), { orderBy: orderBy as never }),
        'orderBy takes terms such as index.c.time.desc()',
      );
    }
  });

  it('a malformed after cursor', () => {
    const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
    for (const after of [
      'garbage',
      'not a cursor!',
      '!!!',
      b64('{"a":1}'),
      b64('[1,2,3]'),
      b64('["x"]'),
      b64('123'),
    ]) {
      expectError(
        () => posts.select(byTime.c.time.gte(0), { orderBy: byTime.c.time.asc(), after }),
        ValidationError,
        'VALIDATION',
        'Invalid cursor passed as "after"',
        'not a cursor made by page()',
      );
    }
    for (const after of ['', 42, {}, null]) {
      expectError(
        () => posts.select(byTime.c.time.gte(0), { after: after as never }),
        ValidationError,
        'VALIDATION',
        'Invalid cursor passed as "after"',
        'non-empty string',
      );
    }
  });

  it('count() plans the same way, synchronously', () => {
    expectError(
      () => posts.count(and(byTime.c.time.gt(1), byAuthor.c.author.eq('ann'))),
      ValidationError,
      'VALIDATION',
      'a query uses the columns of one index',
    );
  });
});

describe('cursors belong to one index and order', () => {
  /** One shard answering with two index rows, so that page() with limit 1 returns a real cursor. */
  const setup = async () => {
    const rows = [
      { id: 'p1', values: [1], version: 1 },
      { id: 'p2', values: [2], version: 1 },
    ];
    const records = new Map<string, RecordRow>(
      rows.map((r) => [
        r.id,
        {
          id: r.id,
          version: 1,
          codec: 'json',
          body: JSON.stringify({ t: r.values[0] }),
          createdAt: 0,
          updatedAt: 0,
        },
      ]),
    );
    const shard = scriptedShard(rows, records);
    const mapper = (d: Doc<{ t: number }>) => [{ time: d.value.t }];
    const ix = new Index('ix_time', { columns: { time: integer() }, shard: [shard], mapper });
    const ix2 = new Index('ix_time2', { columns: { time: integer() }, shard: [shard], mapper });
    const entity = new Entity<{ t: number }>('things', {
      shards: [shard],
      indices: [ix, ix2],
      serializer: jsonSerializer,
    });
    await entity.create();
    const page = await entity.select(ix.c.time.gte(0), { orderBy: ix.c.time.asc(), limit: 1 }).page();
    return { entity, ix, ix2, page };
  };

  it('is accepted by the same order, refused by another order or index', async () => {
    const { entity, ix, ix2, page } = await setup();
    expect(page.records.map((r) => r.id)).toEqual(['p1']);
    expect(typeof page.next).toBe('string');
    const after = page.next!;
    // Same index and order (explicit or the default one): accepted.
    expect(entity.select(ix.c.time.gte(0), { orderBy: ix.c.time.asc(), after })).toBeInstanceOf(Query);
    expect(entity.select(ix.c.time.gte(0), { after })).toBeInstanceOf(Query);
    // Another direction.
    expectError(
      () => entity.select(ix.c.time.gte(0), { orderBy: ix.c.time.desc(), after }),
      ValidationError,
      'VALIDATION',
      'Invalid cursor passed as "after"',
      'made by a query with another index or order',
    );
    // Another index with the same columns.
    expectError(
      () => entity.select(ix2.c.time.gte(0), { orderBy: ix2.c.time.asc(), after }),
      ValidationError,
      'VALIDATION',
      'another index or order',
    );
    // A cursor cut short is garbage.
    expectError(
      () => entity.select(ix.c.time.gte(0), { after: after.slice(0, after.length - 4) }),
      ValidationError,
      'VALIDATION',
      'Invalid cursor passed as "after"',
    );
  });
});
