import { describe, expect, it } from 'vitest';
import { backends, openShard, posts, record } from './helpers.js';

describe.each(backends)('entity records (%s)', (backend) => {
  it('inserts once and reads back text bodies', async () => {
    const shard = openShard(backend);
    await shard.createTables([posts]);
    const r = record('a', {
      body: '{"title":"héllo 😀"}',
      version: 1,
      createdAt: 1_700_000_000_123,
      updatedAt: 1_700_000_000_456,
    });
    expect(await shard.insertRecord(posts, r)).toBe(true);
    expect(await shard.insertRecord(posts, record('a', { body: 'other' }))).toBe(false);
    expect(await shard.getRecords(posts, ['a'])).toEqual([{ ...r, note: null }]);
  });

  it('stores binary bodies in bin and returns plain Uint8Arrays', async () => {
    const shard = openShard(backend);
    await shard.createTables([posts]);
    const bytes = new Uint8Array([0, 1, 2, 254, 255]);
    await shard.insertRecord(posts, record('bin', { codec: 'msgpack', body: bytes }));
    await shard.insertRecord(posts, record('empty-bin', { codec: 'msgpack', body: new Uint8Array(0) }));
    await shard.insertRecord(posts, record('empty-text', { body: '' }));
    const got = new Map(
      (await shard.getRecords(posts, ['bin', 'empty-bin', 'empty-text'])).map((r) => [r.id, r]),
    );
    const bin = got.get('bin')!.body;
    expect(bin).toBeInstanceOf(Uint8Array);
    expect(Object.getPrototypeOf(bin)).toBe(Uint8Array.prototype);
    expect([...(bin as Uint8Array)]).toEqual([0, 1, 2, 254, 255]);
    expect(got.get('bin')!.codec).toBe('msgpack');
    const empty = got.get('empty-bin')!.body;
    expect(empty).toBeInstanceOf(Uint8Array);
    expect((empty as Uint8Array).length).toBe(0);
    expect(got.get('empty-text')!.body).toBe('');
  });

  it('switches a record between text and binary bodies on update', async () => {
    const shard = openShard(backend);
    await shard.createTables([posts]);
    await shard.insertRecord(posts, record('x', { body: 'text' }));
    expect(
      await shard.updateRecord(
        posts,
        record('x', { version: 2, codec: 'bin', body: new Uint8Array([7]) }),
        1,
      ),
    ).toBe(true);
    expect((await shard.getRecords(posts, ['x']))[0]!.body).toEqual(new Uint8Array([7]));
    expect(await shard.updateRecord(posts, record('x', { version: 3, body: 'back' }), 2)).toBe(true);
    expect((await shard.getRecords(posts, ['x']))[0]!.body).toBe('back');
  });

  it('updates only at the expected version', async () => {
    const shard = openShard(backend);
    await shard.createTables([posts]);
    await shard.insertRecord(posts, record('a'));
    const v2 = record('a', { version: 2, body: 'v2', updatedAt: 3000 });
    expect(await shard.updateRecord(posts, v2, 2)).toBe(false);
    expect(await shard.updateRecord(posts, v2, 1)).toBe(true);
    expect(await shard.updateRecord(posts, record('a', { version: 3 }), 1)).toBe(false);
    expect(await shard.updateRecord(posts, record('missing', { version: 2 }), 1)).toBe(false);
    expect(await shard.getRecords(posts, ['a'])).toEqual([{ ...v2, note: null }]);
  });

  it('deletes unconditionally or at the expected version', async () => {
    const shard = openShard(backend);
    await shard.createTables([posts]);
    await shard.insertRecord(posts, record('a', { version: 3 }));
    await shard.insertRecord(posts, record('b'));
    expect(await shard.deleteRecord(posts, 'a', 2)).toBe(false);
    expect(await shard.deleteRecord(posts, 'a', 3)).toBe(true);
    expect(await shard.deleteRecord(posts, 'a', 3)).toBe(false);
    expect(await shard.deleteRecord(posts, 'b')).toBe(true);
    expect(await shard.deleteRecord(posts, 'b')).toBe(false);
    expect(await shard.getRecords(posts, ['a', 'b'])).toEqual([]);
  });

  it('gets many ids: missing ones absent, duplicates once, empty list empty', async () => {
    const shard = openShard(backend);
    await shard.createTables([posts]);
    await shard.insertRecord(posts, record('a'));
    await shard.insertRecord(posts, record('b'));
    const got = await shard.getRecords(posts, ['b', 'nope', 'a', 'b']);
    expect(got.map((r) => r.id).sort()).toEqual(['a', 'b']);
    expect(await shard.getRecords(posts, [])).toEqual([]);
  });

  it('gets 40,000 ids, more than one statement can bind', async () => {
    const shard = openShard(backend);
    await shard.createTables([posts]);
    await shard.transaction(async (tx) => {
      for (let i = 0; i < 40_000; i += 7) await tx.insertRecord(posts, record(`id${i}`));
    });
    const ids = Array.from({ length: 40_000 }, (_, i) => `id${i}`);
    const got = await shard.getRecords(posts, ids);
    expect(got.length).toBe(Math.ceil(40_000 / 7));
    expect(new Set(got.map((r) => r.id))).toEqual(new Set(ids.filter((_, i) => i % 7 === 0)));
  });

  it('scans in code point order of ids, resuming after a given id', async () => {
    const shard = openShard(backend);
    await shard.createTables([posts]);
    // Code point order: 'B' < 'a' < 'é' < U+FFFD < U+1F600 (JavaScript's UTF-16 `<` would put the emoji before U+FFFD).
    const ids = ['😀', 'a', '\uFFFD', 'B', 'é', 'ab'];
    for (const id of ids) await shard.insertRecord(posts, record(id));
    const order = ['B', 'a', 'ab', 'é', '\uFFFD', '😀'];
    expect((await shard.scanRecords(posts, undefined, 100)).map((r) => r.id)).toEqual(order);
    expect((await shard.scanRecords(posts, undefined, 2)).map((r) => r.id)).toEqual(['B', 'a']);
    expect((await shard.scanRecords(posts, 'a', 2)).map((r) => r.id)).toEqual(['ab', 'é']);
    expect((await shard.scanRecords(posts, '\uFFFD', 10)).map((r) => r.id)).toEqual(['😀']);
    expect(await shard.scanRecords(posts, '😀', 10)).toEqual([]);
  });

  it('keeps times and versions exact', async () => {
    const shard = openShard(backend);
    await shard.createTables([posts]);
    const r = record('t', {
      version: 2 ** 31 + 5,
      createdAt: Date.UTC(9999, 11, 31),
      updatedAt: Date.UTC(1, 0, 1),
    });
    await shard.insertRecord(posts, r);
    expect(await shard.getRecords(posts, ['t'])).toEqual([{ ...r, note: null }]);
  });
});
