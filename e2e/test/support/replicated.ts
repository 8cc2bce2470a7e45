/**
 * What the replication tests under a real outage share (issue 12): an entity
 * whose records and index have 2 replicas, a workload of a writer and a
 * reader running concurrently while some shards go down and come back, and
 * the checks after it.
 *
 * What is counted. Every operation of the workload is timed from its start.
 * The failure is *detected* at the first moment this process knows of it: an
 * operation failed, or the circuit breaker of a shard that went down opened
 * (polled every 5 ms and after every operation). Operations *in flight*,
 * started before that moment and ended after `down()` was called, may fail
 * (they were running when the shard died, or were the ones that found out):
 * each such failure must be a ShardUnavailableError (nothing written) or an
 * OutcomeUnknownError (a commit whose answer was lost), and the writer saves
 * again what failed. Every other operation must succeed: those that ended
 * before the outage, and every one started after detection, reads (get,
 * getMany, an index query, a count) and writes (inserts, saves, updates,
 * deletes, with `writeQuorum: 1`), while the shard is down, while it comes
 * back, and after. The writer's retries are operations like any other:
 * started after detection, they must succeed.
 *
 * After the workload, `drain()` delivers what the notes hold; then
 * `verifyReplicas()` must find 0 missing and 0 stale copies, every record
 * must read at the version and value of its last acknowledged write (deleted
 * ones not at all), every index query and count must equal brute force over
 * those records, and `verify()` must find no missing index row (and nothing
 * at all once `repair()` removed the rows of writes that never committed).
 */
import {
  type Doc,
  Entity,
  Index,
  integer,
  OutcomeUnknownError,
  type Shard,
  ShardByColumn,
  ShardByPrimaryKey,
  ShardUnavailableError,
} from '@waffle/core';
import { shardHealth } from '@waffle/core/adapter';
import { json } from '@waffle/serializer-json';
import { expect } from 'vitest';

export type Value = { n: number; token: string };

/** The values of `n`: the index queries of the checks ask for each. */
export const N_VALUES = 8;

/**
 * An entity `name` over `shards` with `replicas` copies of each record, and
 * its index `<name>_n` of each record's `n` over `indexShards`, sharded by
 * `n` with as many replicas. Not created.
 */
export function replicatedEntity(
  name: string,
  shards: Shard[],
  indexShards: Shard[],
  replicas = 2,
): { docs: Entity<Value>; byN: Index<Value> } {
  const byN = new Index<Value>(`${name}_n`, {
    columns: { n: integer() },
    shard: new ShardByColumn('n', indexShards, { replicas }),
    mapper: (d) => [{ n: d.value.n }],
  });
  const docs = new Entity<Value>(name, {
    shards: new ShardByPrimaryKey(shards, { replicas }),
    indices: [byN],
    serializer: json(),
    writeQuorum: 1,
    onIndexError: () => {}, // index work and copies left to the notes: drain() does them
  });
  return { docs, byN };
}

/** Something that goes down and comes back. */
export interface Outage {
  /** What goes down, for messages. */
  readonly what: string;
  /** The shard objects that become unreachable (their breakers tell when they are known down, and back). */
  readonly shards: readonly Shard[];
  down(): Promise<void>;
  up(): Promise<void>;
}

/** The last acknowledged state of a record: its version and value, or deleted. */
export interface Acknowledged {
  version: number;
  value: Value | undefined;
}

/** What happened to the operations of one kind (reads or writes). */
export interface Counts {
  /** Operations that succeeded. */
  ok: number;
  /** Operations started after the failure was detected (every one of them must succeed). */
  afterDetection: number;
  /** Of those, the ones started before `up()` returned: while the shards were down. */
  duringOutage: number;
  /** Operations started after the breakers of the shards that went down closed again. */
  afterBack: number;
  /** Failures of operations in flight: started before detection and ended after `down()`, by error name. */
  inFlightFailures: Record<string, number>;
  /** Failures of operations that had to succeed (started after detection, or ended before the outage): `name: message`. */
  failed: string[];
  /** Failures that were neither ShardUnavailableError nor OutcomeUnknownError: `name: message`. */
  untyped: string[];
  /** The longest an operation took, in milliseconds (reported, not asserted). */
  slowestMs: number;
}

