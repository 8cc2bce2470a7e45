import {
  type Doc,
  Entity,
  Index,
  integer,
  type Shard,
  text,
  ValidationError,
  WaffleError,
} from '@waffle/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rejection } from './contract-fixtures.js';
import { shardPool } from './fixtures.js';
import { type ConformanceOptions, uniqueName } from './options.js';
import { equalButNegativeZero } from './serializer-values.js';
import { recordRow } from './shard-helpers.js';
import { thrown } from './thrown.js';
import { wrapShard } from './wrap.js';

/** The document of this suite: any value under `v`, a text `s` the index reads, and tags for the row cap. */
interface Hostile {
  v?: unknown;
  s?: string;
  n?: number;
  tags?: string[];
}

/**
 * Strings made to break SQL built by splicing, drivers' placeholder
 * rewriting, LIKE patterns, text encodings and comparisons. Each one is
 * stored as a record value and an object key, and (where text columns take
 * it) as an index value.
 */
export const HOSTILE_STRINGS: readonly string[] = [
  "'",
  '"',
  '`',
  '\\',
  ';',
  '--',
  '/*',
  '*/',
  "''",
  "\\'",
  "'; DROP TABLE users; --",
  '"; DROP TABLE users; --',
  '`; DROP TABLE users; --',
  "') OR ('1'='1",
  "' OR 1=1 --",
  "1' UNION SELECT NULL --",
  '/* comment */ select 1',
  '?',
  '??',
  '$1',
  '$$',
  '$tag$ x $tag$',
  ':name',
  '@p1',
  '%',
  '_',
  '%_\\%',
  '\\x00',
  "E'\\\\'",
  '\r\n',
  '\t\v\f\b',
  ' leading and trailing ',
  '',
  '\u202Eevil\u202C', // right-to-left override
  '\u200F\u200E', // RTL and LTR marks
  '\u200B\u200D\uFEFF', // zero-width characters and a BOM
  'ｓｅｌｅｃｔ', // fullwidth look-alike
  'Ѕеlесt', // Cyrillic look-alike
  'ǆ ǅ Ǆ', // title case digraphs
  'İıß', // case mapping that changes length
  'e\u0301 \u00e9', // decomposed and composed é
  '😀👩‍👩‍👧',
  '\u{10FFFF}',
  '\uFFFD',
  'a'.repeat(300),
];

/** Strings a text column refuses on every dialect (PostgreSQL text holds no NUL; UTF-8 no lone surrogate). */
export const UNINDEXABLE_STRINGS: readonly string[] = [
  '\u0000',
  'a\u0000b',
  '\uD800',
  'x\uDC00',
  '\uDFFF\uD800',
];

/** True when `s` has a control character, which ids may not hold. */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** A value nested `depth` deep, without recursion. */
function nested(depth: number, kind: 'array' | 'object'): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = kind === 'array' ? [value] : { a: value };
  return value;
}

/** Fails unless `error` is a WaffleError of one of `codes`, whose message names `id`, and no RangeError escaped. */
function expectTyped(error: unknown, codes: readonly string[], id: string, what: string): void {
  expect(WaffleError.is(error), `${what}: ${String(error)}`).toBe(true);
  expect(codes, `${what}: ${String(error)}`).toContain((error as WaffleError).code);
  expect((error as Error).message, what).toContain(id);
}

/**
 * Hostile input on real databases: values that carry every kind of quote,
 * placeholder and comment marker, fast-check JSON values, look-alike
 * Unicode and very long strings travel as bound parameters and come back
 * exactly (records and index columns); NUL and lone surrogates in text
 * columns, documents nested 100,000 deep, ids over the length limit and
 * mappers over their row cap are typed errors, never a stack overflow nor
 * a partial write.
 */
