/**
 * Index states (DESIGN.md, "Index lifecycle"): each index is `ready`, or
 * `building` while `backfill()` fills it — added to an entity that held
 * records, or changed to a new mapper `version`. The state lives in the
 * metadata of every shard of the index, under `<index>:state`, as JSON; the
 * first shard's also holds the backfill's checkpoint. Writes maintain every
 * index in every state; queries refuse a building one unless asked for a
 * partial answer.
 */
import { IndexNotReadyError, ShardMapError } from './errors.js';
import type { Index } from './secondary-index.js';
import type { Shard } from './types.js';

/** What the metadata holds of an index. */
export interface StoredState {
  readonly state: 'building' | 'ready';
  /** The mapper version the rows are (being) built with. */
  readonly version: number;
  /** Set while rebuilding an index that held rows of an older version: the backfill ends with a repair pass. */
  readonly rebuild?: boolean;
  /** The backfill's checkpoint: per entity shard position, the last record id done. */
  readonly after?: Readonly<Record<string, string>>;
  /** The backfill's checkpoint: the entity shard positions done. */
  readonly finished?: readonly number[];
}

/** An index's state as an entity sees it, and the raw value each of its shards holds. */
export interface IndexState extends StoredState {
  readonly raw: ReadonlyMap<Shard, string>;
}

/** The metadata key of an index's state. */
export function stateKey(index: Index<any, any>): string {
  return `${index.name}:state`;
}

/** The stored form of a state. */
export function encodeState(state: StoredState): string {
  return JSON.stringify(state);
}

/** A stored state; an index created before states existed (no entry) is ready at version 1. */
export function decodeState(raw: string | undefined): StoredState {
  if (raw === undefined) return { state: 'ready', version: 1 };
  return JSON.parse(raw) as StoredState;
}

/**
 * The state of `index` from the raw values of its shards: building if any
 * shard says so (a transition interrupted half-way), the checkpoint from the
 * first shard. Refuses rows stored by a newer mapper version than this code's.
 */
export function mergeState(index: Index<any, any>, raw: ReadonlyMap<Shard, string | undefined>): IndexState {
  const states = [...raw.values()].map(decodeState);
  const version = Math.max(...states.map((s) => s.version));
  if (version > index.version) {
    throw new ShardMapError(
      `Index "${index.name}" is stored at version ${version}, newer than the version ${index.version} this code gives it: run the newer code, or give the index another name`,
    );
  }
  const first = states[0]!;
  const building = states.some((s) => s.state === 'building' || s.version < index.version);
  const known = new Map<Shard, string>();
  for (const [shard, value] of raw) if (value !== undefined) known.set(shard, value);
  return {
    state: building ? 'building' : 'ready',
    version,
    rebuild: states.some((s) => s.rebuild) || undefined,
    after: first.after,
    finished: first.finished,
    raw: known,
  };
}

/**
 * Replaces the state on every shard of `index`, each compare-and-set from the
 * value it holds (read again and tried anew, up to three times, when another
 * process changed it meanwhile: after that, the other's value stands);
 * returns the state now stored.
 */
export async function storeState(
  index: Index<any, any>,
  current: IndexState,
  next: (shard: Shard, position: number) => StoredState,
): Promise<IndexState> {
  const key = stateKey(index);
  const stored = await Promise.all(
    index.strategy.shards.map(async (shard, position): Promise<string | undefined> => {
      const value = encodeState(next(shard, position));
      let expected = current.raw.get(shard);
      for (let attempt = 0; attempt < 3; attempt++) {
        if (expected === value) return value;
        const done =
          expected === undefined
            ? (await shard.writeMeta(key, value)) === value
            : await shard.replaceMeta(key, expected, value);
        if (done) return value;
        expected = (await shard.readMeta([key])).get(key);
      }
      return expected;
    }),
  );
  // In the order of the index's shards: the first one's holds the checkpoint.
  return mergeState(index, new Map(index.strategy.shards.map((shard, i) => [shard, stored[i]])));
}

/** Refuses a query on a building index unless `partial`. */
export function checkQueryable(
  entity: string,
  index: Index<any, any>,
  state: IndexState | undefined,
  partial: boolean,
  what: string,
): void {
  if (partial || state === undefined || state.state === 'ready') return;
  throw new IndexNotReadyError(
    `${entity}.${what}(): index "${index.name}" is being built (added to an entity that held records, or given a new version), so it may miss records: run backfill(), or pass { partial: true } to read what it holds`,
    index.name,
  );
}
