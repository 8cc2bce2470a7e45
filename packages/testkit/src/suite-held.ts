import {
  ConflictError,
  type Doc,
  Entity,
  type EntityOptions,
  ImportError,
  Index,
  integer,
  type Shard,
  ShardByColumn,
  ShardByPrimaryKey,
  ShardUnavailableError,
  text,
} from '@waffle/core';
import { shardHealth } from '@waffle/core/adapter';
import { describe, expect, it } from 'vitest';
import { expectRowsOf, storedRowsOf } from './convergence.js';
import { Faults } from './faults.js';
import { blog, lineOf, type Post, post, shardPool } from './fixtures.js';
import { type ConformanceOptions, uniqueName } from './options.js';
import { bruteForce } from './oracle.js';
import { commitVersion, entityTable } from './shard-helpers.js';
import { wrapShard } from './wrap.js';

/** Which call to hold: an operation's name and its arguments. */
type Which = (operation: string, args: readonly unknown[]) => boolean;

/**
 * Holds one call of the shards it wraps: once armed, the first call that
 * `which` picks waits (before it reaches the database) until `release()`;
 * `reached` resolves when it has arrived. Every other call goes through.
 */
class Hold {
  #which: Which | undefined;
  #release: () => void = () => {};
  #released: Promise<void> = Promise.resolve();
  #reach: () => void = () => {};
  /** Resolves once the held call has arrived. */
  reached: Promise<void> = Promise.resolve();

  arm(which: Which): void {
    this.#which = which;
    this.#released = new Promise((resolve) => {
      this.#release = resolve;
    });
    this.reached = new Promise((resolve) => {
      this.#reach = resolve;
    });
  }

  release(): void {
    this.#which = undefined;
    this.#release();
  }

  wrap(shard: Shard): Shard {
    return wrapShard(shard, (operation, run) => async (...args) => {
      if (this.#which?.(operation, args)) {
        this.#which = undefined;
        const released = this.#released;
        this.#reach();
        await released;
      }
      return run(...args);
    });
  }
}

/** The expected versions of a commit's writes (`Shard.commit`'s argument). */
function expectedOf(args: readonly unknown[]): unknown[] {
  const request = args[0] as { writes?: { expected: unknown }[] } | undefined;
  return (request?.writes ?? []).map((w) => w.expected);
}

/**
 * One step of a write held while another operation runs: the interleavings
 * a mutation run showed no other test reaches (issue 13, item 7). Each test
 * fails with the mutant it names (see RELIABILITY.md).
 */
