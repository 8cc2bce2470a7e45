import { QueryError, ValidationError } from '@waffle/core';
import type { IndexRow } from '@waffle/core/adapter';
import { describe, expect, it } from 'vitest';
import {
  adminPool,
  createTables,
  enabled,
  indexContent,
  indexSpec,
  openPool,
  openShard,
  ref,
} from './helpers.js';

const MAX = 2n ** 63n - 1n;
const MIN = -(2n ** 63n);

describe.skipIf(!enabled)('bigint values', () => {
  describe.each([
    ['default number settings', {}],
    ['supportBigNumbers', { supportBigNumbers: true }],
    ['supportBigNumbers and bigNumberStrings', { supportBigNumbers: true, bigNumberStrings: true }],
  ])('pool with %s', (_label, options) => {
    it('stores, compares, orders and reads back 64-bit extremes exactly', async () => {
      const shard = openShard(openPool(options));
      const spec = indexSpec('big', [
        ['b', 'bigint'],
        ['n', 'bigint', true],
      ]);
      await createTables(shard, spec);
      const values = [MIN, MIN + 1n, -1n, 0n, 2n ** 53n, 2n ** 53n + 1n, MAX - 1n, MAX];
      const rows: IndexRow[] = values.map((b, i) => ({
        id: `r${i}`,
        values: [b, i % 2 === 0 ? null : -b - 1n],
        version: 1_700_000_000_000 + i,
      }));
      await shard.putIndexRows(spec, rows);
      const b = ref(spec, 'b');
      const query = (where: Parameters<typeof shard.queryIndex>[1]['where']) =>
        shard.queryIndex(spec, {
          where,
          orderBy: [
            { column: 'b', direction: 'asc' },
            { column: '__id', direction: 'asc' },
          ],
          limit: 100,
        });
      const all = await query(undefined);
      expect(all).toEqual(rows);
      expect(all.every((r) => typeof r.values[0] === 'bigint' && typeof r.version === 'number')).toBe(true);
      expect((await query(b.eq(MAX))).map((r) => r.id)).toEqual(['r7']);
      expect((await query(b.eq(MAX - 1n))).map((r) => r.id)).toEqual(['r6']);
      expect((await query(b.eq(2n ** 53n + 1n))).map((r) => r.id)).toEqual(['r5']);
      expect((await query(b.gt(MAX - 1n))).map((r) => r.id)).toEqual(['r7']);
      expect((await query(b.lt(MIN + 1n))).map((r) => r.id)).toEqual(['r0']);
      expect((await query(b.in([MIN, MAX, 2n ** 53n]))).map((r) => r.id)).toEqual(['r0', 'r4', 'r7']);
      expect((await query(b.between(MAX - 1n, MAX))).map((r) => r.id)).toEqual(['r6', 'r7']);
      expect((await query(ref(spec, 'n').eq(-MAX - 1n))).map((r) => r.id)).toEqual(['r7']);
      // A delete takes exactly its key: MAX - 1 must not take MAX with it.
      await shard.deleteIndexRows(spec, [{ id: 'r7', values: [MAX - 1n, -MAX], version: 2e12 }]);
      await shard.deleteIndexRows(spec, [{ id: 'r6', values: [MAX - 1n, null], version: 2e12 }]);
      expect((await query(b.gte(MAX - 1n))).map((r) => r.id)).toEqual(['r7']);
    });
  });
});

