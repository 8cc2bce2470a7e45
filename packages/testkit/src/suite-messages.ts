import {
  ConflictError,
  type Doc,
  Entity,
  Index,
  type Shard,
  ShardByColumn,
  ShardMapError,
  text,
  ValidationError,
} from '@waffle/core';
import { describe, expect, it } from 'vitest';
import { rejection } from './contract-fixtures.js';
import { shardPool } from './fixtures.js';
import { type ConformanceOptions, uniqueName } from './options.js';
import { wrapShard } from './wrap.js';

/** The document of this suite: a title, and whether the strict mapper refuses it. */
interface Note {
  title: string;
}

/** Fails unless `error` is a ShardMapError whose message is exactly `message`. */
function expectShardMap(error: unknown, message: string): void {
  expect(ShardMapError.is(error), String(error)).toBe(true);
  expect((error as Error).message).toBe(message);
}

/** Fails unless `error` is a ValidationError with exactly `message`, the mapper's error as cause. */
function expectMapperError(error: unknown, message: string, what: string): void {
  expect(ValidationError.is(error), `${what}: ${String(error)}`).toBe(true);
  expect((error as Error).message, what).toBe(message);
  expect((error as Error).cause, what).toBeInstanceOf(Error);
  expect(((error as Error).cause as Error).message, what).toBe('no mapping for "boom"');
}

/**
 * What the errors a user meets say: a shard map that differs says what
 * differs, the conflict of two first saves of one id says another writer
 * created it, and a mapper that throws is named with its index and record on
 * every path that runs it. On real databases.
 */
