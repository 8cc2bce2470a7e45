import {
  type Doc,
  Entity,
  Index,
  integer,
  QuorumError,
  type ReplicaReport,
  ShardByColumn,
  ShardByPrimaryKey,
  ShardUnavailableError,
  text,
  type WriteMode,
} from '@waffle/core';
import {
  INDEX_ID_COLUMN,
  type IndexRow,
  type Predicate,
  type RecordRow,
  type Shard,
  shardHealth,
} from '@waffle/core/adapter';
import { describe, expect, it, vi } from 'vitest';
import { Faults } from './faults.js';
import { type Post, post, shardPool } from './fixtures.js';
import { type ConformanceOptions, uniqueName } from './options.js';
import { bruteForce } from './oracle.js';
import { entityTable } from './shard-helpers.js';
import { flipped } from './suite-codecs.js';

/** An index row as `{ column: value }`, what a shard strategy reads (from public members only). */
function rowOf(index: { readonly columnNames: readonly string[] }, values: readonly unknown[]) {
  return Object.fromEntries(index.columnNames.map((name, i) => [name, values[i]])) as Record<string, any>;
}

const SHARDS = 3;
const REPLICAS = 2;
const TAGS = ['red', 'green', 'blue', 'cyan', 'gold'];

/** Every row of a table on one shard, read straight from it. */
async function recordsOn(shard: Shard, table: { kind: 'entity'; name: string }): Promise<RecordRow[]> {
  return shard.scanRecords(table, { limit: 100_000 });
}

/** Every index row on one shard, read straight from it, as comparable text. */
async function indexRowsOn(shard: Shard, index: Index<Post, any>): Promise<string[]> {
  const rows: IndexRow[] = await shard.queryIndex(index.table, {
    where: undefined,
    orderBy: [{ column: INDEX_ID_COLUMN, direction: 'asc' }],
    limit: 100_000,
  });
  return rows.map((row) => rowText(row.id, row.values)).sort();
}