describe.skipIf(!enabled)('text and bytes keys', () => {
  it("text index values differing by trailing spaces or case are distinct: 'a', 'a ', 'A'", async () => {
    const shard = openShard();
    const spec = indexSpec('spaces', [['t', 'text']]);
    await createTables(shard, spec);
    const texts = ['a', 'a ', 'A', 'a  ', '', ' ', 'a\t'];
    await shard.putIndexRows(
      spec,
      texts.map((t) => ({ id: 'x', values: [t], version: 1 })),
    );
    const t = ref(spec, 't');
    const ids = async (where: Parameters<typeof shard.queryIndex>[1]['where']) =>
      (
        await shard.queryIndex(spec, {
          where,
          orderBy: [{ column: 't', direction: 'asc' }],
          limit: 20,
        })
      ).map((r) => JSON.stringify(r.values[0]));
    expect(await ids(undefined)).toEqual(['""', '" "', '"A"', '"a"', '"a\\t"', '"a "', '"a  "']);
    expect(await ids(t.eq('a'))).toEqual(['"a"']);
    expect(await ids(t.eq('a '))).toEqual(['"a "']);
    expect(await ids(t.gt('a'))).toEqual(['"a\\t"', '"a "', '"a  "']);
    expect(await ids(t.in(['A', ' ']))).toEqual(['" "', '"A"']);
  });

  it('refuses, before writing anything, a value longer than the key holds', async () => {
    const shard = openShard();
    const one = indexSpec('long1', [['t', 'text']]);
    const two = indexSpec('long2', [
      ['t', 'text'],
      ['y', 'bytes', true],
      ['n', 'integer'],
    ]);
    await createTables(shard, one, two);
    // One text column: 3072 key bytes less __id (255) and __version (8).
    await shard.putIndexRows(one, [{ id: 'fits', values: ['x'.repeat(2809)], version: 1 }]);
    const error = await shard
      .putIndexRows(one, [
        { id: 'ok', values: ['short'], version: 1 },
        { id: 'long', values: ['日'.repeat(937)], version: 1 }, // 2811 bytes in 937 characters
      ])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toContain(
      `Index "${one.name}" column "t": a text value of 2811 bytes (record "long") is longer than the 2809 bytes`,
    );
    expect((await indexContent(shard, one)).map((r) => r.split(':')[0])).toEqual(['fits']);
    // Two variable columns share what the integer leaves: (3072 - 263 - 4) / 2.
    await shard.putIndexRows(two, [
      { id: 'fits', values: ['t'.repeat(1402), new Uint8Array(1402), 1], version: 1 },
    ]);
    const bytes = await shard
      .putIndexRows(two, [{ id: 'long', values: ['t', new Uint8Array(1403), 1], version: 1 }])
      .catch((e: unknown) => e);
    expect(bytes).toBeInstanceOf(ValidationError);
    expect((bytes as Error).message).toContain('a bytes value of 1403 bytes');
    // Longer operands in queries are fine: they simply match nothing.
    const none = await shard.queryIndex(one, {
      where: ref(one, 't').eq('x'.repeat(5000)),
      orderBy: [{ column: '__id', direction: 'asc' }],
      limit: 5,
    });
    expect(none).toEqual([]);
  });

  it('refuses indices MySQL cannot key, before any SQL', async () => {
    const shard = openShard();
    const wide = indexSpec(
      'wide',
      Array.from({ length: 16 }, (_, i) => [`c${i}`, 'integer'] as [string, 'integer']),
    );
    const error = await shard.createTables([wide]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toContain('at most 15 index columns');
    const nullable = indexSpec('widen', [
      ...Array.from({ length: 14 }, (_, i) => [`c${i}`, 'integer'] as [string, 'integer']),
      ['z', 'text', true],
    ]);
    expect(await shard.createTables([nullable]).catch((e: unknown) => e)).toBeInstanceOf(ValidationError);
    const cased = indexSpec('cased', [
      ['name', 'text'],
      ['Name', 'text'],
    ]);
    const caseError = await shard.createTables([cased]).catch((e: unknown) => e);
    expect(caseError).toBeInstanceOf(ValidationError);
    expect((caseError as Error).message).toContain('differ only by case');
    const [tables] = await adminPool().query('SHOW TABLES LIKE ?', [`${wide.name}%`]);
    expect(tables).toEqual([]);
    // The widest accepted: 15 columns, or 14 with a nullable one.
    const fifteen = indexSpec(
      'w15',
      Array.from({ length: 15 }, (_, i) => [`c${i}`, i === 0 ? 'text' : 'bigint'] as [string, 'bigint']),
    );
    const fourteen = indexSpec(
      'w14',
      Array.from({ length: 14 }, (_, i) => [`c${i}`, 'text', i === 13] as [string, 'text', boolean]),
    );
    await createTables(shard, fifteen, fourteen);
  });
});

describe.skipIf(!enabled)('index rows', () => {
  it('values of every type round-trip exactly, extremes included (text and bytes within the key)', async () => {
    const shard = openShard();
    const spec = indexSpec('values', [
      ['i', 'integer', true],
      ['b', 'bigint', true],
      ['r', 'real', true],
      ['t', 'text', true],
      ['f', 'boolean', true],
      ['d', 'timestamp', true],
      ['y', 'bytes', true],
    ]);
    await createTables(shard, spec);
    const extremes = [
      [
        -2147483648,
        MIN,
        -1.7976931348623157e308,
        '',
        false,
        new Date(Date.parse('0001-01-01T00:00:00.000Z')),
        new Uint8Array([]),
      ],
      [
        2147483647,
        MAX,
        1.7976931348623157e308,
        '𝒳 é \uffff %_\\',
        true,
        new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999)),
        new Uint8Array([0, 255, 0]),
      ],
      // The longest text and bytes this 7-column index holds: (3072 - 263 - 29) / 2 bytes each.
      [0, 2n ** 53n + 1n, 5e-324, 'x'.repeat(1390), true, new Date(-1), new Uint8Array(1390).fill(7)],
      [null, null, null, null, null, null, null],
    ];
    const rows = extremes.map((values, n) => ({ id: `v${n}`, values, version: n + 1 }));
    await shard.putIndexRows(spec, rows);
    const got = await shard.queryIndex(spec, {
      where: undefined,
      orderBy: [{ column: '__id', direction: 'asc' }],
      limit: 10,
    });
    expect(got).toEqual(rows);
    expect(typeof got[1]!.values[1]).toBe('bigint');
    expect(got[1]!.values[6]!.constructor).toBe(Uint8Array);
  });

  it.each([false, true])('nullable columns %s: writes are idempotent and keys unique', async (nullable) => {
    const shard = openShard();
    const spec = indexSpec('idem', [
      ['k', 'text', nullable],
      ['n', 'integer', nullable],
      ['f', 'boolean'],
      ['d', 'timestamp'],
    ]);
    await createTables(shard, spec);
    const date = new Date(Date.parse('0001-01-01T00:00:00.000Z'));
    const rows: IndexRow[] = [
      { id: 'a', values: [nullable ? null : '', nullable ? null : 0, true, date], version: 2 },
      { id: 'a', values: ['x', nullable ? null : 0, false, new Date(-1)], version: 2 },
      { id: 'b', values: ['x', 1, false, new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999))], version: 5 },
    ];
    await shard.putIndexRows(spec, rows);
    await shard.putIndexRows(spec, [...rows, ...rows.map((r) => ({ ...r, version: 1 }))]);
    const [count] = await adminPool().query(`SELECT COUNT(*) AS n FROM \`${spec.name}\``);
    expect((count as { n: number }[])[0]!.n).toBe(3);
    const got = await shard.queryIndex(spec, {
      where: undefined,
      orderBy: [
        { column: 'd', direction: 'asc' },
        { column: '__id', direction: 'asc' },
      ],
      limit: 10,
    });
    expect(got).toEqual(rows);
    await shard.deleteIndexRows(spec, [{ ...rows[0]!, version: 2 }]);
    expect(await indexContent(shard, spec)).toHaveLength(3); // not older: kept
    await shard.deleteIndexRows(spec, [
      { ...rows[0]!, version: 3 },
      { ...rows[2]!, version: 3 },
    ]);
    expect((await indexContent(shard, spec)).map((r) => r.split(':')[0])).toEqual(['a', 'b']);
  });

  it.each([false, true])('nullable columns %s: batches above 65,535 parameters', async (nullable) => {
    const shard = openShard();
    const spec = indexSpec('many', [
      ['k', 'text', nullable],
      ['n', 'integer'],
    ]);
    await createTables(shard, spec);
    // 4 or 5 parameters a row: 100,000 or more in all.
    const rows: IndexRow[] = Array.from({ length: 25_000 }, (_, i) => ({
      id: `id${i}`,
      values: [i % 10 === 0 && nullable ? null : `key ${i % 977}`, i],
      version: 1,
    }));
    await shard.putIndexRows(spec, rows);
    await shard.putIndexRows(spec, rows);
    const read = () =>
      shard.queryIndex(spec, {
        where: ref(spec, 'n').gte(0),
        orderBy: [{ column: 'n', direction: 'desc' }],
        limit: 100_000,
      });
    const got = await read();
    expect(got).toHaveLength(25_000);
    expect(got[0]).toEqual(rows[24_999]);
    await shard.deleteIndexRows(
      spec,
      rows.map((r) => ({ ...r, version: 2 })),
    );
    expect(await read()).toEqual([]);
  });

  it('reports a row of the wrong width as ValidationError and a bad value as QueryError', async () => {
    const shard = openShard();
    const spec = indexSpec('width', [['n', 'integer']]);
    await createTables(shard, spec);
    const width = await shard
      .putIndexRows(spec, [{ id: 'a', values: [1, 2], version: 1 }])
      .catch((e: unknown) => e);
    expect(width).toBeInstanceOf(ValidationError);
    expect((width as Error).message).toBe(
      `Index "${spec.name}" has 1 columns, but a row for "a" has 2 values`,
    );
    const nulls = await shard
      .putIndexRows(spec, [{ id: 'a', values: [null], version: 1 }])
      .catch((e: unknown) => e);
    expect(nulls).toBeInstanceOf(QueryError);
    expect((nulls as QueryError).cause).toMatchObject({ code: 'ER_BAD_NULL_ERROR' });
  });
});

describe.skipIf(!enabled)('limits of reads', () => {
  it('refuses a row count that is not a non-negative integer, before any SQL', async () => {
    const shard = openShard();
    const spec = indexSpec('lim', [['n', 'integer']]);
    await createTables(shard, spec);
    for (const limit of [-1, 1.5, Number.NaN]) {
      const error = await shard
        .queryIndex(spec, { where: undefined, orderBy: [{ column: 'n', direction: 'asc' }], limit })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toBe(`limit must be a non-negative integer, got ${limit}`);
    }
    const scan = await shard
      .scanRecords({ kind: 'entity', name: 'never_created' }, { limit: -5 })
      .catch((e: unknown) => e);
    expect(scan).toBeInstanceOf(ValidationError);
    // A limit of 0 reads nothing.
    await shard.putIndexRows(spec, [{ id: 'a', values: [1], version: 1 }]);
    expect(await shard.queryIndex(spec, { where: undefined, orderBy: [], limit: 0 })).toEqual([]);
  });
});
