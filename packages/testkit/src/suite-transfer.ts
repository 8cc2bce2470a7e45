import {
  ConflictError,
  type Doc,
  Entity,
  ImportError,
  type ImportReport,
  SerializationError,
  type Serializer,
  type Shard,
  ValidationError,
} from '@waffle/core';
import { describe, expect, it } from 'vitest';
import { rejection } from './contract-fixtures.js';
import { storedRowsOf } from './convergence.js';
import { blog, blogFixtures, lineOf, type Post, post } from './fixtures.js';
import type { ConformanceOptions } from './options.js';
import { bruteForce } from './oracle.js';
import { wrapShard } from './wrap.js';

type Blog = ReturnType<typeof blog>;

/** Every line of an export. */
async function linesOf(lines: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

/** A record as compared between entities: every field, the value as stored. */
const plain = (r: Doc<Post>) => ({
  id: r.id,
  version: r.version,
  createdAt: r.createdAt.getTime(),
  updatedAt: r.updatedAt.getTime(),
  value: r.value,
});

/** Every record of the entity, by id. */
async function recordsOf(posts: Entity<Post>): Promise<ReturnType<typeof plain>[]> {
  const out: ReturnType<typeof plain>[] = [];
  for await (const r of posts.scan({ batchSize: 7 })) out.push(plain(r));
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Checks that the blog's indices are exactly what its mappers produce, each
 * row tagged with its record's version (`fresh`: every record written once,
 * as by an import into an empty entity) or an older one (a write leaves the
 * rows it does not change as they are), and that queries answer as brute
 * force over the records does.
 */
async function expectExactIndices({ posts, byGroup, byTag }: Blog, fresh: boolean): Promise<void> {
  expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
  const records: Doc<Post>[] = [];
  for await (const r of posts.scan()) records.push(r);
  for (const r of records) {
    for (const index of [byGroup, byTag]) {
      const rows = await storedRowsOf(index, r.id);
      expect(rows.length, `${index.name} rows of ${r.id}`).toBe(index.rowsOf(r).length);
      for (const row of rows) {
        if (fresh) expect(row.version, `${index.name} row of ${r.id}`).toBe(r.version);
        else expect(row.version, `${index.name} row of ${r.id}`).toBeLessThanOrEqual(r.version);
      }
    }
  }
  const where = [byGroup.c.group.gte(0), byTag.c.tag.in(['a', 'b', 'c'])];
  for (const [index, predicate] of [
    [byGroup, where[0]],
    [byTag, where[1]],
  ] as const) {
    expect((await posts.select(predicate)).map((r) => r.id)).toEqual(
      bruteForce(records, index, predicate, []),
    );
  }
}

/** Export to NDJSON lines and import from them, between entities on the adapter's shards. */
export function transferSuite(options: ConformanceOptions): void {
  const { open, blogOn } = blogFixtures(options);
  const scale = options.scale ?? 1;

  /** Another blog entity (tables of its own) over the same shards as `from`. */
  const beside = (from: { shards: Shard[]; tagShards: Shard[] }, extra: Parameters<typeof blog>[4] = {}) =>
    blog(options, from.shards, from.tagShards, undefined, extra);

  /** A blog with `count` records: some updated (versions above 1), with tags on the tag index. */
  const seeded = async (count: number) => {
    const source = await blogOn(2);
    await source.posts.create();
    const saved = await source.posts.saveMany(
      Array.from({ length: count }, (_, i) =>
        source.posts.new(
          post({
            title: `p${i}`,
            group: i % 4,
            score: i % 3 === 0 ? null : i / 2,
            tags: ['a', 'b', 'c'].slice(0, i % 4),
            rank: i,
          }),
        ),
      ),
    );
    for (const r of saved.filter((_, i) => i % 5 === 0)) {
      r.value = { ...r.value, title: `${r.value.title} again`, tags: ['c'] };
      await source.posts.save(r);
      await source.posts.save(r);
    }
    return { ...source, saved };
  };

  describe('export and import', () => {
    it('export → import into a fresh entity: the same records (ids, values, versions, times), exact indices', async () => {
      const source = await seeded(Math.max(12, Math.round(30 * scale)));
      const gone = source.saved[1]!;
      await source.posts.delete(gone.id);
      const progress: number[] = [];
      const lines = await linesOf(
        source.posts.export({ batchSize: 4, onProgress: (p) => progress.push(p.records) }),
      );
      const live = source.saved.length - 1;
      expect(lines.length).toBe(live);
      expect(progress[progress.length - 1]).toBe(live);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
      expect(lines.some((line) => line.includes(gone.id))).toBe(false);
      const first = JSON.parse(lines[0]!);
      expect(Object.keys(first)).toEqual(['id', 'version', 'createdAt', 'updatedAt', 'value']);
      expect(first.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(lines.every((line) => !line.includes('\n'))).toBe(true);

      const target = beside(source);
      await target.posts.create();
      const report = await target.posts.import(lines, { batchSize: 5 });
      expect(report).toEqual({ lines: live, imported: live, skipped: 0, replaced: 0 });
      const expected = await recordsOf(source.posts);
      expect(expected.some((r) => r.version > 1)).toBe(true);
      expect(await recordsOf(target.posts)).toEqual(expected);
      await expectExactIndices(target, true);
      for (const [a, b] of [
        [source.byGroup.c.group.eq(1), target.byGroup.c.group.eq(1)],
        [source.byTag.c.tag.eq('c'), target.byTag.c.tag.eq('c')],
      ] as const) {
        expect((await target.posts.select(b)).map(plain)).toEqual((await source.posts.select(a)).map(plain));
      }
      // Exported again, the copy gives the same lines.
      expect(await linesOf(target.posts.export())).toEqual(lines);
    });

    // Mutants: the date check refuses extended years or zone offsets, which toISOString and ISO 8601 write.
    it('takes the dates ISO 8601 writes with a zone (offsets, extended years, no seconds, any fraction); refuses those without a zone or in other forms', async () => {
      const { posts } = await blogOn(1);
      await posts.create();
      const taken = [
        '2026-01-31T13:30:00+01:30',
        '2026-01-31T10:00:00.5-02:00',
        '+012026-01-31T12:00:00.000Z',
        '-000001-01-01T00:00:00.000Z',
        '2026-01-31T12:00Z',
        '2026-01-31T12:00:00.123456Z',
      ];
      const report = await posts.import(taken.map((at, i) => lineOf(`d${i}`, 1, post(), at)));
      expect(report.imported).toBe(taken.length);
      const docs = await posts.getMany(taken.map((_, i) => `d${i}`));
      expect(docs.map((d) => d?.createdAt.getTime())).toEqual(taken.map((at) => Date.parse(at)));
      expect(docs.map((d) => d?.updatedAt.getTime())).toEqual(taken.map((at) => Date.parse(at)));
      // Forms Date.parse takes too, but not ISO 8601 with a zone: local times, other spellings.
      for (const at of [
        '2026-01-31T12:00:00',
        '2026-01-31 12:00:00Z',
        'Sat, 31 Jan 2026 12:00:00 GMT',
        '2026-01-31',
      ]) {
        const error = await rejection(posts.import([lineOf('bad', 1, post(), at)]));
        expect(error).toBeInstanceOf(ImportError);
        expect(error.message).toBe(
          `line 1: record "bad": "createdAt" must be a date in ISO 8601 form (e.g. "2026-01-31T12:00:00.000Z"), got ${JSON.stringify(at)} (string)`,
        );
      }
      expect(await posts.get('bad')).toBeUndefined();
    });

    it('imports over a deleted id after its deletion: a version never goes backwards', async () => {
      const { posts, byGroup } = await blogOn(1);
      await posts.create();
      const old = await posts.save(posts.new(post({ group: 1 }), { id: 'x' }));
      old.value = post({ group: 2 });
      await posts.save(old);
      await posts.delete('x'); // a tombstone at version 3
      const report = await posts.import([
        lineOf('x', 1, post({ group: 7 })),
        lineOf('y', 9, post({ group: 7 })),
      ]);
      expect(report).toEqual({ lines: 2, imported: 2, skipped: 0, replaced: 0 });
      expect((await posts.get('x'))?.version).toBe(4);
      expect((await posts.get('y'))?.version).toBe(9);
      expect((await posts.select(byGroup.c.group.eq(7))).map((r) => r.id)).toEqual(['x', 'y']);
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    });

    it('onConflict: fail (the default) stops at a stored id, with the line and the ConflictError; skip and replace', async () => {
      const { posts, byGroup, byTag } = await blogOn(2);
      await posts.create();
      const low = await posts.save(posts.new(post({ group: 1, tags: ['a'] }), { id: 'low' }));
      const high = await posts.save(posts.new(post({ group: 1, tags: ['a'] }), { id: 'high' }));
      for (let i = 0; i < 5; i++) await posts.save(high); // version 6
      const lines = [
        lineOf('n1', 2, post({ group: 2, tags: ['b'] })),
        lineOf('low', 4, post({ group: 3, tags: ['c'] })),
        lineOf('n2', 1, post({ group: 2 })),
        lineOf('high', 3, post({ group: 3, tags: ['c'] })),
      ];

      const failed = await rejection(posts.import(lines));
      expect(failed).toBeInstanceOf(ImportError);
      expect(ImportError.is(failed)).toBe(true);
      expect((failed as ImportError).line).toBe(2);
      expect(failed.message).toBe(
        'line 2: record "low" exists (version 1); onConflict is "fail" (pass "skip" or "replace" to import over stored records)',
      );
      expect(failed.cause).toBeInstanceOf(ConflictError);
      expect((failed.cause as ConflictError).currentVersion).toBe(1);
      expect((await posts.get('n1'))?.version).toBe(2); // the line before it
      expect(await posts.get('n2')).toBeUndefined(); // the lines after it are not written
      expect((await posts.get('low'))?.value.group).toBe(1);

      const skipped = await posts.import(lines, { onConflict: 'skip', batchSize: 2 });
      expect(skipped).toEqual({ lines: 4, imported: 1, skipped: 3, replaced: 0 });
      expect((await posts.get('low'))?.version).toBe(1);
      expect((await posts.get('high'))?.value.group).toBe(1);
      expect((await posts.get('n2'))?.version).toBe(1);

      const replaced = await posts.import(lines.slice(1), { onConflict: 'replace' });
      expect(replaced).toEqual({ lines: 3, imported: 0, skipped: 0, replaced: 3 });
      // The line's version when it is higher than the stored one, else the stored version + 1.
      expect(await posts.get('low')).toMatchObject({ version: 4, value: { group: 3 } });
      expect(await posts.get('high')).toMatchObject({ version: 7, value: { group: 3 } });
      expect((await posts.get('n2'))?.version).toBe(2);
      expect((await posts.get('low'))?.createdAt).toEqual(new Date('2026-01-31T12:00:00.000Z'));
      expect((await posts.select(byGroup.c.group.eq(1))).map((r) => r.id)).toEqual([]);
      expect((await posts.select(byTag.c.tag.eq('a'))).map((r) => r.id)).toEqual([]);
      expect((await posts.select(byTag.c.tag.eq('c'))).map((r) => r.id).sort()).toEqual(['high', 'low']);
      await expectExactIndices({ posts, byGroup, byTag } as Blog, false);
      // A version read before the import is stale after it: compare-and-set stays sound.
      low.value = post({ group: 9 });
      expect(await rejection(posts.save(low))).toBeInstanceOf(ConflictError);
    });

    it('a repeated id: under fail the second line is refused, under replace it goes over the first', async () => {
      const { posts } = await blogOn(1);
      await posts.create();
      const lines = [lineOf('d', 5, post({ title: 'one' })), lineOf('d', 2, post({ title: 'two' }))];
      const failed = await rejection(posts.import(lines));
      expect((failed as ImportError).line).toBe(2);
      expect(await posts.get('d')).toMatchObject({ version: 5, value: { title: 'one' } });
      const again = await posts.import(lines, { onConflict: 'replace' });
      expect(again).toEqual({ lines: 2, imported: 0, skipped: 0, replaced: 2 });
      expect(await posts.get('d')).toMatchObject({ version: 7, value: { title: 'two' } });
    });

    it.each([
      ['{"id":', /^line 3: not valid JSON \(.+\)$/, SyntaxError],
      ['[1,2]', 'line 3: expected a record {"id","version","createdAt","updatedAt","value"}, got an array'],
      [
        '"text"',
        'line 3: expected a record {"id","version","createdAt","updatedAt","value"}, got "text" (string)',
      ],
      [
        JSON.stringify({ id: 'z', version: 1, createdAt: 'x', updatedAt: 'x', value: {}, extra: 1 }),
        'line 3: unknown field "extra": a record line is {"id","version","createdAt","updatedAt","value"}',
      ],
      [
        JSON.stringify({ id: 'z', createdAt: 'x', updatedAt: 'x', value: {} }),
        'line 3: "version" is missing: a record line is {"id","version","createdAt","updatedAt","value"}',
      ],
      [
        JSON.stringify({ id: '', version: 1, createdAt: 'x', updatedAt: 'x', value: {} }),
        'line 3: Invalid record id "" (string): an id must be a non-empty string',
        ValidationError,
      ],
      [
        JSON.stringify({ id: 'z', version: 0, createdAt: 'x', updatedAt: 'x', value: {} }),
        'line 3: record "z": "version" must be a positive integer, got 0 (number)',
      ],
      [
        JSON.stringify({ id: 'z', version: '2', createdAt: 'x', updatedAt: 'x', value: {} }),
        'line 3: record "z": "version" must be a positive integer, got "2" (string)',
      ],
      [
        JSON.stringify({ id: 'z', version: 1, createdAt: 5, updatedAt: 'x', value: {} }),
        'line 3: record "z": "createdAt" must be a date in ISO 8601 form (e.g. "2026-01-31T12:00:00.000Z"), got 5 (number)',
      ],
      [
        JSON.stringify({
          id: 'z',
          version: 1,
          createdAt: '2026-01-31T12:00:00Z',
          updatedAt: '2026-02-31',
          value: {},
        }),
        'line 3: record "z": "updatedAt" must be a date in ISO 8601 form (e.g. "2026-01-31T12:00:00.000Z"), got "2026-02-31" (string)',
      ],
      [
        lineOf('z', 1, { ...post(), group: 'one' as never }),
        /^line 3: Index "by_group_\w+", mapper row 0 of record "z", column "group": expected integer/,
        ValidationError,
      ],
    ] as const)(
      'an invalid line → ImportError with its number, the lines before it imported: %s',
      async (bad, message, cause?: unknown) => {
        const { posts } = await blogOn(1);
        await posts.create();
        const lines = [lineOf('a', 1, post()), '', bad, lineOf('b', 1, post())];
        const error = await rejection(posts.import(lines, { batchSize: 10 }));
        expect(error).toBeInstanceOf(ImportError);
        expect((error as ImportError).code).toBe('IMPORT');
        expect((error as ImportError).line).toBe(3);
        if (typeof message === 'string') expect(error.message).toBe(message);
        else expect(error.message).toMatch(message);
        if (cause) expect(error.cause).toBeInstanceOf(cause);
        expect((await posts.get('a'))?.version).toBe(1);
        expect(await posts.get('b')).toBeUndefined();
      },
    );

    it('a line that is not a string is an ImportError; a body larger than the entity allows too', async () => {
      const { posts, shards } = await blogOn(1);
      await posts.create();
      const error = await rejection(posts.import([lineOf('a', 1, post()), 42 as never]));
      expect(error.message).toBe('line 2: expected a line of text (a string), got 42 (number)');
      expect((await posts.get('a'))?.version).toBe(1);
      const small = new Entity<Post>(posts.name, {
        shards,
        serializer: options.serializer,
        maxBodyBytes: 200,
      });
      const big = await rejection(small.import([lineOf('big', 1, post({ title: 'x'.repeat(300) }))]));
      expect((big as ImportError).line).toBe(1);
      expect(big.message).toMatch(
        /^line 1: Record "big" of post_\w+ is \d+ bytes once encoded, more than the 200 bytes this entity allows \(maxBodyBytes\)$/,
      );
      expect(big.cause).toBeInstanceOf(ValidationError);
    });

    it('a serializer whose JSON form fails: export stops with a SerializationError naming the record, import with an ImportError naming the line', async () => {
      const { posts, shards } = await blogOn(1);
      await posts.create();
      const base = options.serializer;
      const failing: Serializer = {
        ...base,
        toJSON: (value: unknown) => {
          if ((value as Post).title === 'bad out') throw new Error('no JSON form for this one');
          return base.toJSON ? base.toJSON(value) : value;
        },
        fromJSON: (form: unknown) => {
          if ((form as Post).title === 'bad in') throw new Error('cannot read this one back');
          return base.fromJSON ? base.fromJSON(form) : form;
        },
      };
      const viaFailing = new Entity<Post>(posts.name, { shards, serializer: failing });
      await posts.save(posts.new(post({ title: 'bad out' }), { id: 'out' }));
      const exported = await rejection(linesOf(viaFailing.export()));
      expect(exported).toBeInstanceOf(SerializationError);
      expect(exported.message).toBe(
        `${posts.name}.export(): record "out" cannot be written in the JSON form of ${base.codec}: no JSON form for this one`,
      );
      expect((exported.cause as Error).message).toBe('no JSON form for this one');
      const imported = await rejection(
        viaFailing.import([
          lineOf('in-1', 1, post({ title: 'fine' })),
          lineOf('in-2', 1, post({ title: 'bad in' })),
        ]),
      );
      expect(imported).toBeInstanceOf(ImportError);
      expect((imported as ImportError).line).toBe(2);
      expect(imported.message).toBe(
        `line 2: record "in-2": the value is not in the JSON form of ${base.codec}: cannot read this one back`,
      );
      expect((imported.cause as Error).message).toBe('cannot read this one back');
      expect(await posts.get('in-2')).toBeUndefined();
    });

    it('takes lines with or without their newline, CRLF too, and skips blank lines, which count', async () => {
      const { posts } = await blogOn(1);
      await posts.create();
      const lines = [
        `${lineOf('a', 1, post())}\n`,
        '\n',
        `${lineOf('b', 2, post())}\r\n`,
        '   ',
        lineOf('c', 3, post()),
        '\r\n',
      ];
      expect(await posts.import(lines)).toEqual({ lines: 6, imported: 3, skipped: 0, replaced: 0 });
      expect((await posts.getMany(['a', 'b', 'c'])).map((r) => r?.version)).toEqual([1, 2, 3]);
      const error = await rejection(posts.import(['', '', '{', lineOf('d', 1, post())]));
      expect((error as ImportError).line).toBe(3);
    });

    it('imports batch by batch from an async iterable, calling onProgress after each batch', async () => {
      const { posts, byGroup } = await blogOn(2);
      await posts.create();
      const count = 23;
      async function* source() {
        for (let i = 0; i < count; i++)
          yield lineOf(`r${String(i).padStart(2, '0')}`, 1, post({ group: i % 2 }));
      }
      const progress: ImportReport[] = [];
      const report = await posts.import(source(), { batchSize: 5, onProgress: (p) => progress.push(p) });
      expect(report).toEqual({ lines: count, imported: count, skipped: 0, replaced: 0 });
      expect(progress.map((p) => p.imported)).toEqual([5, 10, 15, 20, 23]);
      expect(progress.map((p) => p.lines)).toEqual([5, 10, 15, 20, 23]);
      expect(await posts.count(byGroup.c.group.eq(1))).toBe(11);
    });

    it('a signal stops export and import between batches; what was written stays', async () => {
      const { posts } = await blogOn(1);
      await posts.create();
      const aborted = new AbortController();
      aborted.abort(new Error('stop'));
      expect((await rejection(linesOf(posts.export({ signal: aborted.signal })))).message).toBe('stop');

      const controller = new AbortController();
      async function* source() {
        for (let i = 0; i < 10; i++) {
          if (i === 7) controller.abort(new Error('enough'));
          yield lineOf(`s${i}`, 1, post());
        }
      }
      const stopped = await rejection(posts.import(source(), { batchSize: 3, signal: controller.signal }));
      expect(stopped.message).toBe('enough');
      const ids = (await recordsOf(posts)).map((r) => r.id);
      expect(ids).toEqual(['s0', 's1', 's2', 's3', 's4', 's5']); // two batches; the third was being collected

      const exported: string[] = [];
      const halt = new AbortController();
      const halted = await rejection(
        (async () => {
          for await (const line of posts.export({ batchSize: 2, signal: halt.signal })) {
            exported.push(line);
            halt.abort(new Error('halt'));
          }
        })(),
      );
      expect(halted.message).toBe('halt');
      expect(exported.length).toBe(2); // the first batch, then it stopped
    });

    it('with history, each imported record adds its version to the history', async () => {
      const shards = await open(1);
      const { posts } = blog(options, shards, shards, undefined, { history: true });
      await posts.create();
      await posts.import([lineOf('h', 4, post({ title: 'kept' }))]);
      const versions = await posts.history('h');
      expect(versions.map((v) => [v.version, v.value?.title])).toEqual([[4, 'kept']]);
      await posts.import([lineOf('h', 2, post({ title: 'again' }))], { onConflict: 'replace' });
      expect((await posts.history('h')).map((v) => [v.version, v.value?.title])).toEqual([
        [4, 'kept'],
        [5, 'again'],
      ]);
    });

    it('refuses bad options and input with a ValidationError, before reading', async () => {
      const { posts, shards } = await blogOn(1);
      await posts.create();
      const name = posts.name;
      const cases: [() => unknown, string][] = [
        [
          () => posts.export({ batchSize: 0 }),
          `${name}.export(): batchSize must be a positive integer, got 0 (number)`,
        ],
        [
          () => posts.export({ onProgress: 1 as never }),
          `${name}.export(): onProgress must be a function, got 1 (number)`,
        ],
        [
          () => posts.export({ signal: 'x' as never }),
          `${name}.export(): signal must be an AbortSignal, got "x" (string)`,
        ],
        [() => posts.export(null as never), `${name}.export(): options must be an object, got null`],
      ];
      for (const [call, message] of cases) {
        let error: unknown;
        try {
          call();
        } catch (e) {
          error = e;
        }
        expect(error, message).toBeInstanceOf(ValidationError);
        expect((error as Error).message).toBe(message);
      }
      const imports: [Promise<unknown>, string][] = [
        [
          posts.import([], { batchSize: 1.5 }),
          `${name}.import(): batchSize must be a positive integer, got 1.5 (number)`,
        ],
        [
          posts.import([], { onConflict: 'overwrite' as never }),
          `${name}.import(): onConflict must be "skip", "replace" or "fail", got "overwrite" (string)`,
        ],
        [
          posts.import([], { onProgress: {} as never }),
          `${name}.import(): onProgress must be a function, got an object`,
        ],
        [
          posts.import([], { signal: {} as never }),
          `${name}.import(): signal must be an AbortSignal, got an object`,
        ],
        [
          posts.import('{"id":"a"}' as never),
          `${name}.import(): expected an iterable or async iterable of lines (strings), got "{\\"id\\":\\"a\\"}" (string)`,
        ],
        [posts.import([], null as never), `${name}.import(): options must be an object, got null`],
      ];
      for (const [call, message] of imports) {
        const error = await rejection(call);
        expect(error, message).toBeInstanceOf(ValidationError);
        expect(error.message).toBe(message);
      }
      const bare: Serializer = {
        codec: options.serializer.codec,
        format: options.serializer.format,
        encode: (v) => options.serializer.encode(v),
        decode: (b) => options.serializer.decode(b),
      };
      const without = new Entity<Post>(name, { shards, serializer: bare });
      expect(() => without.export()).toThrow(
        new ValidationError(
          `${name}.export(): serializer "${bare.codec}" has no toJSON(), which export and import need (every waffle serializer has toJSON and fromJSON)`,
        ),
      );
      const refused = await rejection(without.import([]));
      expect(refused).toBeInstanceOf(ValidationError);
      expect(refused.message).toBe(
        `${name}.import(): serializer "${bare.codec}" has no fromJSON(), which export and import need (every waffle serializer has toJSON and fromJSON)`,
      );
    });

    it('holds one batch at a time both ways: 20,000 records imported from a generator and exported', async () => {
      const count = Math.max(2_000, Math.round(20_000 * scale));
      const batchSize = 500;
      let read = 0; // records the shards handed to export
      const shards = (await open(2)).map((shard) =>
        wrapShard(shard, (operation, run) =>
          operation === 'scanRecords'
            ? async (...args) => {
                const rows = (await run(...args)) as unknown[];
                read += rows.length;
                return rows;
              }
            : run,
        ),
      );
      const { posts, byGroup } = blog(options, shards, shards);
      await posts.create();
      let pulled = 0;
      let written = 0;
      let most = 0;
      function* source() {
        for (let i = 0; i < count; i++) {
          // Lines pulled and not yet written: the batch being collected.
          most = Math.max(most, pulled - written);
          pulled++;
          yield lineOf(`m${String(i).padStart(6, '0')}`, 1 + (i % 3), post({ group: i % 10 }));
        }
      }
      const report = await posts.import(source(), { batchSize, onProgress: (p) => (written = p.imported) });
      expect(report.imported).toBe(count);
      expect(most).toBeLessThanOrEqual(batchSize);
      expect(most).toBeGreaterThan(batchSize / 2);

      let taken = 0;
      let ahead = 0;
      read = 0;
      for await (const line of posts.export({ batchSize })) {
        taken++;
        ahead = Math.max(ahead, read - taken);
        if (taken === 1) expect(JSON.parse(line).version).toBeGreaterThanOrEqual(1);
      }
      expect(taken).toBe(count);
      expect(ahead).toBeLessThan(batchSize);
      expect(await posts.count(byGroup.c.group.eq(3))).toBe(count / 10);
    }, 180_000);
  });
}
