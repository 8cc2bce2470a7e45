import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { type Doc, Entity, Index, type Shard, text, ValidationError } from '@waffle/core';
import { libsqlShard } from '@waffle/libsql';
import { mysqlShard } from '@waffle/mysql';
import { postgresShard } from '@waffle/postgres';
import { json } from '@waffle/serializer-json';
import { enabledDialects, servers } from '@waffle/testkit';
import fc from 'fast-check';
import mysql from 'mysql2/promise';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Issue 13, item 5 (names): 10,000 generated identifiers and a fixed list of
 * known payloads, as entity, index and column names, against one entity over
 * a shard of every dialect, each shard recording every call made to it.
 * A name is refused with a ValidationError exactly when the documented rule
 * refuses it, with no call to any shard and every database's catalogue
 * unchanged; accepted names (reserved words among them) work end to end.
 */
const DATABASE = 'waffle_hostile_names';
const dialects = enabledDialects();
const dir = mkdtempSync(join(tmpdir(), 'waffle-hostile-names-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const RESERVED = [
  'select',
  'order',
  'group',
  'user',
  'key',
  'table',
  'from',
  'where',
  'limit',
  'index',
  'desc',
  'values',
  'primary',
  'default',
  'column',
  'check',
  'rowid',
  'oid',
  'true',
  'null',
];

/** Known payloads: quotes, comments, separators, NUL, look-alikes, reserved words, over-long names. */
const PAYLOADS: readonly unknown[] = [
  '',
  ' ',
  'a b',
  ' a',
  'a ',
  "a'b",
  'a"b',
  'a`b',
  'a;b',
  "x'; DROP TABLE t; --",
  'x"; DROP TABLE t; --',
  'x`; DROP TABLE t; --',
  'x); DROP TABLE t; --',
  'a--',
  'a/*b*/',
  'a\u0000',
  '\u0000',
  'a\nb',
  'a\\b',
  'a.b',
  'a-b',
  'a$b',
  '$1',
  '?',
  'a%b',
  '[a]',
  '1abc',
  '9',
  '__waffle',
  '__',
  '_',
  'ѕelect', // Cyrillic s
  'ｓｅｌｅｃｔ', // fullwidth
  'sel\u200Bect', // zero-width space
  'İndex',
  'straße',
  'café',
  'a\u202Eb',
  '😀',
  'x'.repeat(49),
  'x'.repeat(64),
  'x'.repeat(1000),
  'x'.repeat(100_000),
  null,
  undefined,
  42,
  {},
  ...RESERVED,
  ...RESERVED.map((w) => w.toUpperCase()),
  'x'.repeat(48),
  'x'.repeat(63),
];

/** The documented rule: ASCII letters, digits and `_`, not first a digit, not `__…`, at most `max` characters. */
function allowed(name: unknown, max: number): boolean {
  return (
    typeof name === 'string' &&
    /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) &&
    !name.startsWith('__') &&
    name.length <= max
  );
}

/** Names of both kinds: valid-looking ones (reserved words, any case, up to past the limits) and hostile ones. */
const nameArbitrary = fc.oneof(
  fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,70}$/),
  fc.constantFrom(...RESERVED).chain((w) => fc.constantFrom(w, w.toUpperCase(), `${w}_`, `_${w}`)),
  fc.string({ unit: 'binary', maxLength: 70 }),
  fc
    .tuple(
      fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/),
      fc.constantFrom(...`'"\`;\\ -./*$?%[]()\u0000\n\t\u200B\u202Eѕ`),
      fc.stringMatching(/^[a-z0-9_]{0,20}$/),
    )
    .map(([a, c, b]) => `${a}${c}${b}`),
);

/** A shard that records every call made to any of its methods. */
function recorded(shard: Shard, calls: string[]): Shard {
  return new Proxy(shard, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(`${shard.name}.${String(property)}`);
        return value.apply(target, args);
      };
    },
  });
}

interface Side {
  readonly shard: Shard;
  catalogue(): Promise<string[]>;
  close(): Promise<void>;
}

