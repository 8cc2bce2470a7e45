import { QueryError } from '@waffle/core';
import { describe, expect, it } from 'vitest';
import {
  contractShard,
  entitySpec,
  historySpec,
  indexContent,
  indexSpec,
  insert,
  versionOf,
} from './contract-fixtures.js';
import { type ConformanceOptions, uniqueName } from './options.js';
import { recordRow } from './shard-helpers.js';

/** A shard's name and limits, createTables, and the metadata entries readMeta and writeMeta keep. */
export function contractMetaSuite(options: ConformanceOptions): void {
  const open = contractShard(options);

  describe('tables and metadata', () => {
    it('has a name and limits', async () => {
      const shard = await open();
      expect(typeof shard.name).toBe('string');
      expect(shard.name.length).toBeGreaterThan(0);
      await shard.readMeta([uniqueName('k')]); // a round trip: limits learnt on connecting are set now
      const { maxParameters, maxBodyBytes } = shard.limits;
      expect(
        Number.isSafeInteger(maxParameters) && maxParameters >= 999,
        `maxParameters ${maxParameters}`,
      ).toBe(true);
      if (maxBodyBytes !== undefined) {
        expect(Number.isSafeInteger(maxBodyBytes) && maxBodyBytes > 0, `maxBodyBytes ${maxBodyBytes}`).toBe(
          true,
        );
      }
    });

    it('reads no metadata for keys never written, before and after the metadata table exists', async () => {
      // On a new database (the libSQL suites) no table exists yet; elsewhere the keys are new.
      const shard = await open();
      const keys = [uniqueName('k'), uniqueName('k')];
      expect(await shard.readMeta(keys)).toEqual(new Map());
      expect(await shard.readMeta([])).toEqual(new Map());
      await shard.createTables([entitySpec()]);
      expect(await shard.readMeta(keys)).toEqual(new Map());
    });

    it('creates tables idempotently, also concurrently, keeping what they hold', async () => {
      const table = entitySpec();
      const history = historySpec();
      const index = indexSpec([
        ['k', 'text'],
        ['n', 'integer', true],
      ]);
      const tables = [table, history, index];
      const shard = await open();
      await Promise.all([shard.createTables(tables), shard.createTables(tables), shard.createTables(tables)]);
      await shard.createTables(tables);
      await shard.createTables([]);
      const a = recordRow('a', { note: 'n' });
      const rows = [{ table: index, rows: [{ id: 'a', values: ['k', null], version: 1 }] }];
      expect(await shard.commit({ table, writes: [insert(a)], put: rows, history })).toEqual([true]);
      await shard.createTables(tables);
      await shard.createTables([index, history, table]);
      expect(await shard.getRecords(table, ['a'])).toEqual([a]);
      expect(await indexContent(shard, index)).toEqual(rows[0]!.rows);
      expect(await shard.getHistory(history, 'a')).toEqual([versionOf(a)]);
    });

    it('drops tables with their metadata entries, leaving the others; idempotent', async () => {
      const table = entitySpec();
      const history = historySpec();
      const index = indexSpec([['k', 'text']]);
      const kept = indexSpec([['k', 'text']]);
      const shard = await open(table, history, index, kept);
      for (const spec of [table, history, index, kept])
        await shard.writeMeta(spec.name, `identity of ${spec.name}`);
      const row = { id: 'a', values: ['x'], version: 1 };
      expect(
        await shard.commit({
          table,
          writes: [insert(recordRow('a'))],
          put: [{ table: index, rows: [row] }],
          history,
        }),
      ).toEqual([true]);
      await shard.putIndexRows(kept, [row]);
      await shard.dropTables([table, history, index]);
      const names = [table, history, index, kept].map((spec) => spec.name);
      expect(await shard.readMeta(names)).toEqual(new Map([[kept.name, `identity of ${kept.name}`]]));
      // The dropped tables are gone: reading them fails as reading a table that never existed does.
      for (const [what, read] of [
        ['records', () => shard.getRecords(table, ['a'])],
        ['history', () => shard.getHistory(history, 'a')],
        ['index rows', () => shard.countIndex(index, undefined)],
      ] as const) {
        const error = await read().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(QueryError.is(error), `${what}: ${String(error)}`).toBe(true);
      }
      expect(await indexContent(shard, kept)).toEqual([row]);
      await shard.dropTables([table, history, index]);
      // Created again, they are empty.
      await shard.createTables([table, index]);
      expect(await shard.getRecords(table, ['a'])).toEqual([]);
      expect(await shard.countIndex(index, undefined)).toBe(0);
      await shard.dropTables([table, index, kept]);
      expect(await shard.readMeta(names)).toEqual(new Map());
    });

    it('replaces a metadata value only when it is the one expected', async () => {
      const shard = await open();
      const key = uniqueName('k');
      expect(await shard.replaceMeta(key, 'a', 'b')).toBe(false); // no entry (the table may not exist yet)
      expect(await shard.readMeta([key])).toEqual(new Map());
      await shard.writeMeta(key, '{"state":"building"}');
      expect(await shard.replaceMeta(key, '{"state":"other"}', '{"state":"ready"}')).toBe(false);
      expect(await shard.readMeta([key])).toEqual(new Map([[key, '{"state":"building"}']]));
      expect(await shard.replaceMeta(key, '{"state":"building"}', '{"state":"ready"}')).toBe(true);
      expect(await shard.readMeta([key])).toEqual(new Map([[key, '{"state":"ready"}']]));
      // Two replacers of one value: one wins.
      const both = await Promise.all([
        shard.replaceMeta(key, '{"state":"ready"}', 'one'),
        shard.replaceMeta(key, '{"state":"ready"}', 'two'),
      ]);
      expect(both.filter(Boolean)).toHaveLength(1);
      expect([...(await shard.readMeta([key])).values()]).toEqual([both[0] ? 'one' : 'two']);
    });

    it('writes a metadata value only once, answering with the value stored', async () => {
      const shard = await open();
      await shard.createTables([entitySpec()]);
      const [k1, k2, k3] = [uniqueName('k'), uniqueName('k'), uniqueName('k')];
      expect(await shard.writeMeta(k1, 'primary-key:2:0')).toBe('primary-key:2:0');
      expect(await shard.writeMeta(k1, 'primary-key:3:1')).toBe('primary-key:2:0');
      expect(await shard.writeMeta(k2, 'é 😀 "quoted" \\ \'single\'')).toBe('é 😀 "quoted" \\ \'single\'');
      expect(await shard.writeMeta(k3, '')).toBe('');
      expect(await shard.readMeta([k1, uniqueName('missing'), k2, k1, k3])).toEqual(
        new Map([
          [k1, 'primary-key:2:0'],
          [k2, 'é 😀 "quoted" \\ \'single\''],
          [k3, ''],
        ]),
      );
      // Writers racing for one key all get the value that won.
      const k4 = uniqueName('k');
      const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => shard.writeMeta(k4, `v${i}`)));
      expect(new Set(answers).size).toBe(1);
      expect(answers[0]).toMatch(/^v[0-5]$/);
      expect(await shard.readMeta([k4])).toEqual(new Map([[k4, answers[0]!]]));
    });

    it('writes metadata before any createTables', async () => {
      const shard = await open();
      const key = uniqueName('k');
      expect(await shard.writeMeta(key, 'v')).toBe('v');
      expect(await shard.writeMeta(key, 'w')).toBe('v');
      expect(await shard.readMeta([key])).toEqual(new Map([[key, 'v']]));
    });
  });
}
