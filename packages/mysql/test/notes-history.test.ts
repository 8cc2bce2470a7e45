import type { EntityTableSpec, HistoryRow, Shard } from '@waffle/core';
import { describe, expect, it } from 'vitest';
import {
  adminPool,
  createTables,
  dropLater,
  enabled,
  entitySpec,
  historySpec,
  openPool,
  openShard,
  record,
} from './helpers.js';

/** The stored `note` and `pending` of a record, read behind the shard's back. */
async function rawNote(spec: EntityTableSpec, id: string): Promise<[unknown, unknown] | undefined> {
  const [rows] = await adminPool().query(`SELECT note, pending FROM \`${spec.name}\` WHERE id = ?`, [id]);
  const row = (rows as { note: unknown; pending: unknown }[])[0];
  return row === undefined ? undefined : [row.note, row.pending];
}

/** Ids of the records a full scanNotes finds. */
async function noted(shard: Shard, spec: EntityTableSpec): Promise<string[]> {
  return (await shard.scanNotes(spec, undefined, 1000)).map((r) => r.id);
}

describe.skipIf(!enabled)('record notes', () => {
  it('insertRecord and updateRecord store the note, getRecords and scanRecords return it', async () => {
    const shard = openShard();
    const spec = entitySpec();
    await createTables(shard, spec);
    expect(await shard.insertRecord(spec, record('a', { note: 'put ix_a 1' }))).toBe(true);
    expect(await shard.insertRecord(spec, record('b'))).toBe(true);
    expect(await shard.insertRecord(spec, record('c', { note: null, body: new Uint8Array([1]) }))).toBe(true);
    expect(await rawNote(spec, 'a')).toEqual(['put ix_a 1', 1]);
    expect(await rawNote(spec, 'b')).toEqual([null, null]);
    expect(await rawNote(spec, 'c')).toEqual([null, null]);

    const byId = async () =>
      new Map((await shard.getRecords(spec, ['a', 'b', 'c'])).map((r) => [r.id, r.note]));
    expect(await byId()).toEqual(
      new Map([
        ['a', 'put ix_a 1'],
        ['b', null],
        ['c', null],
      ]),
    );
    expect((await shard.scanRecords(spec, undefined, 10)).map((r) => [r.id, r.note])).toEqual([
      ['a', 'put ix_a 1'],
      ['b', null],
      ['c', null],
    ]);

    const long = `é𝒳"\\${'n'.repeat(100_000)}`;
    expect(await shard.updateRecord(spec, record('b', { version: 2, note: long }), 1)).toBe(true);
    const [b] = await shard.getRecords(spec, ['b']);
    expect(b?.note === long).toBe(true);
    expect(b?.version).toBe(2);
    expect((await rawNote(spec, 'b'))?.[1]).toBe(1);
    // A write that fails its version check leaves the note as it was.
    expect(await shard.updateRecord(spec, record('b', { version: 3, note: 'other' }), 1)).toBe(false);
    expect((await shard.getRecords(spec, ['b']))[0]?.note === long).toBe(true);
  });

  it('updateRecord without a note clears a previous note', async () => {
    const shard = openShard();
    const spec = entitySpec();
    await createTables(shard, spec);
    await shard.insertRecord(spec, record('a', { note: 'n1' }));
    expect(await shard.updateRecord(spec, record('a', { version: 2, body: 'two' }), 1)).toBe(true);
    const [a] = await shard.getRecords(spec, ['a']);
    expect(a).toMatchObject({ version: 2, body: 'two', note: null });
    expect(await rawNote(spec, 'a')).toEqual([null, null]);
    expect(await noted(shard, spec)).toEqual([]);
  });

  describe.each([
    ['mysql2 defaults (CLIENT_FOUND_ROWS)', {}],
    ['without CLIENT_FOUND_ROWS', { flags: ['-FOUND_ROWS'] }],
  ])('clearNote, %s', (_label, poolOptions) => {
    it('clears at the right version only, and again without harm', async () => {
      const shard = openShard(openPool(poolOptions));
      const spec = entitySpec();
      await createTables(shard, spec);
      await shard.insertRecord(spec, record('a', { version: 3, note: 'n' }));
      await shard.insertRecord(spec, record('b', { note: 'keep' }));

      expect(await shard.clearNote(spec, 'a', 2)).toBe(false);
      expect(await shard.clearNote(spec, 'a', 4)).toBe(false);
      expect(await rawNote(spec, 'a')).toEqual(['n', 1]);
      expect(await shard.clearNote(spec, 'missing', 3)).toBe(false);

      expect(await shard.clearNote(spec, 'a', 3)).toBe(true);
      expect(await rawNote(spec, 'a')).toEqual([null, null]);
      const [a] = await shard.getRecords(spec, ['a']);
      expect(a).toMatchObject({ id: 'a', version: 3, note: null, body: '{"id":"a"}' });
      // Clearing a clear note changes no row: still true at the right version, still false at a wrong one.
      expect(await shard.clearNote(spec, 'a', 3)).toBe(true);
      expect(await shard.clearNote(spec, 'a', 2)).toBe(false);
      // A record without a note ever.
      await shard.insertRecord(spec, record('c'));
      expect(await shard.clearNote(spec, 'c', 1)).toBe(true);

      expect((await shard.getRecords(spec, ['b']))[0]?.note).toBe('keep');
      expect(await noted(shard, spec)).toEqual(['b']);
    });

    it('in a transaction, a cleared note comes back when it rolls back', async () => {
      const shard = openShard(openPool(poolOptions));
      const spec = entitySpec();
      await createTables(shard, spec);
      await shard.insertRecord(spec, record('a', { note: 'n' }));
      const stop = new Error('stop');
      const error = await shard
        .transaction(async (tx) => {
          expect(await tx.clearNote(spec, 'a', 1)).toBe(true);
          expect(await tx.clearNote(spec, 'a', 1)).toBe(true);
          expect(await tx.scanNotes(spec, undefined, 10)).toEqual([]);
          throw stop;
        })
        .catch((e: unknown) => e);
      expect(error).toBe(stop);
      expect(await noted(shard, spec)).toEqual(['a']);
      await shard.transaction(async (tx) => {
        expect(await tx.clearNote(spec, 'a', 1)).toBe(true);
      });
      expect(await noted(shard, spec)).toEqual([]);
    });
  });

  it('scanNotes returns the noted records in id order, in pages', async () => {
    const shard = openShard();
    const spec = entitySpec();
    await createTables(shard, spec);
    // Inserted out of order; ids compare by bytes ('B' < 'a' < 'a ' < 'b' < 'é').
    const ids = ['é', 'b', 'a ', 'x', 'B', 'a', 'm'];
    const withNote = new Set(['é', 'b', 'a ', 'B', 'a']);
    for (const id of ids) {
      await shard.insertRecord(spec, record(id, withNote.has(id) ? { note: `note of ${id}` } : {}));
    }
    const all = await shard.scanNotes(spec, undefined, 100);
    expect(all.map((r) => r.id)).toEqual(['B', 'a', 'a ', 'b', 'é']);
    expect(
      all.every((r) => r.note === `note of ${r.id}` && r.body === `{"id":${JSON.stringify(r.id)}}`),
    ).toBe(true);
    // The same order as scanRecords.
    const scanned = (await shard.scanRecords(spec, undefined, 100)).filter((r) => r.note !== null);
    expect(scanned.map((r) => r.id)).toEqual(all.map((r) => r.id));

    const pages: string[][] = [];
    let after: string | undefined;
    // Bounded, so that a scan that does not advance fails instead of looping.
    for (let i = 0; i < 10; i++) {
      const page = await shard.scanNotes(spec, after, 2);
      if (page.length === 0) break;
      pages.push(page.map((r) => r.id));
      after = page.at(-1)!.id;
    }
    expect(pages).toEqual([['B', 'a'], ['a ', 'b'], ['é']]);
    expect((await shard.scanNotes(spec, 'a', 10)).map((r) => r.id)).toEqual(['a ', 'b', 'é']);
    // `after` need not be a noted id, nor a stored one.
    expect((await shard.scanNotes(spec, 'm', 10)).map((r) => r.id)).toEqual(['é']);
    expect((await shard.scanNotes(spec, 'c', 1)).map((r) => r.id)).toEqual(['é']);
    expect(await shard.scanNotes(spec, 'é', 10)).toEqual([]);

    for (const r of all) expect(await shard.clearNote(spec, r.id, r.version)).toBe(true);
    expect(await shard.scanNotes(spec, undefined, 100)).toEqual([]);
    expect(await shard.scanNotes(spec, 'a', 100)).toEqual([]);
    expect(await shard.scanRecords(spec, undefined, 100)).toHaveLength(ids.length);
  });

  it('scanNotes reads through the (pending, id) key, without sorting', async () => {
    const shard = openShard();
    const spec = entitySpec();
    await createTables(shard, spec);
    const [keys] = await adminPool().query(
      `SHOW INDEX FROM \`${spec.name}\` WHERE Key_name = '__waffle_pending'`,
    );
    expect(
      (keys as { Column_name: string; Non_unique: number }[]).map((k) => [k.Column_name, k.Non_unique]),
    ).toEqual([
      ['pending', 1],
      ['id', 1],
    ]);
    for (let i = 0; i < 200; i++) {
      const id = `r${String(i).padStart(4, '0')}`;
      await shard.insertRecord(spec, record(id, i % 40 === 0 ? { note: 'n' } : {}));
    }
    await adminPool().query(`ANALYZE TABLE \`${spec.name}\``);
    const shapes: [string, (number | string)[]][] = [
      ['pending = ?', [1]],
      ['pending = ? AND id > ?', [1, 'r0050']],
    ];
    for (const [where, params] of shapes) {
      const [plan] = await adminPool().query(
        `EXPLAIN SELECT id, body, note FROM \`${spec.name}\` WHERE ${where} ORDER BY id LIMIT 2`,
        params,
      );
      const [step] = plan as { key: string; Extra: string | null }[];
      expect(step?.key).toBe('__waffle_pending');
      expect(step?.Extra ?? '').not.toContain('filesort');
    }
    expect((await shard.scanNotes(spec, 'r0050', 2)).map((r) => r.id)).toEqual(['r0080', 'r0120']);
  });
});