export interface WorkloadReport {
  readonly writes: Counts;
  readonly reads: Counts;
  /** Milliseconds from the call of `down()` to the detection. */
  readonly detectedAfterMs: number;
  /** How long `down()` and `up()` took, from `up()` until the breakers closed, and the last phase. */
  readonly phasesMs: Record<string, number>;
  /** Index work and copies the notes held, as `drain()` reported them. */
  readonly drained: { notes: number; finished: number };
  /** Index rows `verify()` found after `drain()` that no stored record produces (removed by `repair()`). */
  readonly leftovers: { orphaned: number; stale: number };
  /** Records written (deletions included). */
  readonly records: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A small seeded generator (mulberry32), so that a run's choices can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function counts(): Counts {
  return {
    ok: 0,
    afterDetection: 0,
    duringOutage: 0,
    afterBack: 0,
    inFlightFailures: {},
    failed: [],
    untyped: [],
    slowestMs: 0,
  };
}

/** Waits until `condition` holds, failing with `what` after `limitMs`. */
async function until(condition: () => boolean, what: string, limitMs = 60_000): Promise<void> {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > limitMs) throw new Error(`gave up waiting: ${what}`);
    await sleep(10);
  }
}

/**
 * Runs the workload on `docs` (created) with `outage` in its middle, then
 * drains and checks everything; returns the counts (the caller asserts
 * nothing more than it wants to print).
 *
 * Phases, each ended by a state, never by a time alone: 60 writes; `down()`;
 * until the failure is detected, then 80 more writes and at least 1.5 s (so
 * that a breaker's first back-off of 1 s ends and a probe meets the shard still
 * down); `up()`; until every breaker of the outage's shards is closed again
 * (a probe succeeded), then 80 more writes.
 */