async function openSide(dialect: string): Promise<Side> {
  if (dialect === 'libsql') {
    const file = join(dir, 'names.db');
    const client = createClient({ url: `file:${file}` });
    return {
      shard: libsqlShard({ url: `file:${file}` }),
      catalogue: async () =>
        (await client.execute("select type || ' ' || name from sqlite_master order by 1")).rows.map((r) =>
          String(r[0]),
        ),
      close: async () => client.close(),
    };
  }
  if (dialect === 'postgres') {
    const admin = postgres(`${servers.postgres}/postgres`, { onnotice: () => {} });
    const [exists] = await admin`select 1 from pg_database where datname = ${DATABASE}`;
    if (!exists) await admin.unsafe(`create database ${DATABASE}`);
    await admin.end();
    const sql = postgres(`${servers.postgres}/${DATABASE}`, { onnotice: () => {} });
    return {
      shard: postgresShard(`${servers.postgres}/${DATABASE}`),
      catalogue: async () =>
        (
          await sql`select table_type || ' ' || table_name as t from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema') order by 1`
        ).map((r) => String(r.t)),
      close: () => sql.end(),
    };
  }
  const admin = await mysql.createConnection({ uri: servers.mysql });
  await admin.query(`create database if not exists ${DATABASE}`);
  return {
    shard: mysqlShard(`${servers.mysql}/${DATABASE}`),
    catalogue: async () => {
      const [rows] = await admin.query(
        'select concat(table_type, " ", table_name) as t from information_schema.tables where table_schema = ? order by 1',
        [DATABASE],
      );
      return (rows as { t: string }[]).map((r) => r.t);
    },
    close: () => admin.end(),
  };
}

