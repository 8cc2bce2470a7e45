/**
 * Shard placement and identity: which tables an entity keeps on which shard,
 * the identity each shard records for them at `create()`, and the check, at
 * first use, that the shards were given in the same order and number.
 */
import { ShardMapError, ShardUnavailableError } from './errors.js';
import { groupBy } from './group.js';
import { encodeState, type IndexState, mergeState, stateKey, storeState } from './index-states.js';
import type { Index } from './secondary-index.js';
import { replicaCount } from './shard-strategy.js';
import type { EntityTableSpec, HistoryTableSpec, Shard, ShardStrategy, TableSpec } from './types.js';

/** A table on a shard, and the identity the shard records for it. */
interface Placed {
  readonly shard: Shard;
  readonly table: TableSpec;
  readonly identity: string;
  /** The strategy that placed it there, and at which of its positions. */
  readonly strategy: ShardStrategy;
  readonly position: number;
}

/** What a shard records for a table of an entity: whose it is, and where it sits in which layout. */
interface Identity {
  readonly kind: 'entity' | 'history' | 'index';
  /** The entity of an index (an entity's records and history are named after it). */
  readonly entity?: string;
  readonly layout: string;
  readonly position: number;
}

const identity = (value: Identity) => JSON.stringify(value);

/** A stored identity, or `undefined` when it is not one waffle writes. */
function parseIdentity(stored: string): Identity | undefined {
  try {
    const value = JSON.parse(stored) as Partial<Identity> | null;
    if (
      typeof value === 'object' &&
      value !== null &&
      (value.kind === 'entity' || value.kind === 'history' || value.kind === 'index') &&
      typeof value.layout === 'string' &&
      typeof value.position === 'number'
    ) {
      return value as Identity;
    }
  } catch {
    // not JSON: not an identity
  }
  return undefined;
}

/** Whose table an identity says it is: `the records of entity "blog"`, `index "blog_time" of entity "blog"`. */
function owner(id: Identity, table: string, entity: string | undefined): string {
  if (id.kind === 'index') return `index "${table}" of entity "${id.entity ?? entity}"`;
  if (id.kind === 'history') return `the history of entity "${entity ?? table.replace(/__history$/, '')}"`;
  return `the records of entity "${entity ?? table}"`;
}

/**
 * A layout as `{ scheme, buckets, count, replicas }` (`column:author:4096:3`,
 * `primary-key:4096:3:replicas=2`; replicas 1 when not written), when it has that form.
 */
function parseLayout(
  layout: string,
): { scheme: string; buckets: string; count: number; replicas: number } | undefined {
  const match = /^(.+):(\d+):(\d+)(?::replicas=(\d+))?$/.exec(layout);
  return match
    ? {
        scheme: match[1]!,
        buckets: match[2]!,
        count: Number(match[3]),
        replicas: match[4] === undefined ? 1 : Number(match[4]),
      }
    : undefined;
}

/** `1 replica`, `2 replicas`. */
function replicasText(replicas: number): string {
  return replicas === 1 ? '1 replica' : `${replicas} replicas`;
}

/** `over 3 shards`, or `over 3 shards with 2 replicas` when there are more than 1. */
function over(count: number, replicas: number): string {
  return replicas === 1 ? `over ${count} shards` : `over ${count} shards with ${replicasText(replicas)}`;
}

/** How a layout's scheme spreads rows: `by record id`, `by column "author"`. */
function spread(scheme: string): string {
  if (scheme === 'primary-key') return 'by record id';
  if (scheme.startsWith('column:')) return `by column "${scheme.slice('column:'.length)}"`;
  return `with layout "${scheme}"`;
}

const SAME_ORDER = 'give the shards in the same order and number as when the data was created';

