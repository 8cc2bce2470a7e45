import type { Shard } from '@waffle/core';
import type { EntityTableSpec, RecordRow } from '@waffle/core/adapter';
import { describe, expect, it } from 'vitest';
import {
  createTables,
  enabled,
  entitySpec,
  indexSpec,
  insert,
  insertAll,
  openShard,
  record,
} from './helpers.js';

const MiB = 1024 * 1024;

/** A record's body as comparable bytes, with its kind. */
function bodyOf(r: RecordRow): [string, Buffer] {
  return typeof r.body === 'string'
    ? ['text', Buffer.from(r.body, 'utf8')]
    : ['binary', Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength)];
}

/** Checks that every record is stored exactly as given (body kind and bytes, note, numbers). */
async function expectStored(
  shard: Shard,
  spec: EntityTableSpec,
  records: readonly RecordRow[],
): Promise<void> {
  const stored = new Map(
    (
      await shard.getRecords(
        spec,
        records.map((r) => r.id),
      )
    ).map((r) => [r.id, r]),
  );
  for (const want of records) {
    const got = stored.get(want.id);
    expect(got, want.id).toBeDefined();
    const [kind, bytes] = bodyOf(got!);
    const [wantKind, wantBytes] = bodyOf(want);
    expect(kind, want.id).toBe(wantKind);
    expect(bytes.equals(wantBytes), `body of ${want.id}`).toBe(true);
    expect({ ...got!, body: null }, want.id).toEqual({ ...want, body: null, note: want.note ?? null });
  }
}

/** Every id stored in the table, in order, read behind nothing but a scan. */
async function storedIds(shard: Shard, spec: EntityTableSpec): Promise<string[]> {
  return (await shard.scanRecords(spec, { limit: 100_000 })).map((r) => r.id);
}

const id = (i: number) => `r${String(i).padStart(5, '0')}`;