export async function workloadWithOutage(
  docs: Entity<Value>,
  byN: Index<Value>,
  outage: Outage,
  { seed = 12, writers = 3, readers = 2, pauseMs = 10 } = {},
): Promise<WorkloadReport> {
  const rng = random(seed);
  const pick = <X>(list: readonly X[]): X => list[Math.floor(rng() * list.length)]!;
  const value = (): Value => ({ n: Math.floor(rng() * N_VALUES), token: rng().toString(36).slice(2, 8) });
  const model = new Map<string, Acknowledged>();
  const known: string[] = [];
  const writes = counts();
  const reads = counts();
  let stop = false;
  let downAt: number | undefined;
  let upDone = false;
  let detectedAt: number | undefined;
  let backAt: number | undefined;

  const isDown = () => outage.shards.some((shard) => shardHealth.stateOf(shard) !== 'closed');
  const detect = () => {
    if (downAt !== undefined && detectedAt === undefined && isDown()) detectedAt = performance.now();
  };
  const poll = setInterval(detect, 5);

  /** Counts a failure of an operation started at `started`; returns the error. */
  const failure = (kind: Counts, error: unknown, started: number, afterDetection: boolean): unknown => {
    // In flight: running when the outage began, or started before anything knew of it.
    const inFlight = !afterDetection && downAt !== undefined;
    if (inFlight && detectedAt === undefined) detectedAt = performance.now();
    const name = (error as Error)?.name ?? typeof error;
    const line = `${name}: ${(error as Error)?.message ?? String(error)}`;
    if (!ShardUnavailableError.is(error) && !OutcomeUnknownError.is(error)) kind.untyped.push(line);
    if (inFlight) kind.inFlightFailures[name] = (kind.inFlightFailures[name] ?? 0) + 1;
    else {
      const when =
        downAt === undefined ? 'before the outage' : `${Math.round(started - downAt)} ms after down()`;
      kind.failed.push(`${line} (started ${when})`);
    }
    return error;
  };

  /** Runs one operation, counted; returns its error, if any. */
  const operation = async (kind: Counts, run: () => Promise<unknown>): Promise<unknown> => {
    const started = performance.now();
    const afterDetection = detectedAt !== undefined;
    if (afterDetection) kind.afterDetection++;
    if (afterDetection && !upDone) kind.duringOutage++;
    if (backAt !== undefined) kind.afterBack++;
    try {
      await run();
      kind.ok++;
      detect();
      return undefined;
    } catch (error) {
      return failure(kind, error, started, afterDetection);
    } finally {
      kind.slowestMs = Math.max(kind.slowestMs, Math.round(performance.now() - started));
    }
  };

  /** A write, repeated until it succeeds (a failure after detection is counted, and the test fails). */
  const write = async (run: () => Promise<unknown>) => {
    for (let attempt = 0; ; attempt++) {
      const error = await operation(writes, run);
      if (error === undefined) break;
      if (attempt >= 50 || (!ShardUnavailableError.is(error) && !OutcomeUnknownError.is(error))) throw error;
      await sleep(20);
    }
  };

  const writer = async () => {
    const mine: Doc<Value>[] = [];
    const keep = (doc: Doc<Value>) => model.set(doc.id, { version: doc.version, value: doc.value });
    while (!stop) {
      const roll = rng();
      if (mine.length < 4 || roll < 0.3) {
        const record = docs.new(value());
        await write(() => docs.save(record));
        mine.push(record);
        known.push(record.id);
        keep(record);
      } else if (roll < 0.75) {
        const record = pick(mine);
        record.value = value();
        await write(() => docs.save(record));
        keep(record);
      } else if (roll < 0.92) {
        const i = Math.floor(rng() * mine.length);
        const next = value();
        let doc: Doc<Value> | undefined;
        await write(async () => {
          doc = await docs.update(mine[i]!.id, () => next);
        });
        mine[i] = doc!;
        keep(doc!);
      } else {
        const [record] = mine.splice(Math.floor(rng() * mine.length), 1);
        await write(() => docs.delete(record!.id));
        model.set(record!.id, { version: -1, value: undefined });
      }
      await sleep(pauseMs);
    }
  };

  const reader = async () => {
    while (!stop) {
      if (known.length > 0) {
        const roll = rng();
        if (roll < 0.4) await operation(reads, () => docs.get(pick(known)));
        else if (roll < 0.6)
          await operation(reads, () => docs.getMany([pick(known), pick(known), pick(known)]));
        else if (roll < 0.9)
          await operation(reads, async () => docs.select(byN.c.n.eq(Math.floor(rng() * N_VALUES))));
        else await operation(reads, () => docs.count(byN.c.n.eq(Math.floor(rng() * N_VALUES))));
      }
      await sleep(pauseMs);
    }
  };

  const lanes = [...Array.from({ length: writers }, writer), ...Array.from({ length: readers }, reader)];
  let detectedAfterMs = Number.NaN;
  const phases: Record<string, number> = {};
  try {
    await Promise.race([
      Promise.all(lanes).then(() => {
        throw new Error('the workload stopped early');
      }),
      (async () => {
        await until(() => writes.ok >= 60, '60 writes before the outage');
        downAt = performance.now();
        await outage.down();
        phases.down = Math.round(performance.now() - downAt);
        await until(() => detectedAt !== undefined, `the failure of ${outage.what} to be detected`);
        detectedAfterMs = detectedAt! - downAt;
        await until(
          () => writes.duringOutage >= 80 && performance.now() - detectedAt! >= 1_500,
          '80 writes and 1.5 s after detection',
        );
        const upAt = performance.now();
        await outage.up();
        upDone = true;
        phases.up = Math.round(performance.now() - upAt);
        await until(() => !isDown(), `the breakers of ${outage.what} to close again`);
        backAt = performance.now();
        phases.back = Math.round(backAt - upAt);
        await until(() => writes.afterBack >= 80, '80 writes after the shards are back');
        phases.after = Math.round(performance.now() - backAt);
      })(),
    ]);
  } finally {
    stop = true;
    clearInterval(poll);
    await Promise.allSettled(lanes);
  }

  const drained = await docs.drain();
  const leftovers = await checkConverged(docs, byN, model);
  return {
    writes,
    reads,
    detectedAfterMs: Math.round(detectedAfterMs),
    phasesMs: phases,
    drained: { notes: drained.notes, finished: drained.finished },
    leftovers,
    records: model.size,
  };
}

