/**
 * Shard placement and identity: which tables an entity keeps on which shard,
 * the identity each shard records for them at `create()`, and the check, at
 * first use, that the shards were given in the same order and number.
 */
import { ShardMapError } from './errors.js';
import { groupBy } from './group.js';
import { encodeState, type IndexState, mergeState, stateKey, storeState } from './index-states.js';
import type { Index } from './secondary-index.js';
import type { EntityTableSpec, HistoryTableSpec, Shard, ShardStrategy, TableSpec } from './types.js';

/** A table on a shard, and the identity the shard records for it. */
interface Placed {
  readonly shard: Shard;
  readonly table: TableSpec;
  readonly identity: string;
}

const identity = (value: object) => JSON.stringify(value);

/** Where an entity's tables live, and whether the shards hold what it expects. */
export class Placement {
  #checked: Promise<void> | undefined;
  /** True once the shards were checked (or created): operations need not wait. */
  isReady = false;
  /** The state of each index, known once the shards were checked (or created). */
  readonly states = new Map<Index<any, any>, IndexState>();

  constructor(
    private readonly entity: string,
    readonly strategy: ShardStrategy,
    private readonly table: EntityTableSpec,
    private readonly history: HistoryTableSpec | undefined,
    private readonly indices: readonly Index<any, any>[],
  ) {}

  /** The shard of record `id`. */
  shardOf(id: string): Shard {
    return this.strategy.shards[this.strategy.shardOf({ id })]!;
  }

  /** Every (shard, table, identity) the entity relies on. */
  private placed(): Placed[] {
    const { strategy } = this;
    const out: Placed[] = strategy.shards.map((shard, position) => ({
      shard,
      table: this.table,
      identity: identity({ kind: 'entity', layout: strategy.layout, position }),
    }));
    const history = this.history;
    if (history) {
      strategy.shards.forEach((shard, position) => {
        out.push({
          shard,
          table: history,
          identity: identity({ kind: 'history', layout: strategy.layout, position }),
        });
      });
    }
    for (const index of this.indices) out.push(...this.placedIndex(index));
    return out;
  }

  /** Where the tables of `index` live, and their identities. */
  private placedIndex(index: Index<any, any>): Placed[] {
    return index.strategy.shards.map((shard, position) => ({
      shard,
      table: index.table,
      identity: identity({ kind: 'index', entity: this.entity, layout: index.strategy.layout, position }),
    }));
  }

  private mismatch(shard: Shard, table: string, stored: string, expected: string): ShardMapError {
    return new ShardMapError(
      `Shard ${shard.name} holds table "${table}" as ${stored}, but it was given as ${expected}: ` +
        'shards must be given in the same order and number as when the data was created',
    );
  }

  /** Creates the missing tables on every shard and records each shard's identity; refuses another layout. */
  async create(): Promise<void> {
    const placed = this.placed();
    // Which index tables exist already: an index created now on an entity that holds records must be built.
    const existed = new Set<Index<any, any>>();
    for (const index of this.indices) {
      const found = await Promise.all(
        index.strategy.shards.map((shard) => shard.readMeta([index.table.name])),
      );
      if (found.some((meta) => meta.has(index.table.name))) existed.add(index);
    }
    const fresh = this.indices.filter((index) => !existed.has(index));
    const holdsRecords =
      fresh.length > 0 &&
      (
        await Promise.all(
          this.strategy.shards.map(async (shard) => {
            try {
              return (await shard.scanRecords(this.table, { limit: 1 })).length > 0;
            } catch {
              return false; // the entity table is created below
            }
          }),
        )
      ).some(Boolean);
    const byShard = groupBy(placed, (p) => p.shard);
    await Promise.all(
      [...byShard].map(([shard, group]) => shard.createTables([...new Set(group.map((p) => p.table))])),
    );
    // One shard at a time per table, so one database given twice is caught rather than raced.
    for (const p of placed) {
      const stored = await p.shard.writeMeta(p.table.name, p.identity);
      if (stored !== p.identity) throw this.mismatch(p.shard, p.table.name, stored, p.identity);
    }
    // The state of each index, unless another process recorded one first.
    const metas = new Map<Shard, Map<string, string>>();
    for (const index of this.indices) {
      const state = encodeState({
        state: holdsRecords && !existed.has(index) ? 'building' : 'ready',
        version: index.version,
      });
      for (const shard of index.strategy.shards) {
        const stored = await shard.writeMeta(stateKey(index), state);
        if (!metas.has(shard)) metas.set(shard, new Map());
        metas.get(shard)!.set(stateKey(index), stored);
      }
    }
    await this.loadStates(metas);
    this.#checked = Promise.resolve();
    this.isReady = true;
  }

