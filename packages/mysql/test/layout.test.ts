import { describe, expect, it } from 'vitest';
import {
  adminPool,
  createTables,
  enabled,
  entitySpec,
  historySpec,
  indexSpec,
  insert,
  openShard,
  record,
} from './helpers.js';

/** `name type nullable collation` of each column, and `key.column` of each key, of a table. */
async function shape(name: string): Promise<{ columns: string[]; keys: string[] }> {
  const pool = adminPool();
  const [columns] = await pool.query(
    'SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
    [name],
  );
  const [keys] = await pool.query(`SHOW INDEX FROM \`${name}\``);
  return {
    columns: (columns as Record<string, string | null>[]).map(
      (c) =>
        `${c.COLUMN_NAME} ${String(c.COLUMN_TYPE).replace(/^(bigint|int|tinyint)\((?!1\))\d+\)$/, '$1')} ${c.IS_NULLABLE} ${c.COLLATION_NAME}`,
    ),
    keys: (keys as { Key_name: string; Column_name: string }[]).map((k) => `${k.Key_name}.${k.Column_name}`),
  };
}

const RECORD_COLUMNS = [
  'id varbinary(255) NO null',
  'body longtext YES utf8mb4_bin',
  'bin longblob YES null',
  'codec varchar(255) NO utf8mb4_bin',
  'version bigint NO null',
  'created_at bigint NO null',
  'updated_at bigint NO null',
];

describe.skipIf(!enabled)('storage layout', () => {
  it('entity tables: binary ids, text and binary bodies, the note and its (pending, id) key', async () => {
    const shard = openShard();
    const spec = entitySpec();
    await createTables(shard, spec);
    await shard.createTables([spec]); // idempotent
    expect(await shape(spec.name)).toEqual({
      columns: [...RECORD_COLUMNS, 'note longtext YES utf8mb4_bin', 'pending tinyint YES null'],
      keys: ['PRIMARY.id', '__waffle_pending.pending', '__waffle_pending.id'],
    });
    const [[options]] = (await adminPool().query(
      'SELECT ENGINE, TABLE_COLLATION, ROW_FORMAT FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
      [spec.name],
    )) as unknown as [Record<string, string>[]];
    expect(options).toEqual({ ENGINE: 'InnoDB', TABLE_COLLATION: 'utf8mb4_bin', ROW_FORMAT: 'Dynamic' });
  });

  it('history tables: the record columns and deleted, keyed by (id, version)', async () => {
    const shard = openShard();
    const spec = historySpec();
    await createTables(shard, spec);
    expect(await shape(spec.name)).toEqual({
      columns: [...RECORD_COLUMNS, 'deleted tinyint NO null'],
      keys: ['PRIMARY.id', 'PRIMARY.version'],
    });
  });

  it('index tables: each kind its type, text and bytes as VARBINARY sharing the 3072-byte key', async () => {
    const shard = openShard();
    const spec = indexSpec('kinds', [
      ['i', 'integer'],
      ['b', 'bigint'],
      ['r', 'real'],
      ['t', 'text'],
      ['f', 'boolean'],
      ['d', 'timestamp'],
      ['y', 'bytes'],
    ]);
    await createTables(shard, spec);
    expect(await shape(spec.name)).toEqual({
      columns: [
        'i int NO null',
        'b bigint NO null',
        'r double NO null',
        't varbinary(1390) NO null',
        'f tinyint(1) NO null',
        'd bigint NO null',
        'y varbinary(1390) NO null',
        '__id varbinary(255) NO null',
        '__version bigint NO null',
      ],
      keys: ['i', 'b', 'r', 't', 'f', 'd', 'y', '__id'].map((c) => `PRIMARY.${c}`),
    });
  });

  it('index tables with nullable columns: keyed by (__id, __key), __key a SHA-256 of the values, ordered by a covering key', async () => {
    const shard = openShard();
    const spec = indexSpec('nullable', [
      ['t', 'text', true],
      ['n', 'integer'],
    ]);
    await createTables(shard, spec);
    expect(await shape(spec.name)).toEqual({
      columns: [
        't varbinary(2805) YES null',
        'n int NO null',
        '__id varbinary(255) NO null',
        '__version bigint NO null',
        '__key binary(32) NO null',
      ],
      keys: [
        'PRIMARY.__id',
        'PRIMARY.__key',
        '__waffle_order.t',
        '__waffle_order.n',
        '__waffle_order.__id',
        '__waffle_order.__version',
      ],
    });
    // Two rows whose keys differ only by a NULL are two rows; the same key twice is one.
    const rows = [
      { id: 'a', values: [null, 1], version: 1 },
      { id: 'a', values: ['', 1], version: 1 },
      { id: 'a', values: [null, 2], version: 1 },
    ];
    await shard.putIndexRows(spec, rows);
    await shard.putIndexRows(spec, [{ id: 'a', values: [null, 1], version: 3 }]);
    const [stored] = await adminPool().query(
      `SELECT t, n, __version, HEX(__key) AS h FROM \`${spec.name}\` ORDER BY n, t`,
    );
    const list = stored as { t: Buffer | null; n: number; __version: number; h: string }[];
    expect(list.map((r) => [r.t === null ? null : String(r.t), r.n, r.__version])).toEqual([
      [null, 1, 3],
      ['', 1, 1],
      [null, 2, 1],
    ]);
    expect(new Set(list.map((r) => r.h)).size).toBe(3);
    expect(list.every((r) => r.h.length === 64)).toBe(true);
  });

  it('the metadata table: binary keys, text values', async () => {
    const shard = openShard();
    await shard.createTables([]);
    expect(await shape('__waffle_meta')).toEqual({
      columns: ['key varbinary(255) NO null', 'value text NO utf8mb4_bin'],
      keys: ['PRIMARY.key'],
    });
  });

  it('scans of notes read through the (pending, id) key, without sorting', async () => {
    const shard = openShard();
    const spec = entitySpec();
    await createTables(shard, spec);
    for (let i = 0; i < 200; i++) {
      const id = `r${String(i).padStart(4, '0')}`;
      await insert(shard, spec, record(id, i % 40 === 0 ? { note: 'n' } : {}));
    }
    await adminPool().query(`ANALYZE TABLE \`${spec.name}\``);
    const shapes: [string, string[]][] = [
      ['pending = 1', []],
      ['pending = 1 AND id > ?', ['r0050']],
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
    const page = await shard.scanRecords(spec, { after: 'r0050', limit: 2, notes: true });
    expect(page.map((r) => r.id)).toEqual(['r0080', 'r0120']);
  });
});