export function hostileSuite(options: ConformanceOptions): void {
  const open = shardPool(options);
  const scale = options.scale ?? 1;
  const indexValueBytes = options.capabilities?.indexValueBytes ?? 4096;

  /** An entity with an index on `s` (text) and `n` (integer), over `shards`. */
  const entityOn = (shards: Shard[], extra: { maxRows?: number } = {}) => {
    const byS = new Index(uniqueName('hs_s'), {
      columns: { s: text(), n: integer() },
      shard: shards,
      mapper: (d: Doc<Hostile>) => (d.value.s === undefined ? [] : [{ s: d.value.s, n: d.value.n ?? 0 }]),
    });
    const byTag = new Index(uniqueName('hs_tag'), {
      columns: { tag: text() },
      shard: shards,
      mapper: (d: Doc<Hostile>) => (d.value.tags ?? []).map((tag) => ({ tag })),
      ...extra,
    });
    const entity = new Entity<Hostile>(uniqueName('hs'), {
      shards,
      indices: [byS, byTag],
      serializer: options.serializer,
    });
    return { entity, byS, byTag };
  };

  describe('hostile input', () => {
    it('fast-check JSON values (any Unicode, lone surrogates included) round-trip exactly through save, get, getMany and select', async () => {
      const shards = await open(2);
      const { entity, byS } = entityOn(shards);
      await entity.create();
      const values = fc.sample(fc.jsonValue({ stringUnit: 'binary', maxDepth: 6 }), {
        numRuns: Math.max(20, Math.round(200 * scale)),
        seed: 13_05,
      });
      const docs = values.map((v, i) => entity.new({ v, s: `json-${i}`, n: i }, { id: `json-${i}` }));
      // Half one by one, half in one batch.
      const half = Math.floor(docs.length / 2);
      for (const doc of docs.slice(0, half)) await entity.save(doc);
      await entity.saveMany(docs.slice(half));
      const got = await entity.getMany(docs.map((d) => d.id));
      got.forEach((record, i) => {
        expect(record?.id).toBe(docs[i]!.id);
        equalButNegativeZero(record?.value.v, values[i]);
      });
      for (const i of [0, half, docs.length - 1]) {
        equalButNegativeZero((await entity.get(docs[i]!.id))?.value.v, values[i]);
      }
      const found = await entity.select(byS.c.s.startsWith('json-'), { orderBy: byS.c.n.asc() });
      expect(found.map((r) => r.id)).toEqual(docs.map((d) => d.id));
      for (const [i, record] of found.entries()) equalButNegativeZero(record.value.v, values[i]);
    });

    it('hostile strings round-trip as values, object keys, ids and index values; each is found by eq and startsWith', async () => {
      const shards = await open(2);
      const { entity, byS } = entityOn(shards);
      await entity.create();
      const long = 'q'.repeat(100_000);
      const indexable = (s: string) => new TextEncoder().encode(s).length <= indexValueBytes;
      const docs = HOSTILE_STRINGS.map((s, i) =>
        entity.new(
          {
            v: { value: s, [s === '' ? 'empty' : s]: s, list: [s, long, s], long },
            ...(indexable(s) ? { s, n: i } : {}),
          },
          // Ids hold them too, where an id may (no control characters, at most 255 bytes).
          { id: hasControl(s) || s === '' || s.length > 200 ? `id-${i}` : `${i}:${s}` },
        ),
      );
      await entity.saveMany(docs.slice(0, 20));
      for (const doc of docs.slice(20)) await entity.save(doc);
      const expected = (i: number) => docs[i]!.value;
      const got = await entity.getMany(docs.map((d) => d.id));
      for (const [i, record] of got.entries()) expect(record?.value, HOSTILE_STRINGS[i]).toEqual(expected(i));
      for (const [i, s] of HOSTILE_STRINGS.entries()) {
        const record = await entity.get(docs[i]!.id);
        expect(record?.value, JSON.stringify(s)).toEqual(expected(i));
        if (!indexable(s)) continue;
        // Exactly the record of this string: no quote, wildcard or look-alike matches another.
        const hits = await entity.select(byS.c.s.eq(s));
        expect(
          hits.map((r) => r.id),
          JSON.stringify(s),
        ).toEqual([docs[i]!.id]);
        const prefixed = await entity.select(byS.c.s.startsWith(s));
        const wanted = HOSTILE_STRINGS.flatMap((t, j) =>
          indexable(t) && t.startsWith(s) ? [docs[j]!.id] : [],
        );
        expect(prefixed.map((r) => r.id).sort(), `startsWith ${JSON.stringify(s)}`).toEqual(wanted.sort());
      }
      // Every one in the index's order, each value read back as it went in.
      const all = await entity.select(byS.c.n.gte(0), { orderBy: byS.c.n.asc() });
      expect(all.map((r) => r.value.s)).toEqual(HOSTILE_STRINGS.filter(indexable));
      // Deleted by their ids, hostile ones included.
      for (const doc of docs) await entity.delete(doc.id);
      expect((await entity.getMany(docs.map((d) => d.id))).every((r) => r === undefined)).toBe(true);
    });

    it('NUL and lone surrogates in a text column are a ValidationError before anything is written; in a record value they round-trip', async () => {
      const shards = await open(1);
      const calls: string[] = [];
      const watched = shards.map((shard) =>
        wrapShard(shard, (operation, run) => async (...args) => {
          calls.push(operation);
          return run(...args);
        }),
      );
      const { entity, byS } = entityOn(watched);
      await entity.create();
      for (const [i, s] of UNINDEXABLE_STRINGS.entries()) {
        const record = entity.new({ s, n: i }, { id: `bad-${i}` });
        calls.length = 0;
        const error = await rejection(entity.save(record));
        expect(ValidationError.is(error), `${JSON.stringify(s)}: ${String(error)}`).toBe(true);
        expect((error as Error).message).toContain(byS.name);
        expect((error as Error).message).toContain(`bad-${i}`);
        expect((error as Error).message).toContain('no NUL character or lone surrogate');
        expect(calls, JSON.stringify(s)).not.toContain('commit');
        expect(calls, JSON.stringify(s)).not.toContain('putIndexRows');
        expect(await entity.get(`bad-${i}`)).toBeUndefined();
        // Not indexed, the same string is an ordinary value.
        const kept = await entity.save(entity.new({ v: { s, [s]: [s] } }, { id: `ok-${i}` }));
        expect((await entity.get(kept.id))?.value).toEqual({ v: { s, [s]: [s] } });
      }
      // A query for them is refused too, rather than sent.
      const query = await rejection(Promise.resolve().then(() => entity.select(byS.c.s.eq('a\u0000b'))));
      expect(ValidationError.is(query), String(query)).toBe(true);
    });

    it('a document nested 100,000 deep is a typed error naming the record, never a stack overflow; nothing is stored', async () => {
      const shards = await open(1);
      const { entity } = entityOn(shards);
      await entity.create();
      for (const kind of ['array', 'object'] as const) {
        const id = `deep-${kind}`;
        const deep = entity.new({ v: nested(100_000, kind), s: 'deep', tags: ['t'] }, { id });
        const saved = await rejection(entity.save(deep));
        expect(saved).not.toBeInstanceOf(RangeError);
        expectTyped(saved, ['SERIALIZATION', 'VALIDATION'], id, `save of a deep ${kind}`);
        const many = await rejection(entity.saveMany([entity.new({ s: 'fine' }, { id: `${id}-ok` }), deep]));
        expectTyped(many, ['SERIALIZATION', 'VALIDATION'], id, `saveMany with a deep ${kind}`);
        expect(await entity.getMany([id, `${id}-ok`])).toEqual([undefined, undefined]);
        // update() of a stored record into a deep one fails the same way, leaving the record as it was.
        await entity.save(entity.new({ s: 'shallow' }, { id }));
        const updated = await rejection(entity.update(id, () => ({ v: nested(100_000, kind) })));
        expectTyped(updated, ['SERIALIZATION', 'VALIDATION'], id, `update into a deep ${kind}`);
        expect((await entity.get(id))?.value).toEqual({ s: 'shallow' });
      }
    });

    it('a stored JSON body nested 100,000 deep is read back or refused with a typed error, never a stack overflow', async () => {
      if (options.serializer.codec !== 'json') return; // the body is written in JSON's form
      const shards = await open(1);
      const { entity } = entityOn(shards);
      await entity.create();
      const depth = 100_000;
      const body = `{"v":${'['.repeat(depth)}1${']'.repeat(depth)},"s":"deep"}`;
      const [shard] = shards as [Shard];
      expect(
        await shard.commit({
          table: { kind: 'entity', name: entity.name },
          writes: [{ row: recordRow('stored-deep', { body }), expected: 0 }],
        }),
      ).toEqual([true]);
      let outcome: unknown;
      try {
        outcome = await entity.get('stored-deep');
      } catch (error) {
        outcome = error;
      }
      if (outcome instanceof Error) {
        expect(outcome).not.toBeInstanceOf(RangeError);
        expectTyped(outcome, ['SERIALIZATION'], 'stored-deep', 'get of a deep stored body');
      } else {
        let v = (outcome as Doc<Hostile>).value.v;
        let levels = 0;
        while (Array.isArray(v)) {
          v = v[0];
          levels++;
        }
        expect(levels).toBe(depth);
      }
    });

    it('ids over 255 bytes of UTF-8 are a ValidationError naming the limit; ids of exactly 255 bytes work end to end', async () => {
      const shards = await open(2);
      const { entity, byS } = entityOn(shards);
      await entity.create();
      const tooLong = [
        'a'.repeat(256),
        'é'.repeat(128),
        '😀'.repeat(64),
        `${'a'.repeat(254)}é`,
        'x'.repeat(100_000),
      ];
      for (const id of tooLong) {
        const what = `id of ${id.length} characters`;
        const errors = [
          thrown(() => entity.new({ s: 'x' }, { id })),
          await rejection(Promise.resolve().then(() => entity.get(id))),
          await rejection(Promise.resolve().then(() => entity.getMany(['ok', id]))),
          await rejection(Promise.resolve().then(() => entity.delete(id))),
          await rejection(Promise.resolve().then(() => entity.save({ ...entity.new({ s: 'x' }), id }))),
        ];
        for (const error of errors) {
          expect(ValidationError.is(error), `${what}: ${String(error)}`).toBe(true);
          expect((error as Error).message, what).toContain('255 bytes');
          expect((error as Error).message.length, what).toBeLessThan(300);
        }
      }
      const longest = [
        'a'.repeat(255),
        `${'é'.repeat(127)}a`,
        `${'😀'.repeat(63)}abc`,
        `${"'".repeat(127)}${'"'.repeat(128)}`,
      ];
      for (const [i, id] of longest.entries()) {
        expect(new TextEncoder().encode(id).length).toBe(255);
        await entity.save(entity.new({ s: `longest-${i}`, n: i }, { id }));
      }
      expect((await entity.getMany(longest)).map((r) => r?.id)).toEqual(longest);
      const hits = await entity.select(byS.c.s.startsWith('longest-'), { orderBy: byS.c.n.asc() });
      expect(hits.map((r) => r.id)).toEqual(longest);
      const page = await entity
        .select(byS.c.s.startsWith('longest-'), { orderBy: byS.c.n.asc(), limit: 2 })
        .page();
      const rest = await entity.select(byS.c.s.startsWith('longest-'), {
        orderBy: byS.c.n.asc(),
        limit: 10,
        after: page.next,
      });
      expect([...page.records, ...rest].map((r) => r.id)).toEqual(longest);
      for (const id of longest) expect(await entity.delete(id)).toBeTruthy();
      expect(await entity.getMany(longest)).toEqual(longest.map(() => undefined));
    });

    it('a mapper returning more rows than maxRows is a ValidationError naming the index, the record and the cap on save, saveMany, update and backfill', async () => {
      const shards = await open(2);
      const cap = 5;
      const tags = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);
      const { entity, byTag } = entityOn(shards, { maxRows: cap });
      await entity.create();
      const message = (id: string, what = 'record') =>
        `Index "${byTag.name}": the mapper returned more than ${cap} rows for ${what} "${id}", more than the index allows (maxRows: ${cap})`;
      const expectCap = (error: unknown, id: string, what?: string) => {
        expect(ValidationError.is(error), String(error)).toBe(true);
        expect((error as Error).message).toBe(message(id, what));
      };
      // At the cap: stored and found.
      await entity.save(entity.new({ tags: tags(cap) }, { id: 'at-cap' }));
      expect((await entity.select(byTag.c.tag.eq(`t${cap - 1}`))).map((r) => r.id)).toEqual(['at-cap']);
      // Over it: refused on every write path, nothing stored.
      expectCap(await rejection(entity.save(entity.new({ tags: tags(cap + 1) }, { id: 'over' }))), 'over');
      expectCap(
        await rejection(
          entity.saveMany([
            entity.new({ tags: ['fine'] }, { id: 'many-ok' }),
            entity.new({ tags: tags(cap * 100) }, { id: 'many-over' }),
          ]),
        ),
        'many-over',
      );
      expect(await entity.getMany(['over', 'many-ok', 'many-over'])).toEqual([
        undefined,
        undefined,
        undefined,
      ]);
      expectCap(await rejection(entity.update('at-cap', (v) => ({ ...v, tags: tags(cap + 1) }))), 'at-cap');
      expect((await entity.get('at-cap'))?.value.tags).toEqual(tags(cap));
      expect((await entity.select(byTag.c.tag.eq('t0'))).map((r) => r.id)).toEqual(['at-cap']);

      // Backfill of an index added later meets a stored record over the cap.
      const plain = new Entity<Hostile>(entity.name, {
        shards,
        indices: [],
        serializer: options.serializer,
      });
      await plain.save(plain.new({ tags: tags(cap + 2) }, { id: 'stored-over' }));
      const later = new Index(uniqueName('hs_later'), {
        columns: { tag: text() },
        shard: shards,
        mapper: (d: Doc<Hostile>) => (d.value.tags ?? []).map((tag) => ({ tag })),
        maxRows: cap,
      });
      const grown = new Entity<Hostile>(entity.name, {
        shards,
        indices: [later],
        serializer: options.serializer,
      });
      await grown.create();
      const backfill = await rejection(grown.backfill(later));
      expect(ValidationError.is(backfill), String(backfill)).toBe(true);
      expect((backfill as Error).message).toBe(
        `Index "${later.name}": the mapper returned more than ${cap} rows for stored record "stored-over", more than the index allows (maxRows: ${cap})`,
      );
    });

    it('the default cap is 1000 rows, and an endless mapper is refused rather than read forever', async () => {
      const shards = await open(1);
      const endless = new Index(uniqueName('hs_endless'), {
        columns: { n: integer() },
        shard: shards,
        mapper: function* () {
          for (let n = 0; ; n++) yield { n };
        },
      });
      const thousand = new Index(uniqueName('hs_thousand'), {
        columns: { n: integer() },
        shard: shards,
        mapper: (d: Doc<Hostile>) => Array.from({ length: d.value.n ?? 0 }, (_, n) => ({ n })),
      });
      expect(endless.maxRows).toBe(1000);
      const entity = new Entity<Hostile>(uniqueName('hs_caps'), {
        shards,
        indices: [thousand],
        serializer: options.serializer,
      });
      await entity.create();
      await entity.save(entity.new({ n: 1000 }, { id: 'thousand' }));
      expect((await entity.select(thousand.c.n.eq(999))).map((r) => r.id)).toEqual(['thousand']);
      const over = await rejection(entity.save(entity.new({ n: 1001 }, { id: 'more' })));
      expect((over as Error).message).toContain('maxRows: 1000');
      const withEndless = new Entity<Hostile>(uniqueName('hs_endless_e'), {
        shards,
        indices: [endless],
        serializer: options.serializer,
      });
      await withEndless.create();
      const error = await rejection(withEndless.save(withEndless.new({}, { id: 'forever' })));
      expect(ValidationError.is(error), String(error)).toBe(true);
      expect((error as Error).message).toContain('maxRows: 1000');
      for (const bad of [0, -1, 1.5, Number.NaN, '10']) {
        const refused = thrown(
          () =>
            new Index('capped', {
              columns: { n: integer() },
              shard: shards,
              mapper: () => [],
              maxRows: bad as number,
            }),
        );
        expect(ValidationError.is(refused), String(bad)).toBe(true);
        expect(refused.message).toContain('maxRows must be a positive integer');
      }
    });
  });
}
