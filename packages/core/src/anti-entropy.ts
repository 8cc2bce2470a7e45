/**
 * Anti-entropy: the replicas of every record compared by a paged merge, in id
 * order, of what each shard holds, and (repair) the newest row copied over
 * older and missing ones as "apply if newer". See `Entity.verifyReplicas`.
 */
import { checkCount, checkOptions } from './checks.js';
import { type EntityParts, ready } from './entity-parts.js';
import { ValidationError } from './errors.js';
import { describe } from './names.js';
import { newer } from './replicas.js';
import { settleAll } from './routing.js';
import { replicasOf } from './shard-strategy.js';
import type { RecordRow } from './types.js';
import { mergeById, SAMPLES } from './verify.js';

/** Options of `Entity.verifyReplicas` and `Entity.repairReplicas`. */
export interface ReplicaCheckOptions {
  /** Records read per statement and shard (default 500). */
  readonly batchSize?: number;
  /** Called every `batchSize` records (and at the end) with the counts so far. */
  readonly onProgress?: (progress: ReplicaReport) => void;
  /** Stops between batches. */
  readonly signal?: AbortSignal;
  /** Start after this record id: the `cursor` of a progress report of a pass that stopped. */
  readonly after?: string;
}

/** What `Entity.verifyReplicas` found, or `Entity.repairReplicas` mended. */
export interface ReplicaReport {
  /** Records (ids, deletions included) compared. */
  readonly records: number;
  /** Copies absent from a replica of their bucket. */
  readonly missing: number;
  /** Copies older than the newest (lower version, or the same version losing the tie-break: updatedAt, then body). */
  readonly stale: number;
  /** The last record id compared so far (resume with `{ after: cursor }`); undefined before the first. */
  readonly cursor?: string;
  /** A few record ids of each kind of difference (up to 5 each). */
  readonly samples: { readonly missing: string[]; readonly stale: string[] };
}

/** A row and the position of the shard it was read from. */
interface Held {
  readonly row: RecordRow;
  readonly position: number;
}

/** Every row of every shard of the entity, merged in id order (a row per shard holding it), read in pages. */
async function* rowsById(
  parts: EntityParts<any>,
  batchSize: number,
  start: string | undefined,
): AsyncGenerator<Held> {
  const { strategy } = parts.placement;
  const pages = strategy.shards.map((shard) => {
    let after = start;
    let done = false;
    return async (): Promise<RecordRow[]> => {
      if (done) return [];
      const rows = await shard.scanRecords(parts.table, { after, limit: batchSize });
      done = rows.length < batchSize;
      after = rows[rows.length - 1]?.id ?? after;
      return rows;
    };
  });
  for await (const { row, source } of mergeById(pages)) yield { row, position: source };
}

/** Compares (and, with `fix`, mends) the replicas of every record: see `Entity.verifyReplicas`. */
export async function checkReplicas(
  parts: EntityParts<any>,
  fix: boolean,
  options: ReplicaCheckOptions,
  what: string,
): Promise<ReplicaReport> {
  const label = `${parts.name}.${what}()`;
  checkOptions(options, label);
  const batchSize = checkCount(options.batchSize ?? 500, 1, label, 'batchSize');
  if (options.after !== undefined && typeof options.after !== 'string') {
    throw new ValidationError(
      `${label}: after must be a record id (a string), got ${describe(options.after)}`,
    );
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new ValidationError(`${label}: onProgress must be a function, got ${describe(options.onProgress)}`);
  }
  await ready(parts);
  const { strategy } = parts.placement;
  const samples = { missing: [] as string[], stale: [] as string[] };
  const report: { -readonly [K in keyof ReplicaReport]: ReplicaReport[K] } = {
    records: 0,
    missing: 0,
    stale: 0,
    samples,
  };
  const found = (kind: 'missing' | 'stale', id: string) => {
    report[kind]++;
    const ids = samples[kind];
    if (ids.length < SAMPLES && ids[ids.length - 1] !== id) ids.push(id);
  };
  /** Per position, the newest rows to write there. */
  let toWrite = new Map<number, RecordRow[]>();
  const flush = async () => {
    const writes = toWrite;
    toWrite = new Map();
    await settleAll(
      [...writes].map(([position, rows]) =>
        strategy.shards[position]!.commit({
          table: parts.table,
          writes: rows.map((row) => ({ row, expected: 'older' as const })),
          history: parts.history,
        }),
      ),
    );
  };
  const compare = (id: string, held: readonly Held[]) => {
    report.records++;
    let best = held[0]!.row;
    for (const { row } of held) if (newer(row, best)) best = row;
    for (const position of replicasOf(strategy, { id })) {
      const row = held.find((h) => h.position === position)?.row;
      if (row && !newer(best, row)) continue;
      found(row ? 'stale' : 'missing', id);
      if (fix) toWrite.set(position, [...(toWrite.get(position) ?? []), { ...best, note: null }]);
    }
  };
  let group: Held[] = [];
  let since = 0;
  for await (const held of rowsById(parts, batchSize, options.after)) {
    if (group.length > 0 && group[0]!.row.id !== held.row.id) {
      const id = group[0]!.row.id;
      compare(id, group);
      group = [];
      if (++since >= batchSize) {
        since = 0;
        if (fix) await flush();
        report.cursor = id;
        options.signal?.throwIfAborted();
        options.onProgress?.({
          ...report,
          samples: { missing: [...samples.missing], stale: [...samples.stale] },
        });
      }
    }
    group.push(held);
  }
  if (group.length > 0) {
    compare(group[0]!.row.id, group);
    report.cursor = group[0]!.row.id;
  }
  if (fix) await flush();
  options.onProgress?.({ ...report, samples: { missing: [...samples.missing], stale: [...samples.stale] } });
  return { ...report, samples: { missing: [...samples.missing], stale: [...samples.stale] } };
}