export function messageSuite(options: ConformanceOptions): void {
  const open = shardPool(options);
  const notes = (name: string, shards: Shard[], indices: Index<Note, any>[] = []) =>
    new Entity<Note>(name, { shards, indices, serializer: options.serializer });
  /** An index on the title; `strict` throws on the title "boom". */
  const byTitle = (name: string, shards: Shard[] | ShardByColumn, strict: boolean) =>
    new Index(name, {
      columns: { title: text() },
      shard: shards,
      mapper: (note: Doc<Note>) => {
        if (strict && note.value.title === 'boom') throw new Error('no mapping for "boom"');
        return [{ title: note.value.title }];
      },
    });

  describe('messages', () => {
    it('a ShardMapError says what differs: order, number, strategy, a database given twice, another entity’s table', async () => {
      const shards = await open(3);
      const [a, b, c] = shards as [Shard, Shard, Shard];
      const name = uniqueName('map');
      const ix = uniqueName('map_ix');
      const entity = notes(name, shards, [byTitle(ix, shards, false)]);
      await entity.create();
      await entity.save(entity.new({ title: 't' }, { id: 'x' }));

      // status() touches every shard (an operation checks, on first use, the shards it touches).
      expectShardMap(
        await rejection(notes(name, [b, a, c]).status()),
        `Shard ${b.name} holds table "${name}" (the records of entity "${name}") as shards[1], but it was given as shards[0]: give the shards in the same order and number as when the data was created`,
      );
      expectShardMap(
        await rejection(notes(name, [a, b]).status()),
        `Shard ${a.name} holds table "${name}" (the records of entity "${name}") as shards[0] of 3 shards, but 2 shards were given: give the shards in the same order and number as when the data was created`,
      );
      // The same database under a second shard object, given twice.
      const again = wrapShard(a, (_operation, run) => run);
      expectShardMap(
        await rejection(notes(name, [a, again, c]).status()),
        `Shard ${a.name} holds table "${name}" (the records of entity "${name}") as shards[0], and it is given again as shards[1]: one database given twice; each position needs a database of its own`,
      );
      // The index spread by another strategy than at create().
      expectShardMap(
        await rejection(
          notes(name, shards, [byTitle(ix, new ShardByColumn('title', shards), false)]).status(),
        ),
        `Shard ${a.name} holds table "${ix}" (index "${ix}" of entity "${name}") spread by record id over 3 shards, but it was given spread by column "title": the shard strategy must stay the one the data was created with (an index spread otherwise is a new index: give it another name and backfill it)`,
      );
      // Another entity whose index has the same name: not "another order".
      const other = uniqueName('other');
      expectShardMap(
        await rejection(notes(other, shards, [byTitle(ix, shards, false)]).create()),
        `Shard ${a.name} holds table "${ix}" as index "${ix}" of entity "${name}", not as index "${ix}" of entity "${other}": another entity's table of the same name is on that database; give index "${ix}" another name, or use other databases`,
      );
      // An entity named like another entity's index.
      expectShardMap(
        await rejection(notes(ix, shards).create()),
        `Shard ${a.name} holds table "${ix}" as index "${ix}" of entity "${name}", not as the records of entity "${ix}": another entity's table of the same name is on that database; give entity "${ix}" another name, or use other databases`,
      );
      // A table of that name whose identity waffle did not write.
      const foreign = uniqueName('foreign');
      await a.writeMeta(foreign, 'v1 of another tool');
      expectShardMap(
        await rejection(notes(foreign, [a]).create()),
        `Shard ${a.name} holds table "${foreign}", which waffle did not create as the records of entity "${foreign}" (its identity there is v1 of another tool): another application's table of this name? give entity "${foreign}" another name, or use other databases`,
      );
      // Identities of a shape waffle never writes: JSON, but not an object, of another kind, without a layout or position.
      for (const stored of [
        'null',
        '"entity"',
        '{"kind":"view","layout":"primary-key:4096:1","position":0}',
        '{"kind":"entity","position":0}',
        '{"kind":"entity","layout":"primary-key:4096:1"}',
        '{"kind":"entity","layout":"primary-key:4096:1","position":"0"}',
      ]) {
        const table = uniqueName('foreign');
        await a.writeMeta(table, stored);
        expectShardMap(
          await rejection(notes(table, [a]).create()),
          `Shard ${a.name} holds table "${table}", which waffle did not create as the records of entity "${table}" (its identity there is ${stored}): another application's table of this name? give entity "${table}" another name, or use other databases`,
        );
      }
      // A history table of another layout (that of the 3 shards above): told as the history's, like a records table.
      const kept = uniqueName('kept');
      const created = JSON.parse((await a.readMeta([name])).get(name)!) as Record<string, unknown>;
      await a.writeMeta(`${kept}__history`, JSON.stringify({ ...created, kind: 'history', position: 1 }));
      expectShardMap(
        await rejection(
          new Entity<Note>(kept, { shards: [a], history: true, serializer: options.serializer }).create(),
        ),
        `Shard ${a.name} holds table "${kept}__history" (the history of entity "${kept}") as shards[1] of 3 shards, but 1 shards were given: give the shards in the same order and number as when the data was created`,
      );
      // Nothing was changed: the entity still reads its record.
      expect((await entity.get('x'))?.value).toEqual({ title: 't' });
    });

    // Mutants: the first get, getMany or save of a fresh entity skips the check of the record shards it
    // touches (an index beside the records had it checked them anyway).
    it('a fresh entity whose index lives on other shards checks, at its first get, getMany and save (sync and async), the record shards they touch', async () => {
      const shards = await open(3);
      const [a, b, c] = shards as [Shard, Shard, Shard];
      const indexShards = await open(2);
      const name = uniqueName('first');
      const ix = uniqueName('first_ix');
      const make = (over: Shard[], mode?: 'sync' | 'async') =>
        new Entity<Note>(name, {
          shards: over,
          indices: [byTitle(ix, new ShardByColumn('title', indexShards), false)],
          serializer: options.serializer,
          ...(mode ? { mode } : {}),
        });
      const entity = make(shards);
      await entity.create();
      // Ids of the records on shards[0]: given in another order, that position is database b.
      const ids: string[] = [];
      for (let i = 0; ids.length < 3; i++) {
        if (entity.strategy.shardOf({ id: `n${i}` }) === 0) ids.push(`n${i}`);
      }
      await entity.save(entity.new({ title: 't' }, { id: ids[0]! }));
      const swapped = [b, a, c];
      const message = `Shard ${b.name} holds table "${name}" (the records of entity "${name}") as shards[1], but it was given as shards[0]: give the shards in the same order and number as when the data was created`;
      expectShardMap(await rejection(make(swapped).get(ids[0]!)), message);
      expectShardMap(await rejection(make(swapped).getMany([ids[0]!])), message);
      // A getMany touching two shards that differ reports the first in shard order, even when that
      // shard answers last (its metadata read is slowed down here).
      const slow = wrapShard(b, (_operation, run) => run) as Shard & { readMeta: Shard['readMeta'] };
      slow.readMeta = async (keys) => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        return b.readMeta(keys);
      };
      const second = (() => {
        for (let i = 0; ; i++) if (entity.strategy.shardOf({ id: `m${i}` }) === 1) return `m${i}`;
      })();
      expectShardMap(await rejection(make([slow, a, c]).getMany([second, ids[0]!])), message);
      for (const [i, mode] of [
        [1, 'sync'],
        [2, 'async'],
      ] as const) {
        const fresh = make(swapped, mode);
        expectShardMap(await rejection(fresh.save(fresh.new({ title: mode }, { id: ids[i]! }))), message);
      }
      // Nothing was written: the entity over the shards as created holds its one record.
      expect((await entity.getMany(ids)).map((d) => d?.value.title)).toEqual(['t', undefined, undefined]);
      expect(await entity.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
    });

    it('a ShardMapError says when the data was created with another number of replicas', async () => {
      const shards = await open(3);
      const [a, b] = shards as [Shard, Shard, Shard];
      // What a shard holds for data created with 2 replicas of each bucket (entities
      // refuse replicas > 1 until reads and writes over replicas exist): its identities.
      const created = async (table: string, fields: Record<string, unknown>, layout: string) => {
        for (const [position, shard] of shards.entries()) {
          await shard.writeMeta(table, JSON.stringify({ ...fields, layout, position }));
        }
      };
      const name = uniqueName('reps');
      await created(name, { kind: 'entity' }, 'primary-key:4096:3:replicas=2');
      expectShardMap(
        await rejection(notes(name, shards).create()),
        `Shard ${a.name} holds table "${name}" (the records of entity "${name}") created with 2 replicas of each bucket, but it was opened with 1 replica: give the strategy the replicas the data was created with (waffle does not change the number of replicas of existing data)`,
      );
      expectShardMap(
        await rejection(notes(name, shards).status()),
        `Shard ${a.name} holds table "${name}" (the records of entity "${name}") created with 2 replicas of each bucket, but it was opened with 1 replica: give the strategy the replicas the data was created with (waffle does not change the number of replicas of existing data)`,
      );
      // Another number of shards too: both are said.
      expectShardMap(
        await rejection(notes(name, [a, b]).status()),
        `Shard ${a.name} holds table "${name}" (the records of entity "${name}") as shards[0] of 3 shards, but 2 shards were given (created with 2 replicas of each bucket, opened with 1 replica): give the shards in the same order and number as when the data was created`,
      );
      // An index spread by column with 3 replicas, given spread by record id.
      const owner = uniqueName('reps_owner');
      const ix = uniqueName('reps_ix');
      await created(ix, { kind: 'index', entity: owner }, 'column:title:4096:3:replicas=3');
      expectShardMap(
        await rejection(notes(owner, shards, [byTitle(ix, shards, false)]).create()),
        `Shard ${a.name} holds table "${ix}" (index "${ix}" of entity "${owner}") spread by column "title" over 3 shards with 3 replicas, but it was given spread by record id: the shard strategy must stay the one the data was created with (an index spread otherwise is a new index: give it another name and backfill it)`,
      );
    });

    it('two concurrent first saves of one new id: the loser says another writer created it', async () => {
      const shards = await open(2);
      const entity = notes(uniqueName('first'), shards, [byTitle(uniqueName('first_ix'), shards, false)]);
      await entity.create();
      const message = (id: string) =>
        `Conflict on record "${id}": it was created by another writer (this save expected no stored record; the stored version is 1)`;

      // Two records of the same id.
      const outcomes = await Promise.allSettled([
        entity.save(entity.new({ title: 'one' }, { id: 'same' })),
        entity.save(entity.new({ title: 'two' }, { id: 'same' })),
      ]);
      const lost = outcomes.filter((o) => o.status === 'rejected');
      expect(lost).toHaveLength(1);
      const error = (lost[0] as PromiseRejectedResult).reason;
      expect(ConflictError.is(error), String(error)).toBe(true);
      expect(error).toMatchObject({ id: 'same', expectedVersion: 0, currentVersion: 1, deleted: false });
      expect(error.message).toBe(message('same'));

      // One record object saved twice at once: the winner moves its version to 1 meanwhile.
      const record = entity.new({ title: 'once' }, { id: 'twice' });
      const both = await Promise.allSettled([entity.save(record), entity.save(record)]);
      const failed = both.filter((o) => o.status === 'rejected');
      expect(failed).toHaveLength(1);
      const twice = (failed[0] as PromiseRejectedResult).reason;
      expect(ConflictError.is(twice), String(twice)).toBe(true);
      expect(twice).toMatchObject({ id: 'twice', expectedVersion: 0, currentVersion: 1 });
      expect(twice.message).toBe(message('twice'));
      expect(record.version).toBe(1);
      expect((await entity.get('twice'))?.version).toBe(1);
    });

    it('a mapper that throws is named with its index and the record in save, saveMany, update, select, verify, repair and backfill', async () => {
      const shards = await open(2);
      const name = uniqueName('mapped');
      const ix = uniqueName('mapped_ix');
      // Stored while the mapper accepted "boom".
      const tolerant = notes(name, shards, [byTitle(ix, shards, false)]);
      await tolerant.create();
      await tolerant.saveMany([
        tolerant.new({ title: 'boom' }, { id: 'b1' }),
        tolerant.new({ title: 'ok' }, { id: 'o1' }),
      ]);

      const strictIndex = byTitle(ix, shards, true);
      const strict = notes(name, shards, [strictIndex]);
      const onRecord = (id: string) =>
        `Index "${ix}": the mapper threw on record "${id}": no mapping for "boom"`;
      const onStored = (id: string) =>
        `Index "${ix}": the mapper threw on stored record "${id}": no mapping for "boom"`;

      expectMapperError(
        await rejection(strict.save(strict.new({ title: 'boom' }, { id: 'n1' }))),
        onRecord('n1'),
        'save',
      );
      expectMapperError(
        await rejection(
          strict.saveMany([
            strict.new({ title: 'fine' }, { id: 'n2' }),
            strict.new({ title: 'boom' }, { id: 'n3' }),
          ]),
        ),
        onRecord('n3'),
        'saveMany',
      );
      expect(await strict.getMany(['n1', 'n2', 'n3'])).toEqual([undefined, undefined, undefined]);
      expectMapperError(
        await rejection(strict.update('o1', () => ({ title: 'boom' }))),
        onRecord('o1'),
        'update',
      );
      expectMapperError(
        await rejection((async () => await strict.select(strictIndex.c.title.eq('boom')))()),
        onStored('b1'),
        'select',
      );
      expectMapperError(await rejection(strict.verify()), onStored('b1'), 'verify');
      expectMapperError(await rejection(strict.repair()), onStored('b1'), 'repair');

      // A new index over records that are stored already: backfill runs its mapper on them.
      const added = uniqueName('added_ix');
      const addedIndex = byTitle(added, shards, true);
      const later = notes(name, shards, [addedIndex]);
      await later.create();
      expectMapperError(
        await rejection(later.backfill(addedIndex)),
        `Index "${added}": the mapper threw on stored record "b1": no mapping for "boom"`,
        'backfill',
      );
    });
  });
}
