import { type Doc, Entity, Index, text, ValidationError } from '@waffle/core';
import { json } from '@waffle/serializer-json';
import { uniqueName } from '@waffle/testkit';
import { describe, expect, it } from 'vitest';
import {
  createTables,
  dropLater,
  enabled,
  entitySpec,
  insert,
  openPool,
  openShard,
  record,
  update,
} from './helpers.js';

const MiB = 1024 * 1024;

type Note = { title: string; body: string };

/** An entity of notes indexed by title, on one shard; its tables are dropped after the test. */
function notes(shard = openShard()) {
  const byTitle = new Index(uniqueName('note_title'), {
    columns: { title: text() },
    shard: [shard],
    mapper: (note: Doc<Note>) => [{ title: note.value.title }],
  });
  const entity = new Entity<Note>(uniqueName('note'), {
    shards: [shard],
    indices: [byTitle],
    serializer: json(),
  });
  dropLater(entity.name, byTitle.name);
  return { shard, entity, byTitle };
}

describe.skipIf(!enabled)('max_allowed_packet', () => {
  it('a document larger than the packet limit is refused before anything is written', async () => {
    const { shard, entity, byTitle } = notes();
    await entity.create();
    const max = shard.limits.maxBodyBytes!;
    expect(max).toBeGreaterThan(0);
    const stored = await entity.save(entity.new({ title: 'small', body: 'x' }));

    stored.value = { title: 'huge', body: 'y'.repeat(17 * MiB) };
    const error = await entity.save(stored).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toContain(`more than the ${max} bytes shard ${shard.name} accepts`);
    expect(stored.version).toBe(1);
    const reread = await entity.get(stored.id);
    expect(reread?.value).toEqual({ title: 'small', body: 'x' });
    expect(reread?.version).toBe(1);
    expect((await entity.select(byTitle.c.title.eq('huge'))).map((r) => r.id)).toEqual([]);
    expect((await entity.select(byTitle.c.title.eq('small'))).map((r) => r.id)).toEqual([stored.id]);

    const fresh = entity.new({ title: 'huge', body: 'z'.repeat(17 * MiB) });
    expect(await entity.save(fresh).catch((e: unknown) => e)).toBeInstanceOf(ValidationError);
    expect(await entity.get(fresh.id)).toBeUndefined();
    expect(await entity.select(byTitle.c.title.eq('huge'))).toEqual([]);
  });

  it('the adapter itself refuses a statement over the limit, and stays usable', async () => {
    const shard = openShard();
    const spec = entitySpec();
    await createTables(shard, spec);
    const max = shard.limits.maxBodyBytes!;
    const error = await insert(shard, spec, record('big', { body: 'b'.repeat(17 * MiB) })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/larger than the \d+ bytes max_allowed_packet of shard/);
    const binary = await insert(shard, spec, record('big', { body: new Uint8Array(17 * MiB) })).catch(
      (e: unknown) => e,
    );
    expect(binary).toBeInstanceOf(ValidationError);
    expect(await shard.getRecords(spec, ['big'])).toEqual([]);

    // A body of exactly maxBodyBytes is written and read back.
    const largest = record('largest', { body: 'l'.repeat(max) });
    expect(await insert(shard, spec, largest)).toBe(true);
    const [got] = await shard.getRecords(spec, ['largest']);
    expect((got!.body as string).length).toBe(max);
    expect(got?.body === largest.body).toBe(true);
  });
});