/**
 * Replicas equal (`verifyReplicas`: nothing missing or stale), every record
 * at its last acknowledged version and value (deleted ones absent), every
 * index query and count equal to brute force, `verify()` clean.
 */
export async function checkConverged(
  docs: Entity<Value>,
  byN: Index<Value>,
  model: ReadonlyMap<string, Acknowledged>,
): Promise<{ orphaned: number; stale: number }> {
  expect(await docs.verifyReplicas()).toMatchObject({ records: model.size, missing: 0, stale: 0 });
  const ids = [...model.keys()];
  for (const consistency of ['one', 'all'] as const) {
    const stored = await docs.getMany(ids, { consistency });
    const got = new Map(ids.map((id, i) => [id, stored[i]]));
    for (const [id, acknowledged] of model) {
      const doc = got.get(id);
      if (acknowledged.value === undefined) expect(doc, `${id} was deleted (${consistency})`).toBeUndefined();
      else {
        expect(
          { version: doc?.version, value: doc?.value },
          `${id}: its last acknowledged write (${consistency})`,
        ).toEqual(acknowledged);
      }
    }
  }
  const live = [...model].filter(([, a]) => a.value !== undefined);
  const scanned: string[] = [];
  for await (const doc of docs.scan({ batchSize: 50 })) scanned.push(doc.id);
  expect(scanned.sort()).toEqual(live.map(([id]) => id).sort());
  for (let n = 0; n < N_VALUES; n++) {
    const brute = live
      .filter(([, a]) => a.value!.n === n)
      .map(([id]) => id)
      .sort();
    expect((await docs.select(byN.c.n.eq(n))).map((d) => d.id).sort(), `n = ${n}`).toEqual(brute);
    expect(await docs.count(byN.c.n.eq(n), { verify: true }), `count n = ${n}`).toBe(brute.length);
  }
  // No record lacks an index row. Rows of writes that never committed (put before a commit that
  // failed) may be left, by design: repair() removes them.
  const found = await docs.verify();
  expect(found).toMatchObject({ missing: 0 });
  await docs.repair(undefined, { graceMs: 0 });
  expect(await docs.verify()).toMatchObject({ missing: 0, orphaned: 0, stale: 0 });
  for (let n = 0; n < N_VALUES; n++) {
    const brute = live.filter(([, a]) => a.value!.n === n).length;
    expect(await docs.count(byN.c.n.eq(n)), `count n = ${n}`).toBe(brute);
  }
  return { orphaned: found.orphaned, stale: found.stale };
}

/** Asserts what the issue asks of the counts, and prints them. */
export function expectNoFailureAfterDetection(label: string, report: WorkloadReport): void {
  console.log(`${label}: ${JSON.stringify(report)}`);
  expect(report.writes.untyped, 'writes failing with another error than unavailable or unknown').toEqual([]);
  expect(report.reads.untyped, 'reads failing with another error than unavailable').toEqual([]);
  expect(report.writes.failed, 'writes that had to succeed (started after detection) and failed').toEqual([]);
  expect(report.reads.failed, 'reads that had to succeed (started after detection) and failed').toEqual([]);
  // The workload really ran through the outage: writes and reads while it lasted and after it.
  expect(report.writes.duringOutage).toBeGreaterThanOrEqual(80);
  expect(report.reads.duringOutage).toBeGreaterThan(0);
  expect(report.writes.afterBack).toBeGreaterThanOrEqual(80);
  expect(report.reads.afterBack).toBeGreaterThan(0);
}