/** Where an entity's tables live, and whether the shards hold what it expects. */
export class Placement {
  #checked: Promise<void> | undefined;
  /** Per shard, its check and the metadata read then (see {@link Placement.readyFor}). */
  readonly #shardChecks = new Map<Shard, Promise<ReadonlyMap<string, string>>>();
  /** The shards whose check passed. */
  readonly #checkedShards = new Set<Shard>();
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
      strategy,
      position,
    }));
    const history = this.history;
    if (history) {
      strategy.shards.forEach((shard, position) => {
        out.push({
          shard,
          table: history,
          identity: identity({ kind: 'history', layout: strategy.layout, position }),
          strategy,
          position,
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
      strategy: index.strategy,
      position,
    }));
  }

  /**
   * The error of a shard that holds table `p.table` with another identity
   * than `p` gives it, saying what differs: whose table it is (another
   * entity's table of the same name), how it is spread (another strategy,
   * another number of shards), or where it sits (another order, or one
   * database given twice).
   */
  private mismatch(p: Placed, stored: string): ShardMapError {
    const table = p.table.name;
    const where = `Shard ${p.shard.name} holds table "${table}"`;
    const expected = parseIdentity(p.identity)!;
    const wanted = owner(expected, table, this.entity);
    const found = parseIdentity(stored);
    const rename =
      expected.kind === 'index'
        ? `give index "${table}" another name`
        : `give entity "${this.entity}" another name`;
    if (!found) {
      return new ShardMapError(
        `${where}, which waffle did not create as ${wanted} (its identity there is ${stored}): another application's table of this name? ${rename}, or use other databases`,
      );
    }
    if (found.kind !== expected.kind || (found.entity ?? this.entity) !== (expected.entity ?? this.entity)) {
      return new ShardMapError(
        `${where} as ${owner(found, table, undefined)}, not as ${wanted}: another entity's table of the same name is on that database; ${rename}, or use other databases`,
      );
    }
    const given = p.strategy.shards.length;
    if (found.layout !== expected.layout) {
      const was = parseLayout(found.layout);
      const now = parseLayout(expected.layout);
      if (
        was &&
        now &&
        was.scheme === now.scheme &&
        was.buckets === now.buckets &&
        was.count === now.count &&
        was.replicas !== now.replicas
      ) {
        return new ShardMapError(
          `${where} (${wanted}) created with ${replicasText(was.replicas)} of each bucket, but it was opened with ${replicasText(now.replicas)}: give the strategy the replicas the data was created with (waffle does not change the number of replicas of existing data)`,
        );
      }
      if (was && now && was.scheme === now.scheme && was.buckets === now.buckets) {
        const replicas =
          was.replicas === now.replicas
            ? ''
            : ` (created with ${replicasText(was.replicas)} of each bucket, opened with ${replicasText(now.replicas)})`;
        return new ShardMapError(
          `${where} (${wanted}) as shards[${found.position}] of ${was.count} shards, but ${given} shards were given${replicas}: ${SAME_ORDER}`,
        );
      }
      if (was && now && was.scheme !== now.scheme) {
        return new ShardMapError(
          `${where} (${wanted}) spread ${spread(was.scheme)} ${over(was.count, was.replicas)}, but it was given spread ${spread(now.scheme)}: the shard strategy must stay the one the data was created with${expected.kind === 'index' ? ' (an index spread otherwise is a new index: give it another name and backfill it)' : ''}`,
        );
      }
      return new ShardMapError(
        `${where} (${wanted}) with layout "${found.layout}", but it was given with layout "${expected.layout}": the shard strategy must stay the one the data was created with`,
      );
    }
    const twice = p.strategy.shards[found.position];
    if (twice !== undefined && (twice === p.shard || twice.name === p.shard.name)) {
      return new ShardMapError(
        `${where} (${wanted}) as shards[${found.position}], and it is given again as shards[${p.position}]: one database given twice; each position needs a database of its own`,
      );
    }
    return new ShardMapError(
      `${where} (${wanted}) as shards[${found.position}], but it was given as shards[${p.position}]: ${SAME_ORDER}`,
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
    // A table held as another entity's (or placed otherwise) is refused before any table is made.
    await this.refuseOthers(byShard);
    await Promise.all(
      [...byShard].map(([shard, group]) => shard.createTables([...new Set(group.map((p) => p.table))])),
    );
    // One shard at a time per table, so one database given twice is caught rather than raced.
    for (const p of placed) {
      const stored = await p.shard.writeMeta(p.table.name, p.identity);
      if (stored !== p.identity) throw this.mismatch(p, stored);
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
    for (const index of this.indices) await this.loadState(index, metas);
  }

  /** Learns the state of `index` from its shards' metadata, marking it `building` when given a newer version. */
  private async loadState(
    index: Index<any, any>,
    metas: ReadonlyMap<Shard, ReadonlyMap<string, string>>,
  ): Promise<void> {
    // Every shard of the index, or over replicas those that answered (the state is stored on each alike).
    const raw = new Map(
      index.strategy.shards
        .filter((shard) => metas.has(shard))
        .map((shard) => [shard, metas.get(shard)?.get(stateKey(index))]),
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
    await this.refuseOthers(byShard);
    if (!index) {
      this.#checked = undefined;
      this.#shardChecks.clear();
      this.#checkedShards.clear();
      this.states.clear();
      this.isReady = false;
    }
    await Promise.all(
      [...byShard].map(([shard, group]) => shard.dropTables([...new Set(group.map((p) => p.table))])),
    );
  }

  /** Throws {@link ShardMapError} when a shard holds one of these tables with another identity. */
  private async refuseOthers(byShard: ReadonlyMap<Shard, readonly Placed[]>): Promise<void> {
    const metas = new Map(
      await Promise.all(
        [...byShard].map(
          async ([shard, group]) => [shard, await shard.readMeta(group.map((p) => p.table.name))] as const,
        ),
      ),
    );
    for (const group of byShard.values()) {
      for (const p of group) {
        const stored = metas.get(p.shard)!.get(p.table.name);
        if (stored !== undefined && stored !== p.identity) throw this.mismatch(p, stored);
      }
    }
  }

  /**
   * Checks, once per shard, that the given shards hold what the entity
   * expects: what an operation touches, so that a shard that is down stops
   * only the operations that need it (a save in `async` mode while an index
   * database is down). `undefined` once every shard was checked.
   */
  readyFor(shards: Iterable<Shard>): Promise<void> | undefined {
    if (this.isReady) return undefined;
    const checks = [...new Set(shards)].map((shard) => this.checkShard(shard));
    return Promise.allSettled(checks).then((settled) => {
      // The first failure in the order given, whichever came back first.
      const failed = settled.find((c) => c.status === 'rejected');
      if (failed) throw failed.reason;
    });
  }

  /**
   * What a write needs: in `sync` mode every shard and index state (its index
   * rows go to the index shards before the record commits); in `async` mode
   * the records' shards, and the state of each index whose shards answer (so
   * that older code is still refused a newer mapper version), while an index
   * whose database is down is left to the write's note.
   */
  async readyForWrite(shards: Iterable<Shard>, mode: 'sync' | 'async'): Promise<void> {
    if (this.isReady) return;
    if (this.replicated) {
      // Over replicas, a shard that is down is the write's to meet (another replica commits, the note keeps the rest).
      return this.readyAround(
        mode === 'sync' ? this.placed().map((p) => p.shard) : [...this.strategy.shards],
      );
    }
    if (mode === 'sync') return this.ready();
    await this.readyFor(shards);
    await Promise.all(
      this.indices.map((index) =>
        this.states.has(index)
          ? undefined
          : this.readyForIndex(index).catch((error: unknown) => {
              if (!ShardUnavailableError.is(error)) throw error;
            }),
      ),
    );
  }

  /** Checks the shards of `index` and of the records, and learns the index's state: what a query needs. */
  async readyForIndex(index: Index<any, any>): Promise<void> {
    if (this.isReady) return;
    if (this.replicated) return this.readyAround([...index.strategy.shards, ...this.strategy.shards]);
    await this.readyFor([...index.strategy.shards, ...this.strategy.shards]);
    if (!this.states.has(index)) {
      const metas = new Map(
        await Promise.all(
          index.strategy.shards.map(async (shard) => [shard, await this.checkShard(shard)] as const),
        ),
      );
      await this.loadState(index, metas);
    }
    this.completeIfAll();
  }

  /** True when the records or an index are kept on more than one replica. */
  private get replicated(): boolean {
    return replicaCount(this.strategy) > 1 || this.indices.some((index) => replicaCount(index.strategy) > 1);
  }

  /**
   * Over replicas: checks the given shards, letting those that fail as
   * unavailable be (their replicas serve meanwhile; they are checked again
   * at their next use), and learns the state of each index from its shards
   * that answered. Any other failure is thrown, the first in the order given.
   */
  private async readyAround(shards: readonly Shard[]): Promise<void> {
    const unique = [...new Set(shards)];
    const settled = await Promise.allSettled(unique.map((shard) => this.checkShard(shard)));
    const refused = settled.find(
      (r): r is PromiseRejectedResult => r.status === 'rejected' && !ShardUnavailableError.is(r.reason),
    );
    if (refused) throw refused.reason;
    const metas = new Map<Shard, ReadonlyMap<string, string>>();
    settled.forEach((result, i) => {
      if (result.status === 'fulfilled') metas.set(unique[i]!, result.value);
    });
    for (const index of this.indices) {
      if (this.states.has(index) || !index.strategy.shards.some((shard) => metas.has(shard))) continue;
      await this.loadState(index, metas);
    }
    this.completeIfAll();
  }

  /** Once every shard was checked and every index state learnt, later operations need not wait at all. */
  private completeIfAll(): void {
    if (this.isReady || this.states.size < this.indices.length) return;
    if (this.placed().some((p) => !this.#checkedShards.has(p.shard))) return;
    this.#checked = Promise.resolve();
    this.isReady = true;
  }

  /** The metadata of one shard, read once its identities were checked (a failed check is tried again next time). */
  private checkShard(shard: Shard): Promise<ReadonlyMap<string, string>> {
    let check = this.#shardChecks.get(shard);
    if (check === undefined) {
      check = this.readShard(shard).then((meta) => {
        this.#checkedShards.add(shard);
        return meta;
      });
      this.#shardChecks.set(shard, check);
      check.catch(() => {
        if (this.#shardChecks.get(shard) === check) this.#shardChecks.delete(shard);
      });
    }
    return check;
  }

  /** Reads a shard's identities (and the states of the indices it holds) and checks them. */
  private async readShard(shard: Shard): Promise<ReadonlyMap<string, string>> {
    const placed = this.placed().filter((p) => p.shard === shard);
    const keys = placed.map((p) => p.table.name);
    for (const index of this.indices) if (index.strategy.shards.includes(shard)) keys.push(stateKey(index));
    const meta = await shard.readMeta(keys);
    for (const p of placed) {
      const stored = meta.get(p.table.name);
      if (stored === undefined) {
        throw new ShardMapError(
          `Shard ${p.shard.name} has no table "${p.table.name}" yet: run create() first`,
        );
      }
      if (stored !== p.identity) throw this.mismatch(p, stored);
    }
    return meta;
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
    const shards = [...new Set(this.placed().map((p) => p.shard))];
    const checks = await Promise.allSettled(shards.map((shard) => this.checkShard(shard)));
    // The first failure in shard order, whichever came back first: messages do not depend on timing.
    const failed = checks.find((c) => c.status === 'rejected');
    if (failed) throw failed.reason;
    const metas = new Map(
      shards.map((shard, i) => [
        shard,
        (checks[i] as PromiseFulfilledResult<ReadonlyMap<string, string>>).value,
      ]),
    );
    await this.loadStates(metas);
  }
}