export function heldStepSuite(options: ConformanceOptions): void {
  const open = shardPool(options);

  describe('a step of a write held while another operation runs', () => {
    // Mutant: read-repair deletes every index row of a deleted record, whatever its tag.
    it('a query meeting the rows of a re-insert over a tombstone before its commit leaves them: the record is found once committed', async () => {
      const hold = new Hold();
      const shards = (await open(1)).map((s) => hold.wrap(s));
      const tagShards = await open(2);
      const { posts, byTag } = blog(options, shards, tagShards, undefined, { readRepair: true });
      await posts.create();
      const tagged = async (tag: string) => (await posts.select(byTag.c.tag.eq(tag))).map((r) => r.id);
      const first = await posts.save(posts.new(post({ tags: ['a'] })));
      expect(await posts.delete(first.id)).toBe(true);
      const [tombstone] = await shards[0]!.getRecords(entityTable(posts), [first.id]);
      expect(tombstone?.version).toBe(2);
      // The insert of the id finds the tombstone, puts its rows at version 3, then commits over it: held.
      hold.arm((operation, args) => operation === 'commit' && expectedOf(args).includes(2));
      const saving = posts.save(posts.new(post({ tags: ['b'] }), { id: first.id }));
      await hold.reached;
      expect((await storedRowsOf(byTag, first.id)).map((r) => [r.values, r.version])).toEqual([
        [['b', 0], 3],
      ]);
      // A query meets the row: its record is still the tombstone (version 2), so no answer, and the
      // row, tagged above the tombstone, is a write in flight: read-repair leaves it.
      expect(await tagged('b')).toEqual([]);
      expect((await storedRowsOf(byTag, first.id)).map((r) => r.version)).toEqual([3]);
      hold.release();
      expect((await saving).version).toBe(3);
      expect(await tagged('b')).toEqual([first.id]);
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    });

    // Mutant: finish() of a note that a newer write overtook skips removing the rows it added.
    for (const alone of [false, true]) {
      it(`an async write overtaken by a sync write before its background finish: the rows it adds late are removed again${alone ? ' (its only index on other shards)' : ''}`, async () => {
        const hold = new Hold();
        const shards = await open(1);
        const tagShards = await open(2);
        const names = { post: uniqueName('post'), byTag: uniqueName('by_tag') };
        // The blog (an index beside the records, one on the tag shards), or an entity whose only index
        // is on the tag shards (every index of its notes has rows to add).
        const make = (tags: Shard[], extra: Pick<EntityOptions<Post>, 'mode'>) => {
          if (!alone) {
            const { posts, byTag } = blog(
              options,
              shards,
              tags,
              { ...names, byGroup: `${names.post}_g` },
              {
                readRepair: false,
                ...extra,
              },
            );
            return { posts, byTag };
          }
          const byTag = new Index(names.byTag, {
            columns: { tag: text(), rank: integer() },
            shard: new ShardByColumn('tag', tags),
            mapper: (d: Doc<Post>) => d.value.tags.map((tag) => ({ tag, rank: d.value.rank })),
          });
          const posts = new Entity<Post>(names.post, {
            shards,
            indices: [byTag],
            serializer: options.serializer,
            readRepair: false,
            ...extra,
          });
          return { posts, byTag };
        };
        const { posts, byTag } = make(tagShards, {});
        await posts.create();
        const record = await posts.save(posts.new(post({ tags: ['a'] })));
        // The same entity in async mode, whose tag shards hold its first index call.
        const later = make(
          tagShards.map((s) => hold.wrap(s)),
          { mode: 'async' },
        );
        hold.arm((operation) => operation === 'putIndexRows');
        const v2 = (await later.posts.get(record.id))!;
        v2.value = post({ tags: ['b'] });
        await later.posts.save(v2); // committed with its note; the background finish waits to put 'b'
        await hold.reached;
        expect(v2.version).toBe(2);
        // A sync write overtakes it: it takes over the note (removes 'a' and 'b', adds 'c') and completes.
        const v3 = await posts.update(record.id, (value) => ({ ...value, tags: ['c'] }));
        expect(v3.version).toBe(3);
        const rowsOf = async () => (await storedRowsOf(byTag, record.id)).map((r) => [r.values, r.version]);
        expect(await rowsOf()).toEqual([[['c', 0], 3]]);
        // Now the overtaken finish puts 'b' at version 2, finds its note gone, and must delete it again.
        hold.release();
        expect(await later.posts.drain()).toEqual({ notes: 0, finished: 0 });
        expect(await rowsOf()).toEqual([[['c', 0], 3]]);
        await expectRowsOf(posts, byTag, record.id, true);
        expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
      });
    }

    // Found by the model suite on MariaDB: a background finish whose note a drain() cleared first, then a
    // write made version 2 (which had no reason to put the row again), took its rows for a late put
    // overtaken by that write, and deleted them: the record lost its index row.
    it('two finishers of one note: the one that finds it cleared by the other and the record moved on keeps the rows the new version produces', async () => {
      const hold = new Hold();
      const shards = await open(1);
      const tagShards = await open(2);
      const names = {
        post: uniqueName('post'),
        byGroup: uniqueName('by_group'),
        byTag: uniqueName('by_tag'),
      };
      const { posts, byTag } = blog(options, shards, tagShards, names, { readRepair: false });
      // The same entity in async mode over held record shards: another process.
      const later = blog(
        options,
        shards.map((s) => hold.wrap(s)),
        tagShards,
        names,
        { readRepair: false, mode: 'async' },
      );
      await posts.create();
      hold.arm((operation) => operation === 'clearNotes');
      const record = await later.posts.save(later.posts.new(post({ tags: ['a', 'b'] })));
      await hold.reached; // its background finish has put 'a' and 'b' and waits to clear the note
      const rowsOf = async () =>
        (await storedRowsOf(byTag, record.id)).map((r) => [r.values[0], r.version]).sort();
      expect(await rowsOf()).toEqual([
        ['a', 1],
        ['b', 1],
      ]);
      // This process's drain() finishes the note first; then a write keeps 'a', drops 'b' (version 2).
      expect(await posts.drain()).toEqual({ notes: 1, finished: 1 });
      const moved = await posts.update(record.id, (value) => ({ ...value, title: 'moved', tags: ['a'] }));
      expect(moved.version).toBe(2);
      expect(await rowsOf()).toEqual([['a', 1]]);
      // The held finish finds the record moved on: of its rows, it deletes only those version 2 does not produce.
      hold.release();
      expect(await later.posts.drain()).toEqual({ notes: 0, finished: 0 });
      expect(await rowsOf()).toEqual([['a', 1]]);
      expect((await posts.select(byTag.c.tag.eq('a'))).map((r) => r.id)).toEqual([record.id]);
      await expectRowsOf(posts, byTag, record.id, true);
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    });

    // Mutant: drain() stops after its first page of notes.
    it('drain() reads the notes page after page: three notes with batchSize 1 are all finished', async () => {
      const faults = new Faults();
      const shards = await open(1);
      const tagShards = (await open(2)).map((s) => faults.wrap(s));
      const { posts } = blog(options, shards, tagShards, undefined, { readRepair: false });
      await posts.create();
      const records = await posts.saveMany([0, 1, 2].map((i) => posts.new(post({ tags: [`t${i}`] }))));
      faults.arm({ failAt: 1, persistent: true, only: ['deleteIndexRows'] });
      for (const record of records) {
        record.value = post({ tags: ['moved'] });
        await posts.save(record); // committed; its old row stays in its note
      }
      faults.disarm();
      expect(await posts.verify()).toMatchObject({ missing: 0, stale: 3 });
      expect(await posts.drain({ batchSize: 1 })).toEqual({ notes: 3, finished: 3 });
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    });
  });

  describe('a delete whose record changes between its read and its commit', () => {
    // Mutants: delete() gives up (throws the conflict) instead of reading the record again.
    it('reads the record again and deletes the newer version; with expectedVersion, it is a ConflictError', async () => {
      const hold = new Hold();
      const shards = (await open(1)).map((s) => hold.wrap(s));
      const { posts } = blog(options, shards, shards, undefined, { readRepair: false });
      await posts.create();
      const record = await posts.save(posts.new(post({ tags: ['a'] })));
      // The delete has read version 1; its commit is held while a save makes version 2.
      hold.arm((operation) => operation === 'commit');
      const deleting = posts.delete(record.id);
      await hold.reached;
      const moved = await posts.update(record.id, (value) => ({ ...value, tags: ['b'] }));
      expect(moved.version).toBe(2);
      hold.release();
      expect(await deleting).toBe(true);
      expect(await posts.get(record.id)).toBeUndefined();
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
      // Demanding the version it read, the same race is the caller's to settle.
      const again = await posts.save(posts.new(post({ tags: ['c'] })));
      hold.arm((operation) => operation === 'commit');
      const demanding = posts.delete(again.id, { expectedVersion: 1 }).catch((e) => e);
      await hold.reached;
      await posts.update(again.id, (value) => ({ ...value, tags: ['d'] }));
      hold.release();
      const conflict = await demanding;
      expect(ConflictError.is(conflict), String(conflict)).toBe(true);
      expect((await posts.get(again.id))?.version).toBe(2);
    });
  });

  describe('an import whose commit is held while a writer changes the id', () => {
    // Mutants: import's handling of a conflict met at its commit (it had read no record, or a live one).
    it('skip counts the id skipped, fail refuses it with an ImportError, replace writes over the new version, and over a deletion after it', async () => {
      const hold = new Hold();
      const shards = (await open(1)).map((s) => hold.wrap(s));
      const { posts, byTag } = blog(options, shards, await open(2), undefined, { readRepair: false });
      await posts.create();
      /** Imports `id` with onConflict `how`, a writer saving it (tag 'w') while the import's commit is held. */
      const race = async (id: string, how: 'skip' | 'fail' | 'replace', writer: () => Promise<unknown>) => {
        hold.arm((operation) => operation === 'commit');
        const importing = posts
          .import([lineOf(id, 1, post({ tags: ['i'] }))], { onConflict: how })
          .catch((e) => e);
        await hold.reached;
        await writer();
        hold.release();
        return importing;
      };
      const tagged = async (tag: string) => (await posts.select(byTag.c.tag.eq(tag))).map((r) => r.id).sort();
      const save = (id: string) => () => posts.save(posts.new(post({ tags: ['w'] }), { id }));

      expect(await race('s', 'skip', save('s'))).toEqual({ lines: 1, imported: 0, skipped: 1, replaced: 0 });
      expect(await posts.get('s')).toMatchObject({ version: 1, value: { tags: ['w'] } });

      const refused = await race('f', 'fail', save('f'));
      expect(refused).toBeInstanceOf(ImportError);
      expect((refused as ImportError).line).toBe(1);
      expect((refused as Error).message).toBe(
        'line 1: record "f" exists (version 1); onConflict is "fail" (pass "skip" or "replace" to import over stored records)',
      );
      expect(ConflictError.is((refused as Error).cause)).toBe(true);
      expect(await posts.get('f')).toMatchObject({ version: 1, value: { tags: ['w'] } });

      expect(await race('r', 'replace', save('r'))).toEqual({
        lines: 1,
        imported: 0,
        skipped: 0,
        replaced: 1,
      });
      expect(await posts.get('r')).toMatchObject({ version: 2, value: { tags: ['i'] } });

      // Read live, deleted before the commit: written after the tombstone, and counted as the record
      // it read replaced.
      await posts.save(posts.new(post({ tags: ['w'] }), { id: 'd' }));
      expect(await race('d', 'replace', () => posts.delete('d'))).toEqual({
        lines: 1,
        imported: 0,
        skipped: 0,
        replaced: 1,
      });
      expect(await posts.get('d')).toMatchObject({ version: 3, value: { tags: ['i'] } });

      expect(await tagged('w')).toEqual(['f', 's']);
      expect(await tagged('i')).toEqual(['d', 'r']);
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    });
  });

  describe('an import that keeps losing its compare-and-set to a writer', () => {
    // Mutants: the retry limit of import (RETRIES, attempt >= RETRIES, the conflict it throws at the end).
    it('tries again five times, then refuses the line with an ImportError whose cause is the last ConflictError', async () => {
      const hold = new Hold();
      const shards = (await open(1)).map((s) => hold.wrap(s));
      const { posts } = blog(options, shards, shards, undefined, { readRepair: false });
      await posts.create();
      /** Imports `id` over its stored record while a writer updates it before each of the import's first `races` commits. */
      const race = async (id: string, races: number) => {
        await posts.save(posts.new(post({ tags: ['w'] }), { id }));
        let importing: Promise<unknown> | undefined;
        for (let i = 0; i < races; i++) {
          hold.arm((operation) => operation === 'commit');
          importing ??= posts
            .import([lineOf(id, 1, post({ tags: ['i'] }))], { onConflict: 'replace' })
            .catch((e) => e);
          await hold.reached;
          await posts.update(id, (value) => ({ ...value, rank: i }));
          hold.release();
        }
        return importing;
      };
      // Five lost races: the sixth try commits, over the writer's version 6.
      expect(await race('five', 5)).toEqual({ lines: 1, imported: 0, skipped: 0, replaced: 1 });
      expect(await posts.get('five')).toMatchObject({ version: 7, value: { tags: ['i'] } });
      // Six: the import gives up on the line, with the conflict of its last try as the cause; the
      // writer's record stays.
      const failed = await race('six', 6);
      expect(failed).toBeInstanceOf(ImportError);
      expect((failed as ImportError).line).toBe(1);
      expect((failed as Error).message).toBe(
        'line 1: record "six" was changed by another writer before each of the 6 tries to write it (the last expected version 6, found version 7)',
      );
      expect(ConflictError.is((failed as Error).cause)).toBe(true);
      expect((failed as Error).cause).toMatchObject({ id: 'six', currentVersion: 7 });
      expect(await posts.get('six')).toMatchObject({ version: 7, value: { tags: ['w'], rank: 5 } });
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    });
  });

  describe('an import whose write fails with a database error', () => {
    // Mutants: import's handling of a write that fails with an error other than a conflict.
    it('throws the error as it is, keeps the batches written before it, and imports the rest when run again', async () => {
      const faults = new Faults();
      const shards = (await open(1)).map((s) => faults.wrap(s));
      const { posts } = blog(options, shards, shards, undefined, { readRepair: false });
      await posts.create();
      const lines = Array.from({ length: 6 }, (_, i) =>
        lineOf(`imp-${i}`, 1, post({ tags: ['i'], rank: i })),
      );
      // Batches of 3: the first three lines are stored already (skipped, nothing to commit), the
      // commit of the second batch fails, as a server that went away would.
      const first = await posts.import(lines.slice(0, 3), { batchSize: 3 });
      expect(first).toEqual({ lines: 3, imported: 3, skipped: 0, replaced: 0 });
      faults.arm({ failAt: 1, only: ['commit'] });
      const failed = await posts.import(lines, { batchSize: 3, onConflict: 'skip' }).catch((e) => e);
      expect(failed).toBeInstanceOf(ShardUnavailableError);
      expect((failed as Error).message).toMatch(/^Injected fault at call 1 \(commit on /);
      for (let i = 0; i < 6; i++) {
        expect((await posts.get(`imp-${i}`))?.version, `imp-${i}`).toBe(i < 3 ? 1 : undefined);
      }
      faults.disarm();
      expect(await posts.import(lines, { batchSize: 3, onConflict: 'skip' })).toEqual({
        lines: 6,
        imported: 3,
        skipped: 3,
        replaced: 0,
      });
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    });
  });

  describe('a step of repair() held while a writer moves the record on', () => {
    /** The blog over held record shards, a record saved with tag 'a', and helpers to write as a writer would. */
    const setup = async () => {
      const hold = new Hold();
      const shards = (await open(1)).map((s) => hold.wrap(s));
      const tagShards = (await open(2)).map((s) => hold.wrap(s));
      const { posts, byTag } = blog(options, shards, tagShards, undefined, { readRepair: false });
      await posts.create();
      const record = await posts.save(posts.new(post({ tags: ['a'] })));
      const tagShard = (tag: string) =>
        byTag.strategy.shards[byTag.strategy.shardOf({ id: record.id, row: { tag, rank: 0 } })]!;
      const put = (tag: string, version: number) =>
        tagShard(tag).putIndexRows(byTag.table, [{ id: record.id, values: [tag, 0], version }]);
      const remove = (tag: string, version: number) =>
        tagShard(tag).deleteIndexRows(byTag.table, [{ id: record.id, values: [tag, 0], version }]);
      // A writer's commit of version `version` with `tags`, straight to the record's shard.
      const commit = async (tags: string[], version: number) => {
        expect(
          await commitVersion(posts, options.serializer, record, { ...record.value, tags }, version),
        ).toEqual([true]);
      };
      const rowsOf = async () =>
        (await storedRowsOf(byTag, record.id)).map((r) => [r.values[0], r.version]).sort();
      return { hold, posts, byTag, record, put, remove, commit, rowsOf };
    };

    // Mutant: the re-check of a suspect keeps a row that the version committed meanwhile does not produce.
    it('a row tagged above its record is read again after the pass: a version committed meanwhile that does not produce it has it deleted', async () => {
      const { hold, posts, byTag, put, remove, commit, rowsOf } = await setup();
      // A writer moving the record to 'b' has put its row, tagged 2, and not committed yet.
      await put('b', 2);
      // The repair's pass sees the row above version 1 (a suspect); its re-check reads the record: held.
      hold.arm((operation) => operation === 'getRecords');
      const repairing = posts.repair(byTag, { graceMs: 0 });
      await hold.reached;
      // Meanwhile the writer commits 2 ('b'), and another commits 3 ('c'): it puts 'c', removes 'a', then
      // dies before removing 'b'.
      await commit(['b'], 2);
      await put('c', 3);
      await commit(['c'], 3);
      await remove('a', 3);
      expect(await rowsOf()).toEqual([
        ['b', 2],
        ['c', 3],
      ]);
      hold.release();
      await repairing;
      // Read again, the record is at 3, which does not produce 'b' (tagged 2): the re-check deletes it.
      expect(await rowsOf()).toEqual([['c', 3]]);
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    });

    // Mutants: repair keeps (or drops) the rows it wrote for a record that a writer moved on meanwhile.
    it('a row repair puts for a record that a writer moves on before the put lands is withdrawn, and one still produced stays', async () => {
      const { hold, posts, byTag, record, remove, commit, rowsOf } = await setup();
      await remove('a', 2); // lost: the record (version 1, 'a') misses its row
      expect(await rowsOf()).toEqual([]);
      // The repair reads version 1 and puts 'a' tagged 1: held before it lands.
      hold.arm((operation) => operation === 'putIndexRows');
      const repairing = posts.repair(byTag, { graceMs: 0 });
      await hold.reached;
      // A writer moves the record to 'c' and completes (its removal of 'a' finds nothing yet).
      await commit(['c'], 2);
      expect(await posts.repair(byTag, { graceMs: 0 })).toMatchObject({ missing: 1 }); // puts 'c' for it
      expect(await rowsOf()).toEqual([['c', 2]]);
      hold.release();
      await repairing;
      // The 'a' put late is read again against version 2, which does not produce it: withdrawn.
      expect(await rowsOf()).toEqual([['c', 2]]);
      expect(await posts.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
      // A row put late that the new version still produces stays.
      await remove('c', 3);
      hold.arm((operation) => operation === 'putIndexRows');
      const again = posts.repair(byTag, { graceMs: 0 });
      await hold.reached;
      await commit(['c'], 3); // the same tag, a new version
      hold.release();
      await again;
      expect(await rowsOf()).toEqual([['c', 2]]);
      expect((await posts.select(byTag.c.tag.eq('c'))).map((r) => r.id)).toEqual([record.id]);
    });
  });

  describe('read-repair at the version boundary', () => {
    it('removes rows tagged with the stored version that it does not produce (a tombstone, a live record); leaves rows tagged above it', async () => {
      const shards = await open(1);
      const tagShards = await open(2);
      const { posts, byTag } = blog(options, shards, tagShards, undefined, { readRepair: true });
      await posts.create();
      const tagged = async (tag: string) => (await posts.select(byTag.c.tag.eq(tag))).map((r) => r.id);
      const rowsOf = async (id: string) =>
        (await storedRowsOf(byTag, id)).map((r) => [r.values[0], r.version]).sort();
      const kept = await posts.save(posts.new(post({ tags: ['a'] })));
      kept.value = post({ tags: ['b'] });
      await posts.save(kept); // version 2, rows: 'b'
      const gone = await posts.save(posts.new(post({ tags: ['a'] })));
      expect(await posts.delete(gone.id)).toBe(true); // a tombstone at version 2
      // Rows that a sync writer at version 2 put for 'a' before it lost its compare-and-set and died.
      const put = async (id: string, tag: string, version: number) => {
        const shard = byTag.strategy.shards[byTag.strategy.shardOf({ id, row: { tag, rank: 0 } })]!;
        await shard.putIndexRows(byTag.table, [{ id, values: [tag, 0], version }]);
      };
      await put(kept.id, 'a', 2);
      await put(gone.id, 'a', 2);
      expect(await tagged('a')).toEqual([]);
      expect(await rowsOf(kept.id)).toEqual([['b', 2]]);
      expect(await rowsOf(gone.id)).toEqual([]);
      // Tagged above the stored version: a write in flight, which read-repair leaves.
      await put(kept.id, 'a', 3);
      await put(gone.id, 'a', 3);
      expect(await tagged('a')).toEqual([]);
      expect(await rowsOf(kept.id)).toEqual([
        ['a', 3],
        ['b', 2],
      ]);
      expect(await rowsOf(gone.id)).toEqual([['a', 3]]);
    });

    // Mutant: read-repair runs with readRepair off.
    it('with readRepair off, a query meeting a stale row leaves it; repair() removes it', async () => {
      const shards = await open(1);
      const tagShards = await open(2);
      const { posts, byTag } = blog(options, shards, tagShards, undefined, { readRepair: false });
      await posts.create();
      const record = await posts.save(posts.new(post({ tags: ['b'] })));
      const shard =
        byTag.strategy.shards[byTag.strategy.shardOf({ id: record.id, row: { tag: 'a', rank: 0 } })]!;
      await shard.putIndexRows(byTag.table, [{ id: record.id, values: ['a', 0], version: 1 }]);
      const rowsOf = async () =>
        (await storedRowsOf(byTag, record.id)).map((r) => [r.values[0], r.version]).sort();
      expect((await posts.select(byTag.c.tag.eq('a'))).map((r) => r.id)).toEqual([]);
      expect(await rowsOf()).toEqual([
        ['a', 1],
        ['b', 1],
      ]);
      await posts.repair(byTag);
      expect(await rowsOf()).toEqual([['b', 1]]);
    });
  });

  describe('over replicas: the paths a mutation run found untested', () => {
    const TAGS = ['red', 'green', 'blue', 'cyan', 'gold'];
    const tagIndex = (name: string, strategy: ConstructorParameters<typeof Index<Post>>[1]['shard']) =>
      new Index<Post>(name, {
        columns: { tag: text(), rank: integer() },
        shard: strategy,
        mapper: (d: Doc<Post>) => d.value.tags.map((tag) => ({ tag, rank: d.value.rank })),
      });
    const wrapped = async () => {
      const faults = Array.from({ length: 3 }, () => new Faults());
      const shards = (await open(3)).map((s, i) => faults[i]!.wrap(s));
      return { faults, shards };
    };
    const reset = (shards: readonly Shard[]) => {
      for (const s of shards) shardHealth.reportSuccess(s);
    };
    /** Posts over `shards` with 2 replicas, a by-tag index over them with 2 replicas too, and `count` posts saved. */
    const postsByTag = async (shards: readonly Shard[], count: number) => {
      const byTag = tagIndex(uniqueName('rby_tag'), new ShardByColumn('tag', shards, { replicas: 2 }));
      const posts = new Entity<Post>(uniqueName('rpost'), {
        shards: new ShardByPrimaryKey(shards, { replicas: 2 }),
        indices: [byTag],
        serializer: options.serializer,
      });
      await posts.create();
      const records = await posts.saveMany(
        Array.from({ length: count }, (_, i) => posts.new(post({ tags: [TAGS[i % TAGS.length]!], rank: i }))),
      );
      return { posts, byTag, records };
    };

    it('a replica that fails a query read as unavailable: its ranges are read on the other replicas, the answer complete', async () => {
      const { faults, shards } = await wrapped();
      const { posts, byTag, records } = await postsByTag(shards, 24);
      const where = byTag.c.rank.gte(0);
      const orderBy = [byTag.c.rank.desc()];
      const expected = bruteForce(records, byTag, where, orderBy);
      expect(expected).toHaveLength(24);
      let failed = 0;
      try {
        for (const f of faults) {
          // The next index read of this shard fails as unavailable (its breaker still closed).
          f.arm({ failAt: 1, only: ['queryIndex'] });
          expect((await posts.select(where, { orderBy })).map((r) => r.id)).toEqual(expected);
          expect(await posts.count(where)).toBe(24);
          failed += f.failures;
          f.disarm();
          reset(shards);
        }
      } finally {
        reset(shards);
      }
      expect(failed).toBeGreaterThan(0); // some read failed and was made on the other replicas
    });

    // Mutants: the fallback reads a range elsewhere only when its replica is unavailable, never to hide another error.
    it('a replica read failing with an error other than unavailability fails the query, not read on the other replicas', async () => {
      const refused = new Error('refused by the test');
      let armed = false;
      const shards = (await open(3)).map((s, i) =>
        i === 1
          ? wrapShard(
              s,
              (operation, run) =>
                (...args) =>
                  operation === 'queryIndex' && armed ? Promise.reject(refused) : run(...args),
            )
          : s,
      );
      const { posts, byTag } = await postsByTag(shards, 12);
      const where = byTag.c.rank.gte(0);
      expect(await posts.count(where)).toBe(12);
      armed = true;
      try {
        await expect(posts.select(where)).rejects.toBe(refused);
        expect(shardHealth.isUp(shards[1]!)).toBe(true); // a statement's error says nothing of the shard's health
      } finally {
        armed = false;
        reset(shards);
      }
      expect(await posts.select(where)).toHaveLength(12);
    });

    // Mutants: putRows over replicas takes every failed put for a replica that missed it (into the note).
    it('a sync write whose index put fails on a replica with an error other than unavailability fails as with one replica, committing nothing', async () => {
      const refused = new Error('refused by the test');
      const records = await open(2);
      const shards = (await open(3)).map((s, i) =>
        i === 1
          ? wrapShard(s, (operation, run) =>
              operation === 'putIndexRows' ? () => Promise.reject(refused) : (...args) => run(...args),
            )
          : s,
      );
      const posts = new Entity<Post>(uniqueName('rpost'), {
        shards: records,
        indices: [tagIndex(uniqueName('rby_tag'), new ShardByColumn('tag', shards, { replicas: 2 }))],
        serializer: options.serializer,
      });
      await posts.create();
      // Five tags over three shards, two replicas each: some row goes to shard 1.
      const record = posts.new(post({ tags: TAGS }));
      await expect(posts.save(record)).rejects.toBe(refused);
      expect(await posts.get(record.id)).toBeUndefined();
      expect(record.version).toBe(0);
      expect(await posts.drain()).toEqual({ notes: 0, finished: 0 });
    });

    it('a copy that fails while the index work succeeds keeps the note: drain() delivers it once the replica is back', async () => {
      const { faults, shards } = await wrapped();
      const tagShards = await open(2); // the index elsewhere, never failing
      const posts = new Entity<Post>(uniqueName('rpost'), {
        shards: new ShardByPrimaryKey(shards, { replicas: 2 }),
        indices: [tagIndex(uniqueName('by_tag'), new ShardByColumn('tag', tagShards))],
        serializer: options.serializer,
        onIndexError: () => {},
      });
      await posts.create();
      try {
        faults[2]!.arm({ failAt: 1, persistent: true, only: ['commit'] });
        for (let i = 0; i < 6; i++) {
          await posts.save(posts.new(post({ tags: [TAGS[i % TAGS.length]!] }), { id: `copy-${i}` }));
        }
        expect(faults[2]!.failures).toBeGreaterThan(0); // copies (or first commits) refused by shard 2
        faults[2]!.disarm();
        reset(shards);
        await posts.drain();
        expect(await posts.verifyReplicas()).toMatchObject({ records: 6, missing: 0, stale: 0 });
      } finally {
        reset(shards);
      }
    });
  });
}