  /** Learns each index's state from the shards' metadata, marking `building` an index given a newer version. */
  private async loadStates(metas: ReadonlyMap<Shard, ReadonlyMap<string, string>>): Promise<void> {
    for (const index of this.indices) {
      const raw = new Map(
        index.strategy.shards.map((shard) => [shard, metas.get(shard)?.get(stateKey(index))]),
      );
      let state = mergeState(index, raw);
      if (state.state === 'building' && state.version < index.version) {
        // The mapper changed: its rows are rebuilt by backfill, which first fills, then repairs.
        state = await storeState(index, state, () => ({
          state: 'building',
          version: index.version,
          rebuild: true,
        }));
      }
      this.states.set(index, state);
    }
  }

  /** Reads the state of `index` from its shards again (another process may have moved it on). */
  async refreshState(index: Index<any, any>): Promise<IndexState> {
    const key = stateKey(index);
    const raw = new Map(
      await Promise.all(
        index.strategy.shards.map(async (shard) => [shard, (await shard.readMeta([key])).get(key)] as const),
      ),
    );
    const state = mergeState(index, raw);
    this.states.set(index, state);
    return state;
  }

  /** The state of `index` (after the shards were checked). */
  stateOf(index: Index<any, any>): IndexState | undefined {
    return this.states.get(index);
  }

  /**
   * Drops the entity's tables (records, history, every index) on every shard,
   * or with `index` only that index's; each table only where the shard holds
   * it as this entity's (else {@link ShardMapError}, before anything is
   * dropped). Idempotent. The entity must be created again before its next use.
   */
  async drop(index?: Index<any, any>): Promise<void> {
    const placed = index ? this.placedIndex(index) : this.placed();
    const byShard = groupBy(placed, (p) => p.shard);
    const metas = new Map(
      await Promise.all(
        [...byShard].map(
          async ([shard, group]) => [shard, await shard.readMeta(group.map((p) => p.table.name))] as const,
        ),
      ),
    );
    for (const p of placed) {
      const stored = metas.get(p.shard)!.get(p.table.name);
      if (stored !== undefined && stored !== p.identity)
        throw this.mismatch(p.shard, p.table.name, stored, p.identity);
    }
    if (!index) {
      this.#checked = undefined;
      this.isReady = false;
    }
    await Promise.all(
      [...byShard].map(([shard, group]) => shard.dropTables([...new Set(group.map((p) => p.table))])),
    );
  }

  /** Checks once that every shard holds what the entity expects; a failed check is tried again next time. */
  ready(): Promise<void> {
    this.#checked ??= this.check().then(
      () => {
        this.isReady = true;
      },
      (error: unknown) => {
        this.#checked = undefined;
        throw error;
      },
    );
    return this.#checked;
  }

  private async check(): Promise<void> {
    const placed = this.placed();
    const keysByShard = new Map<Shard, string[]>();
    for (const p of placed) keysByShard.set(p.shard, [...(keysByShard.get(p.shard) ?? []), p.table.name]);
    for (const index of this.indices) {
      for (const shard of index.strategy.shards) keysByShard.get(shard)!.push(stateKey(index));
    }
    const metas = new Map(
      await Promise.all(
        [...keysByShard].map(async ([shard, keys]) => [shard, await shard.readMeta(keys)] as const),
      ),
    );
    for (const p of placed) {
      const stored = metas.get(p.shard)!.get(p.table.name);
      if (stored === undefined) {
        throw new ShardMapError(
          `Shard ${p.shard.name} has no table "${p.table.name}" yet: run create() first`,
        );
      }
      if (stored !== p.identity) throw this.mismatch(p.shard, p.table.name, stored, p.identity);
    }
    await this.loadStates(metas);
  }
}