/** A history row of version `version` for `id`, text unless `body` says otherwise. */
function version(id: string, v: number, over: Partial<HistoryRow> = {}): HistoryRow {
  return {
    id,
    version: v,
    codec: 'json',
    body: `{"v":${v}}`,
    createdAt: 1000,
    updatedAt: 1000 + v,
    deleted: false,
    ...over,
  };
}

describe.skipIf(!enabled)('history', () => {
  it('creates the table keyed by (id, version), with the entity columns and deleted', async () => {
    const shard = openShard();
    const spec = historySpec();
    await createTables(shard, spec);
    await shard.createTables([spec]); // idempotent
    const [columns] = await adminPool().query(
      'SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
      [spec.name],
    );
    expect(
      (columns as Record<string, string | null>[]).map(
        (c) => `${c.COLUMN_NAME} ${c.COLUMN_TYPE} ${c.IS_NULLABLE} ${c.COLLATION_NAME}`,
      ),
    ).toEqual([
      'id varbinary(255) NO null',
      'body longtext YES utf8mb4_bin',
      'bin longblob YES null',
      'codec varchar(255) NO utf8mb4_bin',
      'version bigint(20) NO null',
      'created_at bigint(20) NO null',
      'updated_at bigint(20) NO null',
      'deleted tinyint(4) NO null',
    ]);
    const [keys] = await adminPool().query(`SHOW INDEX FROM \`${spec.name}\``);
    expect(
      (keys as { Key_name: string; Column_name: string }[]).map((k) => `${k.Key_name}.${k.Column_name}`),
    ).toEqual(['PRIMARY.id', 'PRIMARY.version']);
  });

  it('inserts text, binary and tombstone versions once, and reads them in version order', async () => {
    const shard = openShard();
    const spec = historySpec();
    await createTables(shard, spec);
    const bytes = new Uint8Array(4096).map((_, i) => (i * 31) % 256);
    const v1 = version('a', 1, { body: 'é𝒳\u0000"\\' });
    const v2 = version('a', 2, { codec: 'msgpack', body: bytes, updatedAt: 5000 });
    const v3 = version('a', 3, { deleted: true, body: '' });
    // Out of order on purpose.
    expect(await shard.insertHistory(spec, v3)).toBe(true);
    expect(await shard.insertHistory(spec, v1)).toBe(true);
    expect(await shard.insertHistory(spec, v2)).toBe(true);
    expect(await shard.insertHistory(spec, version('A', 1))).toBe(true);
    expect(await shard.insertHistory(spec, version('a ', 1))).toBe(true);

    // Duplicates return false and keep the first row.
    expect(await shard.insertHistory(spec, version('a', 1, { body: 'other', codec: 'x' }))).toBe(false);
    expect(await shard.insertHistory(spec, version('a', 3, { deleted: false, body: '{}' }))).toBe(false);

    const all = await shard.getHistory(spec, 'a');
    expect(all).toEqual([v1, v2, v3]);
    expect(all[1]!.body.constructor).toBe(Uint8Array);
    expect(await shard.getHistory(spec, 'a', 2)).toEqual([v2]);
    expect(await shard.getHistory(spec, 'a', 3)).toEqual([v3]);
    expect(await shard.getHistory(spec, 'a', 4)).toEqual([]);
    expect(await shard.getHistory(spec, 'A')).toEqual([version('A', 1)]);
    expect(await shard.getHistory(spec, 'a ')).toEqual([version('a ', 1)]);
    expect(await shard.getHistory(spec, 'missing')).toEqual([]);
    expect(await shard.getHistory(spec, 'missing', 1)).toEqual([]);
  });

  it('a transaction that inserts history and throws leaves nothing; one that commits keeps it', async () => {
    const shard = openShard();
    const entity = entitySpec();
    const spec = historySpec();
    await createTables(shard, entity, spec);
    const stop = new Error('stop');
    const error = await shard
      .transaction(async (tx) => {
        expect(await tx.insertRecord(entity, record('a', { note: 'n' }))).toBe(true);
        expect(await tx.insertHistory(spec, version('a', 1))).toBe(true);
        expect(await tx.insertHistory(spec, version('a', 1))).toBe(false); // the transaction goes on
        expect(await tx.insertHistory(spec, version('a', 2, { deleted: true, body: '' }))).toBe(true);
        expect(await tx.getHistory(spec, 'a')).toHaveLength(2);
        throw stop;
      })
      .catch((e: unknown) => e);
    expect(error).toBe(stop);
    expect(await shard.getHistory(spec, 'a')).toEqual([]);
    expect(await shard.getRecords(entity, ['a'])).toEqual([]);

    await shard.transaction(async (tx) => {
      expect(await tx.insertHistory(spec, version('a', 1))).toBe(true);
    });
    expect(await shard.getHistory(spec, 'a')).toEqual([version('a', 1)]);
  });
});