describe('hostile names', () => {
  const sides: Side[] = [];
  const calls: string[] = [];
  let shards: Shard[];

  beforeAll(async () => {
    for (const dialect of dialects) sides.push(await openSide(dialect));
    shards = sides.map((s) => recorded(s.shard, calls));
  });
  afterAll(async () => {
    for (const side of sides) {
      await side.shard.close();
      await side.close();
    }
  });
  // waffle's metadata table stays once a create() made it: the catalogue is the users' tables.
  const catalogues = async () =>
    (await Promise.all(sides.map((s) => s.catalogue()))).map((tables) =>
      tables.filter((t) => !t.includes('__waffle')),
    );

  /** What each position does with `name`: refused (a ValidationError) or accepted. */
  function attempt(position: 'entity' | 'index' | 'column', name: unknown): 'refused' | 'accepted' {
    const column = position === 'column' ? (name as string) : 'c';
    try {
      const index = new Index(position === 'index' ? (name as string) : 'hostile_ix', {
        columns: { [column]: text() },
        shard: shards,
        mapper: () => [],
      });
      new Entity(position === 'entity' ? (name as string) : 'hostile_e', {
        shards,
        indices: [index],
        serializer: json(),
      });
      return 'accepted';
    } catch (error) {
      expect(ValidationError.is(error), `${position} ${JSON.stringify(name)}: ${String(error)}`).toBe(true);
      return 'refused';
    }
  }

  it('10,000 generated names and the known payloads, in each position: refused exactly as the rule says, before any call, the catalogues unchanged', async () => {
    const before = await catalogues();
    const generated = fc.sample(nameArbitrary, { numRuns: 10_000, seed: 1305 });
    const counts = { refused: 0, accepted: 0 };
    for (const name of [...generated, ...PAYLOADS]) {
      for (const [position, max] of [
        ['entity', 48],
        ['index', 63],
        ['column', 63],
      ] as const) {
        if (position === 'column' && typeof name !== 'string') continue; // object keys are strings
        const outcome = attempt(position, name);
        expect(outcome, `${position} ${JSON.stringify(name)}`).toBe(
          allowed(name, max) ? 'accepted' : 'refused',
        );
        counts[outcome]++;
      }
    }
    expect(calls).toEqual([]);
    expect(await catalogues()).toEqual(before);
    console.log(
      `hostile names: ${generated.length} generated and ${PAYLOADS.length} known payloads, ${counts.refused + counts.accepted} tries (${counts.refused} refused, ${counts.accepted} accepted as the rule says), 0 shard calls, catalogues unchanged`,
    );
    // Both kinds were generated in number.
    expect(counts.refused).toBeGreaterThan(5000);
    expect(counts.accepted).toBeGreaterThan(5000);
  });

  it('accepted names, reserved words among them, work end to end on every dialect: create, save, get, select, drop', async () => {
    const sample = fc
      .sample(nameArbitrary, { numRuns: 2000, seed: 7 })
      .filter((n): n is string => allowed(n, 48))
      .slice(0, 6);
    const names = [...RESERVED.slice(0, 6), ...sample];
    // The entity, its index and the index's columns all take the name (set apart where they share a namespace).
    const made = names.map((name, i) => {
      const columns = [name, `${name.slice(0, 60)}_2`] as const;
      const index = new Index(`${name.slice(0, 58)}_ix${i}`, {
        columns: { [columns[0]]: text(), [columns[1]]: text() },
        shard: shards,
        mapper: (d: Doc<{ t: string }>) => [{ [columns[0]]: d.value.t, [columns[1]]: name }],
      });
      const entity = new Entity<{ t: string }>(name, { shards, indices: [index], serializer: json() });
      return { name, columns, index, entity };
    });
    for (const { entity } of made) await entity.drop(); // what an interrupted run left
    const before = await catalogues();
    for (const { name, columns, index, entity } of made) {
      await entity.create();
      const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
      await entity.saveMany(ids.map((id) => entity.new({ t: `v-${id}` }, { id })));
      expect((await entity.get('c'))?.value, name).toEqual({ t: 'v-c' });
      const hits = await entity.select(index.c[columns[0]].startsWith('v-'), {
        orderBy: index.c[columns[0]].desc(),
      });
      expect(
        hits.map((r) => r.id),
        name,
      ).toEqual([...ids].reverse());
      expect((await entity.select(index.c[columns[1]].eq(name))).length, name).toBe(ids.length);
      await entity.drop();
    }
    expect(await catalogues()).toEqual(before);
  });

  it('names that pass the rule but that a dialect cannot hold are refused before any table is made', async () => {
    const before = await catalogues();
    const cases: (() => unknown)[] = [
      // SQLite and MySQL do not tell names apart by case.
      () => new Index('case_cols', { columns: { a: text(), A: text() }, shard: shards, mapper: () => [] }),
      () =>
        new Entity('case_tables', {
          shards,
          indices: [new Index('CASE_TABLES', { columns: { a: text() }, shard: shards, mapper: () => [] })],
          serializer: json(),
        }),
      () =>
        new Entity('hist', {
          shards,
          history: true,
          indices: [new Index('hist__history', { columns: { a: text() }, shard: shards, mapper: () => [] })],
          serializer: json(),
        }),
    ];
    for (const make of cases) {
      let error: unknown;
      try {
        make();
      } catch (e) {
        error = e;
      }
      expect(ValidationError.is(error), String(error)).toBe(true);
    }
    const libsql = dialects.indexOf('libsql');
    if (libsql >= 0) {
      // SQLite's row id hidden by columns rowid, _rowid_ and oid: refused by create() before any table is made.
      const one = [shards[libsql]!];
      const index = new Index('rowid_cols', {
        columns: { rowid: text(), _rowid_: text(), oid: text() },
        shard: one,
        mapper: () => [],
      });
      const entity = new Entity('rowid_e', { shards: one, indices: [index], serializer: json() });
      let error: unknown;
      try {
        await entity.create();
      } catch (e) {
        error = e;
      }
      expect(ValidationError.is(error), String(error)).toBe(true);
      expect((error as Error).message).toContain('rowid');
    }
    expect(await catalogues()).toEqual(before);
  });
});