describe.skipIf(!enabled)('commits of many new records: multi-row inserts', () => {
  it('inserts new records: all true, each read back exactly (text and binary bodies, notes)', async () => {
    const shard = openShard();
    const spec = entitySpec();
    await createTables(shard, spec);
    const records = [
      record('a'),
      record('b', { body: new Uint8Array([0, 1, 2, 255, 0]), codec: 'msgpack', note: 'put ix 2' }),
      record('c', { body: `é𝒳"\\'\0${'t'.repeat(5000)}`, version: 7, createdAt: 1, updatedAt: 2 ** 52 }),
      record('d', { note: `n${'ö'.repeat(3000)}` }),
      record('e', { body: Uint8Array.from({ length: 3000 }, (_, i) => i % 256), note: null }),
      ...Array.from({ length: 20 }, (_, i) =>
        record(`f${i}`, { version: i + 1, note: i % 3 ? null : `n${i}` }),
      ),
    ];
    expect(await insertAll(shard, spec, records)).toEqual(records.map(() => true));
    await expectStored(shard, spec, records);
    expect((await shard.scanRecords(spec, { limit: 100, notes: true })).map((r) => r.id)).toEqual(
      records
        .filter((r) => r.note != null)
        .map((r) => r.id)
        .sort(),
    );
    // A single record goes in too.
    expect(await insertAll(shard, spec, [record('g')])).toEqual([true]);
    expect(await insertAll(shard, spec, [record('g')])).toEqual([false]);
    expect((await storedIds(shard, spec)).length).toBe(records.length + 1);
  });

  it('returns false exactly for ids that exist, leaves their rows as they were, and inserts the others', async () => {
    const shard = openShard();
    const spec = entitySpec();
    await createTables(shard, spec);
    const existing = [3, 17, 39].map((i) =>
      record(id(i), { body: `old ${i}`, version: 5, note: 'keep', createdAt: 10, updatedAt: 20 }),
    );
    for (const r of existing) expect(await insert(shard, spec, r)).toBe(true);
    // 40 records: statements of 32 and 8 rows, each meeting an existing id.
    const records = Array.from({ length: 40 }, (_, i) =>
      record(id(i), i % 2 ? { body: new Uint8Array([i]) } : { body: `new ${i}`, note: `n${i}` }),
    );
    const result = await insertAll(shard, spec, records);
    expect(result).toEqual(records.map((_, i) => ![3, 17, 39].includes(i)));
    await expectStored(shard, spec, existing);
    await expectStored(
      shard,
      spec,
      records.filter((_, i) => result[i]),
    );
    expect(await storedIds(shard, spec)).toEqual(records.map((r) => r.id));
    // All of them exist now.
    expect(await insertAll(shard, spec, records)).toEqual(records.map(() => false));
    await expectStored(shard, spec, existing);
  });

  it('more records than one statement holds (over 65,535 parameters): all inserted, results in order', async () => {
    const shard = openShard();
    const spec = entitySpec();
    await createTables(shard, spec);
    const taken = new Set([0, 4095, 7280, 7281, 9998]);
    for (const i of taken) await insert(shard, spec, record(id(i), { body: 'taken', version: 9 }));
    const records = Array.from({ length: 10_000 }, (_, i) =>
      record(id(i), { body: i % 5 ? `{"n":${i}}` : new Uint8Array([i & 255, i >> 8]), version: i + 1 }),
    );
    const result = await insertAll(shard, spec, records);
    expect(result).toEqual(records.map((_, i) => !taken.has(i)));
    await expectStored(
      shard,
      spec,
      records.filter((_, i) => !taken.has(i)),
    );
    await expectStored(
      shard,
      spec,
      [...taken].map((i) => record(id(i), { body: 'taken', version: 9 })),
    );
    expect((await storedIds(shard, spec)).length).toBe(10_000);
  });

  it('bodies beyond the packet limit together (1 MiB each, 40 MiB): split into statements that fit, all inserted', async () => {
    const shard = openShard();
    const spec = entitySpec();
    await createTables(shard, spec);
    const records = Array.from({ length: 40 }, (_, i) =>
      record(id(i), {
        body: i % 2 ? `${String.fromCharCode(97 + (i % 26)).repeat(MiB - 1)}é` : new Uint8Array(MiB).fill(i),
        note: i % 3 ? null : `note ${i}`,
      }),
    );
    await insert(shard, spec, record(id(25), { body: 'first' }));
    const result = await insertAll(shard, spec, records);
    expect(result).toEqual(records.map((_, i) => i !== 25));
    await expectStored(
      shard,
      spec,
      records.filter((_, i) => i !== 25),
    );
    await expectStored(shard, spec, [record(id(25), { body: 'first' })]);
  });

  it('a statement meeting an existing id: the commit goes on, with the index rows of the records inserted only', async () => {
    const shard = openShard();
    const spec = entitySpec();
    const index = indexSpec('ix', [['n', 'integer']]);
    await createTables(shard, spec, index);
    expect(await insert(shard, spec, record(id(50), { body: 'before' }))).toBe(true);
    const records = Array.from({ length: 64 }, (_, i) => record(id(i), { note: `n${i}` }));
    const result = await shard.commit({
      table: spec,
      writes: records.map((row) => ({ row, expected: 0 })),
      put: [{ table: index, rows: records.map((r, n) => ({ id: r.id, values: [n], version: 1 })) }],
    });
    expect(result).toEqual(records.map((_, i) => i !== 50));
    await expectStored(shard, spec, [
      ...records.filter((_, i) => i !== 50),
      record(id(50), { body: 'before' }),
    ]);
    const rows = await shard.queryIndex(index, {
      where: undefined,
      orderBy: [{ column: 'n', direction: 'asc' }],
      limit: 100,
    });
    expect(rows.map((r) => r.values[0])).toEqual(records.map((_, n) => n).filter((n) => n !== 50));
  });

  it('an empty body and an empty binary body', async () => {
    const shard = openShard();
    const spec = entitySpec();
    await createTables(shard, spec);
    const records = [
      record('text', { body: '' }),
      record('binary', { body: new Uint8Array(0) }),
      record('text-note', { body: '', note: '' }),
      record('binary-view', { body: new Uint8Array([9, 9, 9]).subarray(1, 1) }),
    ];
    expect(await insertAll(shard, spec, records)).toEqual([true, true, true, true]);
    await expectStored(shard, spec, records);
    const [text] = await shard.getRecords(spec, ['text']);
    const [binary] = await shard.getRecords(spec, ['binary']);
    expect(text?.body).toBe('');
    expect(binary?.body).toBeInstanceOf(Uint8Array);
    expect((binary!.body as Uint8Array).byteLength).toBe(0);
  });
});