/** The DDL of an entity table before record notes (`git show HEAD~1:packages/mysql/src/mysql-tables.ts`). */
function createOldEntityTable(name: string): string {
  return `CREATE TABLE \`${name}\` (\`id\` VARBINARY(255) NOT NULL, \`body\` LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL, \`bin\` LONGBLOB NULL, \`codec\` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, \`version\` BIGINT NOT NULL, \`created_at\` BIGINT NOT NULL, \`updated_at\` BIGINT NOT NULL, PRIMARY KEY (\`id\`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC`;
}

/** `name type nullable` of each column, and `key.column` of each key, of a table. */
async function shape(name: string): Promise<{ columns: string[]; keys: string[] }> {
  const pool = adminPool();
  const [columns] = await pool.query(
    'SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
    [name],
  );
  const [keys] = await pool.query(`SHOW INDEX FROM \`${name}\``);
  return {
    columns: (columns as Record<string, string | null>[]).map(
      (c) => `${c.COLUMN_NAME} ${c.COLUMN_TYPE} ${c.IS_NULLABLE} ${c.COLLATION_NAME}`,
    ),
    keys: (keys as { Key_name: string; Column_name: string }[]).map((k) => `${k.Key_name}.${k.Column_name}`),
  };
}

describe.skipIf(!enabled)('upgrade of entity tables created before notes', () => {
  it('createTables adds note, pending and their key; old rows read back and take notes', async () => {
    const spec = entitySpec('old');
    const fresh = entitySpec('new');
    dropLater(spec.name, fresh.name);
    const pool = adminPool();
    await pool.query(createOldEntityTable(spec.name));
    await pool.query(
      `INSERT INTO \`${spec.name}\` (id, body, bin, codec, version, created_at, updated_at) VALUES ('a', '{"old":1}', NULL, 'json', 1, 10, 20), ('b', NULL, X'0102', 'bin', 4, 10, 30)`,
    );
    const shard = openShard();
    const before = await shape(spec.name);
    expect(before.columns.some((c) => c.startsWith('note '))).toBe(false);

    await shard.createTables([spec, fresh]);
    const after = await shape(spec.name);
    // The upgraded table is the table createTables makes today.
    expect(after).toEqual(await shape(fresh.name));
    expect(after.columns.slice(-2)).toEqual(['note longtext YES utf8mb4_bin', 'pending tinyint(4) YES null']);
    expect(after.keys).toEqual(['PRIMARY.id', '__waffle_pending.pending', '__waffle_pending.id']);
    // Idempotent.
    await shard.createTables([spec]);
    expect(await shape(spec.name)).toEqual(after);

    expect(await shard.getRecords(spec, ['a', 'b'])).toEqual(
      expect.arrayContaining([
        { id: 'a', body: '{"old":1}', codec: 'json', version: 1, createdAt: 10, updatedAt: 20, note: null },
        {
          id: 'b',
          body: new Uint8Array([1, 2]),
          codec: 'bin',
          version: 4,
          createdAt: 10,
          updatedAt: 30,
          note: null,
        },
      ]),
    );
    expect(await shard.scanNotes(spec, undefined, 10)).toEqual([]);
    const a2 = record('a', { version: 2, body: '{"old":2}', note: 'put ix 2' });
    expect(await shard.updateRecord(spec, a2, 1)).toBe(true);
    expect(await shard.scanNotes(spec, undefined, 10)).toEqual([{ ...a2, note: 'put ix 2' }]);
    expect(await shard.clearNote(spec, 'a', 2)).toBe(true);
    expect(await shard.scanNotes(spec, undefined, 10)).toEqual([]);
    expect(await shard.insertRecord(spec, record('c', { note: 'c' }))).toBe(true);
    expect((await shard.scanNotes(spec, undefined, 10)).map((r) => r.id)).toEqual(['c']);
  });

  it('upgrades the table of its exact name, next to a table whose name differs by case', async () => {
    const current: EntityTableSpec = { kind: 'entity', name: entitySpec('Case').name };
    const old: EntityTableSpec = { kind: 'entity', name: current.name.toLowerCase() };
    expect(old.name).not.toBe(current.name);
    dropLater(current.name, old.name);
    const shard = openShard();
    await shard.createTables([current]);
    await adminPool().query(createOldEntityTable(old.name));
    await shard.createTables([old]);
    expect(await shape(old.name)).toEqual(await shape(current.name));
    expect(await shard.insertRecord(old, record('a', { note: 'n' }))).toBe(true);
    expect((await shard.scanNotes(old, undefined, 10)).map((r) => r.id)).toEqual(['a']);
    expect(await shard.scanNotes(current, undefined, 10)).toEqual([]);
  });

  it('completes a table that has some of the new columns, and survives concurrent upgrades', async () => {
    const partial = entitySpec('partial');
    const raced = entitySpec('raced');
    dropLater(partial.name, raced.name);
    const pool = adminPool();
    await pool.query(createOldEntityTable(partial.name));
    await pool.query(
      `ALTER TABLE \`${partial.name}\` ADD COLUMN \`note\` LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL`,
    );
    await pool.query(createOldEntityTable(raced.name));

    const shards = [openShard(), openShard(), openShard()];
    await shards[0]!.createTables([partial]);
    expect((await shape(partial.name)).keys).toEqual([
      'PRIMARY.id',
      '__waffle_pending.pending',
      '__waffle_pending.id',
    ]);
    expect((await shape(partial.name)).columns.slice(-2)).toEqual([
      'note longtext YES utf8mb4_bin',
      'pending tinyint(4) YES null',
    ]);

    // Three shards on one database upgrade the same table at once: all succeed.
    await Promise.all(shards.map((s) => s.createTables([raced])));
    expect(await shape(raced.name)).toEqual(await shape(partial.name));
    expect(await shards[1]!.insertRecord(raced, record('x', { note: 'n' }))).toBe(true);
    expect((await shards[2]!.scanNotes(raced, undefined, 10)).map((r) => r.note)).toEqual(['n']);
  });
});