function rowText(id: string, values: readonly unknown[]): string {
  return JSON.stringify([id, values], (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
}

/** A body as comparable text. */
function bodyText(body: string | Uint8Array): string {
  return typeof body === 'string' ? body : `bytes:${[...body].join(',')}`;
}

/**
 * Entities over replicas: records on 2 of 3 shards (`replicas: 2`), an index
 * by primary key over the same shards and one by column, both with 2
 * replicas, one of the three shards made unavailable (a {@link Faults}
 * wrapper whose every call fails as unavailable). Saves, updates and deletes
 * go on and every read succeeds while it is down; index queries and counts
 * equal brute force; after it is back, `drain()` (of another Entity object,
 * as in another process: the copies wait in durable notes) leaves every
 * replica of every record and of every index row equal, shard by shard.
 */
export function replicaSuite(options: ConformanceOptions): void {
  const open = shardPool(options);

  const setUp = async (mode: WriteMode, history: boolean) => {
    const faults = Array.from({ length: SHARDS }, () => new Faults());
    const raw = await open(SHARDS);
    const shards = raw.map((shard, i) => faults[i]!.wrap(shard));
    const names = {
      post: uniqueName('rpost'),
      byGroup: uniqueName('rby_group'),
      byTag: uniqueName('rby_tag'),
    };
    const make = () => {
      const byGroup = new Index<Post>(names.byGroup, {
        columns: { group: integer(), title: text() },
        shard: new ShardByPrimaryKey(shards, { replicas: REPLICAS }),
        mapper: (p: Doc<Post>) => [{ group: p.value.group, title: p.value.title }],
      });
      const byTag = new Index<Post>(names.byTag, {
        columns: { tag: text(), rank: integer() },
        shard: new ShardByColumn('tag', shards, { replicas: REPLICAS }),
        mapper: (p: Doc<Post>) => p.value.tags.map((tag) => ({ tag, rank: p.value.rank })),
      });
      const posts = new Entity<Post>(names.post, {
        shards: new ShardByPrimaryKey(shards, { replicas: REPLICAS }),
        indices: [byGroup, byTag],
        serializer: options.serializer,
        mode,
        history,
      });
      return { posts, byGroup, byTag };
    };
    return { faults, raw, shards, make };
  };

  describe('entities over replicas (replicas: 2 over 3 shards)', () => {
    for (const mode of ['sync', 'async'] as WriteMode[]) {
      it(`${mode}: writes and reads go on while one replica is down; drain() makes every replica equal`, async () => {
        const { faults, raw, make } = await setUp(mode, true);
        const { posts, byGroup, byTag } = make();
        await posts.create();
        const model = new Map<string, Post | undefined>();
        const live = new Map<string, Doc<Post>>();
        let n = 0;
        const next = (): Post =>
          post({
            title: `t${n}`,
            group: n % 4,
            rank: n % 7,
            tags: TAGS.filter((_, i) => (n + i) % 3 === 0),
            author: `a${n++}`,
          });
        const saveNew = async (count: number) => {
          const records = Array.from({ length: count }, () => posts.new(next()));
          await posts.saveMany(records);
          for (const r of records) {
            model.set(r.id, r.value);
            live.set(r.id, r);
          }
        };
        await saveNew(30);

        const checkReads = async () => {
          for (const [id, value] of model) {
            expect((await posts.get(id))?.value, `get ${id}`).toEqual(value);
          }
          const ids = [...model.keys()];
          expect((await posts.getMany(ids)).map((d) => d?.value)).toEqual(ids.map((id) => model.get(id)));
          const docs = [...live.values()];
          const queries: [Index<Post, any>, Predicate, string][] = [
            ...TAGS.map((tag): [Index<Post, any>, Predicate, string] => [byTag, byTag.c.tag.eq(tag), tag]),
            ...[0, 1, 2, 3].map((g): [Index<Post, any>, Predicate, string] => [
              byGroup,
              byGroup.c.group.eq(g),
              `${g}`,
            ]),
          ];
          for (const [index, where, label] of queries) {
            const expected = bruteForce(docs, index, where, []);
            expect(
              (await posts.select(where)).map((d) => d.id),
              `${index.name} ${label}`,
            ).toEqual(expected);
            expect(await posts.count(where), `count ${index.name} ${label}`).toBe(expected.length);
          }
          // Pages in another order, followed by their cursors.
          const where = byTag.c.rank.gte(2);
          const orderBy = [byTag.c.rank.desc()];
          const expected = bruteForce(docs, byTag, where, orderBy);
          const got: string[] = [];
          let after: string | undefined;
          do {
            const page = await posts.select(where, { orderBy, limit: 7, after }).page();
            got.push(...page.records.map((d) => d.id));
            after = page.next;
          } while (after);
          expect(got).toEqual(expected);
          const scanned: string[] = [];
          for await (const doc of posts.scan({ batchSize: 5 })) scanned.push(doc.id);
          expect(scanned.sort()).toEqual([...live.keys()].sort());
        };
        await checkReads();

        // Shard 1 goes down: it is the first replica of one range and the second of another.
        faults[1]!.arm({ failAt: 1, persistent: true });
        await saveNew(20);
        const updated = [...live.keys()].slice(0, 12);
        for (const id of updated) {
          const doc = await posts.update(id, (v) => ({
            ...v,
            title: `${v.title}!`,
            tags: [...v.tags, 'gold'].slice(-2),
          }));
          model.set(id, doc.value);
          live.set(id, doc);
        }
        for (const id of [...live.keys()].slice(12, 18)) {
          const doc = live.get(id)!;
          doc.value = { ...doc.value, group: doc.value.group + 1, rank: 6 };
          await posts.save(doc);
          model.set(id, doc.value);
        }
        for (const id of [...live.keys()].slice(18, 24)) {
          expect(await posts.delete(id)).toBe(true);
          model.set(id, undefined);
          live.delete(id);
        }
        await checkReads();
        const first = [...live.keys()][0]!;
        expect((await posts.history(first)).map((v) => v.value)).toContainEqual(model.get(first));
        expect(faults[1]!.failures).toBeGreaterThan(0);
        // The copies for shard 1 wait in notes: drain cannot deliver them yet.
        await expect(posts.drain()).rejects.toBeInstanceOf(ShardUnavailableError);

        // Back up: another Entity object (as another process) delivers what the notes hold.
        faults[1]!.disarm();
        const again = make();
        const report = await again.posts.drain();
        expect(report.notes).toBeGreaterThan(0);
        expect((await again.posts.status()).notes.every((s) => s.notes === 0)).toBe(true);

        // Every replica of every record (tombstones included) equal, and on no other shard.
        const strategy = posts.strategy;
        const table = entityTable(posts);
        const byShard = await Promise.all(raw.map((shard) => recordsOn(shard, table)));
        const seen = new Map<string, string[]>();
        byShard.forEach((rows, position) => {
          for (const row of rows) {
            expect(strategy.replicasOf!({ id: row.id }), `${row.id} on shard ${position}`).toContain(
              position,
            );
            expect(row.note ?? null, `note of ${row.id} on shard ${position}`).toBeNull();
            const text = `${row.version}|${row.updatedAt}|${row.codec}|${bodyText(row.body)}`;
            seen.set(row.id, [...(seen.get(row.id) ?? []), text]);
          }
        });
        expect([...seen.keys()].sort()).toEqual([...model.keys()].sort());
        for (const [id, copies] of seen) {
          expect(copies.length, `copies of ${id}`).toBe(REPLICAS);
          expect(new Set(copies).size, `copies of ${id}: ${copies.join(' / ')}`).toBe(1);
        }
        // Every index row on exactly the replicas of its bucket, and nothing else.
        for (const index of [byGroup, byTag]) {
          const expected: string[][] = raw.map(() => []);
          for (const doc of live.values()) {
            for (const values of index.rowsOf(doc)) {
              const row = rowOf(index, values);
              for (const p of index.strategy.replicasOf!({ id: doc.id, row })) {
                expected[p]!.push(rowText(doc.id, values));
              }
            }
          }
          for (const [position, shard] of raw.entries()) {
            expect(await indexRowsOn(shard, index), `${index.name} on shard ${position}`).toEqual(
              expected[position]!.sort(),
            );
          }
        }
        await checkReads();
        expect(await again.posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
        expect(await again.posts.verifyReplicas()).toMatchObject({
          records: model.size,
          missing: 0,
          stale: 0,
        });
      });
    }

    /** A new record of `posts` whose bucket's owner (first replica) is shard `owner`. */
    const ownedBy = (posts: Entity<Post>, owner: number, fields: Partial<Post> = {}) => {
      let record = posts.new(post(fields));
      while (posts.strategy.shardOf({ id: record.id }) !== owner) record = posts.new(post(fields));
      return record;
    };
    const storedOn = async (shard: Shard, posts: Entity<Post>, id: string) =>
      (await shard.getRecords(entityTable(posts), [id]))[0];

    it("consistency 'all' reads every replica, returns the newest and writes it back to stale ones", async () => {
      const { faults, raw, shards, make } = await setUp('sync', true);
      const { posts } = make();
      await posts.create();
      // Owned by shard 1 (replicas 1 and 2): written while shard 1 is down, they commit on shard 2 only.
      const records = [ownedBy(posts, 1, { title: 'a' }), ownedBy(posts, 1, { title: 'b' })];
      await posts.saveMany(records);
      faults[1]!.arm({ failAt: 1, persistent: true });
      for (const record of records) {
        record.value = { ...record.value, title: `${record.value.title}2` };
        await posts.save(record);
      }
      faults[1]!.disarm();
      shardHealth.reportSuccess(shards[1]!); // known up again: reads go to it first
      const [one, two] = records;
      // Shard 1 still holds version 1: a read of one replica sees it.
      expect(await posts.get(one!.id)).toMatchObject({ version: 1, value: { title: 'a' } });
      // So does an explicit 'one', the default.
      expect(await posts.get(one!.id, { consistency: 'one' })).toMatchObject({ version: 1 });
      expect((await posts.getMany([two!.id], { consistency: 'one' })).map((d) => d?.version)).toEqual([1]);
      expect(await posts.get(one!.id, { consistency: 'all' })).toMatchObject({
        version: 2,
        value: { title: 'a2' },
      });
      expect(await storedOn(raw[1]!, posts, one!.id)).toMatchObject({ version: 2, note: null });
      expect(await posts.get(one!.id)).toMatchObject({ version: 2 });
      expect(
        (await posts.getMany([two!.id, one!.id], { consistency: 'all' })).map((d) => d?.version),
      ).toEqual([2, 2]);
      expect(await storedOn(raw[1]!, posts, two!.id)).toMatchObject({ version: 2 });
      expect((await posts.history(two!.id)).map((v) => v.version)).toEqual([1, 2]);
      await posts.drain();
      expect(await posts.get('nothing-here', { consistency: 'all' })).toBeUndefined();
    });

    it('writeQuorum: copies awaited, QuorumError when a copy fails after the commit, all refused while a replica is known down', async () => {
      const { faults, raw, shards, make } = await setUp('async', false);
      const { posts } = make();
      await posts.create();
      // All up, async mode: a quorum of 2 waits for the copy.
      const both = ownedBy(posts, 0, { title: 'both' });
      await posts.save(both, { writeQuorum: 2 });
      expect(await storedOn(raw[1]!, posts, both.id)).toMatchObject({ version: 1 });
      // Shard 1 goes down unbeknown: the commit on shard 0 stands, the copy fails.
      faults[1]!.arm({ failAt: 1, persistent: true });
      const short = ownedBy(posts, 0, { title: 'short' });
      const error = await posts.save(short, { writeQuorum: 'all' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QuorumError);
      expect(error).toMatchObject({ id: short.id, replicas: 1, required: 2 });
      expect(short.version).toBe(1);
      expect((await posts.get(short.id))?.value.title).toBe('short');
      // Now known down: 'all' (and 2) refused before anything is written; 1 goes on.
      const refused = ownedBy(posts, 0, { title: 'refused' });
      await expect(posts.save(refused, { writeQuorum: 'all' })).rejects.toBeInstanceOf(ShardUnavailableError);
      await expect(posts.save(refused, { writeQuorum: 2 })).rejects.toThrow(/nothing was written/);
      expect(refused.version).toBe(0);
      expect(await storedOn(raw[0]!, posts, refused.id)).toBeUndefined();
      await posts.save(refused);
      expect(refused.version).toBe(1);
      faults[1]!.disarm();
      await posts.drain();
      for (const record of [short, refused]) {
        expect(await storedOn(raw[1]!, posts, record.id)).toMatchObject({ version: 1, note: null });
      }
      shardHealth.reportSuccess(shards[1]!);
      const quorate = new Entity<Post>(posts.name, {
        shards: posts.strategy,
        indices: posts.indices,
        serializer: options.serializer,
        writeQuorum: 'all',
      });
      const last = ownedBy(quorate, 2, { title: 'last' });
      await quorate.save(last, { mode: 'async' });
      expect(await storedOn(raw[0]!, posts, last.id)).toMatchObject({ version: 1 });
    });

    it("writeQuorum 'all' over three replicas: one copy of two failing leaves 2 holders of 3, a QuorumError", async () => {
      const { faults, raw, shards } = await setUp('async', false);
      const everywhere = new Entity<Post>(uniqueName('rall'), {
        shards: new ShardByPrimaryKey(shards, { replicas: SHARDS }),
        serializer: options.serializer,
        writeQuorum: 'all',
      });
      await everywhere.create();
      const all = ownedBy(everywhere, 0, { title: 'all' });
      await everywhere.save(all);
      for (const shard of raw)
        expect(await storedOn(shard, everywhere, all.id)).toMatchObject({ version: 1 });
      // Shard 2 goes down unbeknown: the commit on shard 0 and the copy on shard 1 stand, the copy on 2 fails.
      faults[2]!.arm({ failAt: 1, persistent: true });
      const two = ownedBy(everywhere, 0, { title: 'two of three' });
      const error = await everywhere.save(two).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QuorumError);
      expect(error).toMatchObject({ id: two.id, replicas: 2, required: 3 });
      expect(two.version).toBe(1);
      expect(await storedOn(raw[1]!, everywhere, two.id)).toMatchObject({ version: 1 });
      expect(await storedOn(raw[2]!, everywhere, two.id)).toBeUndefined();
      faults[2]!.disarm();
      shardHealth.reportSuccess(shards[2]!);
      await everywhere.drain();
      expect(await storedOn(raw[2]!, everywhere, two.id)).toMatchObject({ version: 1, note: null });
    });

    for (const mode of ['sync', 'async'] as WriteMode[]) {
      it(`${mode}: copies and index rows a down replica missed are handed off: delivered in the background once it is back, without drain()`, async () => {
        const { faults, raw, make } = await setUp(mode, false);
        const { posts, byGroup } = make();
        await posts.create();
        // Owned by shard 0 (replicas 0 and 1): the copies and the index rows for shard 1 fail.
        faults[1]!.arm({ failAt: 1, persistent: true });
        const records = [0, 1, 2].map((i) => ownedBy(posts, 0, { title: `h${i}`, group: 9 }));
        for (const record of records) await posts.save(record);
        for (const record of records) {
          expect(await storedOn(raw[0]!, posts, record.id)).toMatchObject({ version: 1 });
          expect(await storedOn(raw[1]!, posts, record.id)).toBeUndefined();
        }
        faults[1]!.disarm();
        // Nobody drains: the writer's own process delivers the hints after the breaker's back-off.
        await vi.waitFor(
          async () => {
            for (const record of records) {
              expect(await storedOn(raw[1]!, posts, record.id)).toMatchObject({ version: 1, note: null });
              expect(await storedOn(raw[0]!, posts, record.id)).toMatchObject({ note: null });
            }
          },
          { timeout: 15_000, interval: 100 },
        );
        expect((await posts.status()).notes.every((s) => s.notes === 0)).toBe(true);
        expect(await posts.verifyReplicas()).toMatchObject({ records: 3, missing: 0, stale: 0 });
        expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
        expect((await posts.select(byGroup.c.group.eq(9))).map((d) => d.id).sort()).toEqual(
          records.map((r) => r.id).sort(),
        );
      });
    }

    it('verifyReplicas finds missing and stale copies; repairReplicas mends them; progress, resume and signal', async () => {
      const { faults, raw, make } = await setUp('sync', true);
      const { posts } = make();
      await posts.create();
      const records = Array.from({ length: 30 }, (_, i) => posts.new(post({ title: `t${i}` })));
      await posts.saveMany(records);
      expect(await posts.verifyReplicas()).toMatchObject({ records: 30, missing: 0, stale: 0 });
      // While shard 1 is down, its copies of new, updated and deleted records wait in notes.
      faults[1]!.arm({ failAt: 1, persistent: true });
      const fresh = Array.from({ length: 6 }, (_, i) => posts.new(post({ title: `n${i}` })));
      await posts.saveMany(fresh);
      for (const record of records.slice(0, 10)) {
        record.value = { ...record.value, title: `${record.value.title}!` };
        await posts.save(record);
      }
      await posts.delete(records[10]!.id);
      faults[1]!.disarm();
      const onOne = (id: string) => posts.strategy.replicasOf!({ id }).includes(1);
      const missing = fresh
        .map((r) => r.id)
        .filter(onOne)
        .sort();
      const stale = records
        .slice(0, 11)
        .map((r) => r.id)
        .filter(onOne)
        .sort();
      expect(missing.length).toBeGreaterThan(0);
      expect(stale.length).toBeGreaterThan(0);
      const progress: ReplicaReport[] = [];
      const found = await posts.verifyReplicas({ batchSize: 4, onProgress: (p) => progress.push(p) });
      expect(found).toMatchObject({ records: 36, missing: missing.length, stale: stale.length });
      expect(found.samples).toEqual({ missing: missing.slice(0, 5), stale: stale.slice(0, 5) });
      const cursors = progress.map((p) => p.cursor!);
      expect(cursors.length).toBeGreaterThanOrEqual(9);
      expect([...cursors].sort()).toEqual(cursors);
      // Resumed after a cursor: only the later ids.
      const all = [...records, ...fresh].map((r) => r.id).sort();
      const rest = await posts.verifyReplicas({ after: cursors[3] });
      expect(rest.records).toBe(all.filter((id) => id > cursors[3]!).length);
      expect(rest.missing + rest.stale).toBe([...missing, ...stale].filter((id) => id > cursors[3]!).length);
      const stop = new AbortController();
      stop.abort();
      await expect(posts.verifyReplicas({ batchSize: 2, signal: stop.signal })).rejects.toThrow();
      // Repair copies the newest over the others; nothing left to find, before drain() even runs.
      const repaired = await posts.repairReplicas({ batchSize: 4 });
      expect(repaired).toMatchObject({ missing: missing.length, stale: stale.length });
      expect(await posts.verifyReplicas()).toMatchObject({ records: 36, missing: 0, stale: 0 });
      const updated = records.slice(0, 10).find((r) => onOne(r.id))!;
      expect(await storedOn(raw[1]!, posts, updated.id)).toMatchObject({ version: 2, note: null });
      await posts.drain();
      expect(await posts.verifyReplicas()).toMatchObject({ missing: 0, stale: 0 });
    });

    it('a process started while a replica is down writes (both modes), reads and queries with the others', async () => {
      const { faults, shards, make } = await setUp('sync', false);
      // Down means its metadata too: the first-use check of a fresh process meets it.
      let down = false;
      const readMeta = shards[1]!.readMeta.bind(shards[1]!);
      Object.assign(shards[1]!, {
        readMeta: (names: readonly string[]) =>
          down ? Promise.reject(new ShardUnavailableError('shard 1 is down (test)')) : readMeta(names),
      });
      const before = make();
      await before.posts.create();
      const docs = new Map<string, Doc<Post>>();
      const records = Array.from({ length: 20 }, (_, i) =>
        before.posts.new(post({ title: `t${i}`, tags: [TAGS[i % 3]!], rank: i % 4 })),
      );
      await before.posts.saveMany(records);
      for (const r of records) docs.set(r.id, r);
      down = true;
      faults[1]!.arm({ failAt: 1, persistent: true });
      const { posts, byTag } = make(); // another process: nothing checked yet
      for (const mode of ['sync', 'async'] as WriteMode[]) {
        const record = posts.new(post({ title: mode, tags: ['red'], rank: 1 }));
        await posts.save(record, { mode });
        docs.set(record.id, record);
      }
      const changed = await posts.update(records[0]!.id, (v) => ({ ...v, tags: ['red', 'cyan'] }));
      docs.set(changed.id, changed);
      expect(await posts.delete(records[1]!.id)).toBe(true);
      docs.delete(records[1]!.id);
      for (const [id, doc] of docs) expect((await posts.get(id))?.value, id).toEqual(doc.value);
      // drain() settles the background work of the async write, then fails on the shard that is down.
      await expect(posts.drain()).rejects.toBeInstanceOf(ShardUnavailableError);
      for (const tag of ['red', 'green', 'cyan']) {
        const where = byTag.c.tag.eq(tag);
        const expected = bruteForce([...docs.values()], byTag, where, []);
        expect(
          (await posts.select(where)).map((d) => d.id),
          tag,
        ).toEqual(expected);
        expect(await posts.count(where)).toBe(expected.length);
      }
      down = false;
      faults[1]!.disarm();
      await posts.drain();
      expect(await posts.verifyReplicas()).toMatchObject({ records: 22, missing: 0, stale: 0 });
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    });

    it('reencode rewrites every replica of every record', async () => {
      const raw = await open(SHARDS);
      const strategy = new ShardByPrimaryKey(raw, { replicas: REPLICAS });
      const name = uniqueName('rnotes');
      const old = new Entity<Post>(name, { shards: strategy, serializer: options.serializer });
      await old.create();
      const records = await old.saveMany(
        Array.from({ length: 10 }, (_, i) => old.new(post({ title: `t${i}` }))),
      );
      const after = flipped(options.serializer);
      const now = new Entity<Post>(name, {
        shards: strategy,
        serializer: after,
        readers: [options.serializer],
      });
      expect(await now.reencode({ batchSize: 3 })).toEqual({ scanned: 20, rewritten: 20, skipped: 0 });
      for (const shard of raw) {
        for (const row of await recordsOn(shard, entityTable(now))) expect(row.codec).toBe(after.codec);
      }
      expect(await now.verifyReplicas()).toMatchObject({ records: 10, missing: 0, stale: 0 });
      const only = new Entity<Post>(name, { shards: strategy, serializer: after });
      expect((await only.getMany(records.map((r) => r.id))).map((d) => d?.value)).toEqual(
        records.map((r) => r.value),
      );
    });

    it('a copy made while its index work failed carries that work, so the next write on that replica keeps it', async () => {
      const { faults, shards, make } = await setUp('sync', false);
      const { posts, byTag } = make();
      await posts.create();
      const record = ownedBy(posts, 0, { tags: [...TAGS] });
      await posts.save(record);
      const onTwo = TAGS.filter((tag) =>
        byTag.strategy.replicasOf!({ id: '', row: { tag, rank: 0 } }).includes(2),
      );
      expect(onTwo.length).toBeGreaterThan(0);
      // Shard 2 refuses index work: the removal of the old tag rows fails there; the copy to shard 1 is made.
      faults[2]!.arm({ failAt: 1, persistent: true, only: ['putIndexRows', 'deleteIndexRows'] });
      record.value = { ...record.value, tags: [] };
      await posts.save(record);
      // Shard 0 goes down: the next write reads and commits on shard 1.
      faults[0]!.arm({ failAt: 1, persistent: true });
      await posts.update(record.id, (v) => ({ ...v, title: 'three' }));
      // Shard 0 back, its version 2 (and note) overwritten by read repair with version 3.
      faults[0]!.disarm();
      shardHealth.reportSuccess(shards[0]!);
      expect(await posts.get(record.id, { consistency: 'all' })).toMatchObject({ version: 3 });
      faults[2]!.disarm();
      await posts.drain();
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
      for (const tag of onTwo) expect(await posts.select(byTag.c.tag.eq(tag))).toEqual([]);
    });

    it('sync refuses a write whose index row reaches no replica (nothing committed); async commits it to the note', async () => {
      const { faults, make } = await setUp('sync', false);
      const { posts, byTag } = make();
      await posts.create();
      // A tag whose bucket lives on shards 1 and 2, both refusing index work.
      const tag = ['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7'].find(
        (t) => byTag.strategy.shardOf({ id: '', row: { tag: t, rank: 0 } }) === 1,
      )!;
      for (const i of [1, 2]) faults[i]!.arm({ failAt: 1, persistent: true, only: ['putIndexRows'] });
      const refused = ownedBy(posts, 0, { tags: [tag] });
      await expect(posts.save(refused)).rejects.toBeInstanceOf(ShardUnavailableError);
      expect(refused.version).toBe(0);
      expect(await posts.get(refused.id)).toBeUndefined();
      const later = ownedBy(posts, 0, { tags: [tag] });
      await posts.save(later, { mode: 'async' });
      expect((await posts.get(later.id))?.version).toBe(1);
      for (const i of [1, 2]) faults[i]!.disarm();
      await posts.drain();
      expect((await posts.select(byTag.c.tag.eq(tag))).map((d) => d.id)).toEqual([later.id]);
    });

    it('verify and repair compare every index replica; backfill fills every replica', async () => {
      const { raw, make, shards } = await setUp('sync', false);
      const { posts, byTag } = make();
      await posts.create();
      const records = Array.from({ length: 40 }, (_, i) =>
        posts.new(post({ title: `t${i}`, tags: [TAGS[i % TAGS.length]!], rank: i % 3 })),
      );
      await posts.saveMany(records);
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
      // One replica loses a row; another gets a row of a record that does not exist, and a stale one.
      const victim = records[3]!;
      const [values] = byTag.rowsOf(victim);
      const [first, second] = byTag.strategy.replicasOf!({ id: victim.id, row: rowOf(byTag, values!) });
      await raw[first!]!.deleteIndexRows(byTag.table, [{ id: victim.id, values: values!, version: 100 }]);
      const ghost = posts.new(post({ tags: ['red'] })).id;
      await raw[second!]!.putIndexRows(byTag.table, [{ id: ghost, values: ['red', 0], version: 1 }]);
      const staleOf = records[5]!;
      await raw[0]!.putIndexRows(byTag.table, [{ id: staleOf.id, values: ['nowhere', 9], version: 1 }]);
      const found = await posts.verify(byTag);
      expect(found).toMatchObject({ missing: 1, orphaned: 1, stale: 1 });
      expect(found.indices[0]!.samples).toEqual({
        missing: [victim.id],
        orphaned: [ghost],
        stale: [staleOf.id],
      });
      await posts.repair(byTag, { graceMs: 0 });
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
      expect(await indexRowsOn(raw[first!]!, byTag)).toContain(rowText(victim.id, values!));

      // A new index over replicas, added to the entity holding records: backfill puts every row on every replica.
      const byRank = new Index<Post>(uniqueName('rby_rank'), {
        columns: { rank: integer() },
        shard: new ShardByColumn('rank', shards, { replicas: REPLICAS }),
        mapper: (p: Doc<Post>) => [{ rank: p.value.rank }],
      });
      const wider = new Entity<Post>(posts.name, {
        shards: posts.strategy,
        indices: [...posts.indices, byRank],
        serializer: options.serializer,
      });
      await wider.create();
      await wider.backfill(byRank, { batchSize: 7 });
      expect(await wider.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
      let total = 0;
      for (const shard of raw) total += (await indexRowsOn(shard, byRank)).length;
      expect(total).toBe(records.length * REPLICAS);
      expect((await wider.select(byRank.c.rank.eq(1))).map((d) => d.id)).toEqual(
        bruteForce(records, byRank, byRank.c.rank.eq(1), []),
      );
    });

    it('a read falls over to the next replica, and a write commits there, when the first fails as unavailable', async () => {
      const { faults, make } = await setUp('sync', false);
      const { posts } = make();
      await posts.create();
      // A record whose first replica is shard 2 (its bucket's owner).
      let record = posts.new(post({ title: 'x' }));
      while (posts.strategy.shardOf({ id: record.id }) !== 2) record = posts.new(post({ title: 'x' }));
      await posts.save(record);
      faults[2]!.arm({ failAt: 1, persistent: true });
      expect((await posts.get(record.id))?.value.title).toBe('x');
      record.value = { ...record.value, title: 'y' };
      await posts.save(record);
      expect(record.version).toBe(2);
      expect((await posts.get(record.id))?.value.title).toBe('y');
      faults[2]!.disarm();
      await posts.drain();
      const [stored] = await posts.strategy.shards[2]!.getRecords(entityTable(posts), [record.id]);
      expect(stored?.version).toBe(2);
    });
  });
}