describe.skipIf(!enabled)('records', () => {
  it('round-trips 1 MiB bodies, text and binary, exactly', async () => {
    const shard = openShard();
    const spec = entitySpec();
    await createTables(shard, spec);
    const textBody = `${'é𝒳\u0000"\\'.repeat(MiB / 8)}`;
    const binaryBody = new Uint8Array(MiB).map((_, i) => (i * 7919) % 256);
    await insert(shard, spec, record('t', { body: textBody }));
    await insert(shard, spec, record('b', { body: binaryBody, codec: 'bin' }));
    await insert(shard, spec, record('e', { body: new Uint8Array(0), codec: 'bin' }));
    const got = new Map((await shard.getRecords(spec, ['t', 'b', 'e'])).map((r) => [r.id, r]));
    expect(got.get('t')?.body === textBody).toBe(true);
    const bytes = got.get('b')?.body as Uint8Array;
    expect(bytes.constructor).toBe(Uint8Array);
    expect(Buffer.from(bytes).equals(Buffer.from(binaryBody))).toBe(true);
    expect(got.get('e')?.body).toEqual(new Uint8Array(0));
    await update(shard, spec, record('t', { version: 2, body: binaryBody, codec: 'bin' }), 1);
    const [switched] = await shard.getRecords(spec, ['t']);
    expect(Buffer.from(switched!.body as Uint8Array).equals(Buffer.from(binaryBody))).toBe(true);
  });

  it("ids differing by trailing spaces or case are distinct: 'a', 'a ', 'A'", async () => {
    const { shard, entity, byTitle } = notes();
    await entity.create();
    const ids = ['a', 'a ', 'A', 'a  ', 'á'];
    for (const id of ids) await entity.save(entity.new({ title: id, body: `body of ${id}` }, { id }));
    expect((await entity.getMany(ids)).map((r) => r?.value.title)).toEqual(ids);
    const scanned: string[] = [];
    for await (const r of entity.scan({ batchSize: 2 })) scanned.push(r.id);
    expect(scanned).toEqual(['A', 'a', 'a ', 'a  ', 'á']);
    expect((await entity.select(byTitle.c.title.eq('a'))).map((r) => r.id)).toEqual(['a']);
    expect((await entity.select(byTitle.c.title.eq('a '))).map((r) => r.id)).toEqual(['a ']);
    expect((await entity.select(byTitle.c.title.eq('A'))).map((r) => r.id)).toEqual(['A']);
    expect((await entity.select(byTitle.c.title.startsWith('a '))).map((r) => r.id)).toEqual(['a ', 'a  ']);
    expect(await entity.delete('a ')).toBe(true);
    expect((await entity.getMany(ids)).map((r) => r?.id)).toEqual(['a', undefined, 'A', 'a  ', 'á']);
    // The deletion left a tombstone (empty codec and body) under 'a ' alone.
    const stored = await shard.getRecords(entity.table, ['a ', 'a', 'A']);
    expect(stored.map((r) => `${JSON.stringify(r.id)}:${r.codec}:${r.body}`).sort()).toEqual([
      '"A":json:{"title":"A","body":"body of A"}',
      '"a "::',
      '"a":json:{"title":"a","body":"body of a"}',
    ]);
  });

  it('20 concurrent saves through an Entity all land, on a pool of 3 connections', async () => {
    const shard = openShard(openPool({ connectionLimit: 3 }));
    const { entity, byTitle } = notes(shard);
    await entity.create();
    const docs = Array.from({ length: 20 }, (_, i) => entity.new({ title: 'same', body: `n${i}` }));
    await Promise.all(docs.map((d) => entity.save(d)));
    expect(docs.every((d) => d.version === 1)).toBe(true);
    const found = await entity.select(byTitle.c.title.eq('same'));
    expect(found.map((r) => r.id).sort()).toEqual(docs.map((d) => d.id).sort());
    await Promise.all(
      docs.map((d) => {
        d.value.title = 'changed';
        return entity.save(d);
      }),
    );
    expect(await entity.count(byTitle.c.title.eq('changed'))).toBe(20);
    expect(await entity.count(byTitle.c.title.eq('same'))).toBe(0);
  });

  it('getRecords splits 70,000 ids over several statements', async () => {
    const shard = openShard();
    const spec = entitySpec();
    await createTables(shard, spec);
    const pool = openPool();
    const ids = Array.from({ length: 70_000 }, (_, i) => `id-${String(i).padStart(6, '0')}`);
    for (let i = 0; i < ids.length; i += 5000) {
      const chunk = ids.slice(i, i + 5000);
      await pool.execute(
        `INSERT INTO \`${spec.name}\` (id, body, bin, codec, version, created_at, updated_at) VALUES ${chunk
          .map(() => "(?, '{}', NULL, 'json', 1, 1, 1)")
          .join(', ')}`,
        chunk,
      );
    }
    const asked = [...ids, 'missing-1', 'missing-2', ids[0]!];
    const got = await shard.getRecords(spec, asked);
    expect(got).toHaveLength(70_000);
    expect(new Set(got.map((r) => r.id))).toEqual(new Set(ids));
    expect(got.every((r) => r.version === 1 && r.body === '{}')).toBe(true);
  });

  it('keeps few statement shapes: batches are padded to a handful of sizes', async () => {
    const pool = openPool({ connectionLimit: 1 });
    const shard = openShard(pool);
    const spec = entitySpec();
    await createTables(shard, spec);
    const prepares = async () => {
      const [rows] = await pool.query("SHOW SESSION STATUS LIKE 'Com_stmt_prepare'");
      return Number((rows as { Value: string }[])[0]!.Value);
    };
    await shard.getRecords(spec, ['warm']);
    const before = await prepares();
    for (let n = 1; n <= 200; n++) {
      await shard.getRecords(
        spec,
        Array.from({ length: n }, (_, i) => `k${i}`),
      );
    }
    // Sizes 1…8 exactly, then 16, 32, 64, 128 and 256: 12 statements, not 200.
    expect((await prepares()) - before).toBeLessThanOrEqual(12);
  });
});

describe.skipIf(!enabled)('compare-and-set', () => {
  describe.each([
    ['mysql2 defaults (CLIENT_FOUND_ROWS)', {}],
    ['without CLIENT_FOUND_ROWS', { flags: ['-FOUND_ROWS'] }],
  ])('%s', (_label, poolOptions) => {
    it('updateRecord is right when the new row equals the stored one', async () => {
      const pool = openPool(poolOptions);
      const shard = openShard(pool);
      const spec = entitySpec();
      await createTables(shard, spec);
      const r = record('a');
      expect(await insert(shard, spec, r)).toBe(true);
      expect(await insert(shard, spec, record('a', { body: 'other' }))).toBe(false);
      // The pitfall itself: without CLIENT_FOUND_ROWS an UPDATE that changes nothing reports 0 rows.
      const [raw] = await pool.execute(`UPDATE \`${spec.name}\` SET version = 1 WHERE id = ?`, ['a']);
      expect((raw as { affectedRows: number }).affectedRows).toBe('flags' in poolOptions ? 0 : 1);

      expect(await update(shard, spec, r, 1)).toBe(true); // same row, same version
      expect(await update(shard, spec, r, 2)).toBe(false);
      expect(await update(shard, spec, record('b'), 1)).toBe(false);
      const r2 = record('a', { version: 2, body: 'two', updatedAt: 3000 });
      expect(await update(shard, spec, r2, 1)).toBe(true);
      expect(await update(shard, spec, r2, 1)).toBe(false);
      expect(await update(shard, spec, r2, 2)).toBe(true);
      expect(await shard.getRecords(spec, ['a'])).toEqual([{ ...r2, note: null }]);
    });
  });
});
