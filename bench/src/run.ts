/**
 * One dialect's run: waffle's tables and the raw side's copies, the same
 * records preloaded everywhere, the peers, the operations, then S1; and, come
 * what may, every connection closed and every table of the run dropped.
 */
import type { Shard } from '@waffle/core';
import type { Dialect } from '@waffle/testkit';
import { type BenchConfig, measures, runPrefix } from './config.js';
import type { DialectSetup } from './dialects/dialect.js';
import { allSettled } from './dialects/dialect.js';
import { bySide } from './harness/markdown.js';
import { measureOperations } from './measure.js';
import { type RawStore, rawSide } from './raw/side.js';
import type { DialectResult } from './results.js';
import type { ScanJob } from './scan/job.js';
import { measureScans } from './scan/spawn.js';
import { plainEntity } from './sides/entities.js';
import { waffleSide } from './sides/waffle.js';
import { chunks, makePreload, picks } from './workload/data.js';
import { benchPost } from './workload/document.js';
import { uuidv7 } from './workload/ids.js';
import { tableNames } from './workload/names.js';
import type { Side } from './workload/operations.js';

/** The cleanup of the dialect running now, for an interrupt to call. */
let running: (() => Promise<void>) | undefined;

/** Closes and drops what the dialect running now has made (on SIGINT or SIGTERM). */
export async function cleanUpInterrupted(): Promise<void> {
  await running?.();
}

/** `count` fresh records in batches, for a scanned table. */
function scanBatches(count: number, batch: number) {
  return chunks(
    Array.from({ length: count }, (_, i) => ({ id: uuidv7(), value: benchPost(i) })),
    batch,
  );
}

/** Creates waffle's scanned tables (before the raw side copies them). */
async function createScanTables(records: Shard, tables: readonly string[]): Promise<void> {
  for (const table of tables) await plainEntity(table, records).create();
}

/** Fills both sides' scanned tables with the sizes of `config`. */
async function fillScanTables(
  records: Shard,
  store: RawStore,
  names: { waffle: readonly string[]; raw: readonly string[] },
  config: BenchConfig,
): Promise<void> {
  for (const [i, size] of config.scanSizes.entries()) {
    const entity = plainEntity(names.waffle[i]!, records);
    for (const part of scanBatches(size, config.batch)) {
      await entity.saveMany(part.map(({ id, value }) => entity.new(value, { id })));
      await store.insertRecords(names.raw[i]!, part);
    }
  }
}

/** Runs the benchmark on one dialect; `log` gets progress lines. */
export async function runDialect(
  dialect: Dialect,
  open: (prefix: string) => Promise<DialectSetup>,
  config: BenchConfig,
  log: (line: string) => void,
): Promise<DialectResult> {
  const result: DialectResult = { dialect, server: '', notes: [], operations: [] };
  const closers: (() => Promise<void>)[] = [];
  let setup: DialectSetup | undefined;
  const cleanUp = async () => {
    running = undefined;
    await allSettled(closers.splice(0));
    await setup?.close();
  };
  running = cleanUp;
  try {
    const prefix = runPrefix();
    setup = await open(prefix);
    result.server = setup.server;
    const preload = makePreload(config.preload);
    const pick = picks(preload, config);
    const names = { waffle: tableNames(prefix, 'w'), raw: tableNames(prefix, 'r') };
    const { records, others } = setup.shards;
    log(`${setup.server}: preloading ${config.preload} records on every side`);
    const sides: Side[] = [await waffleSide(config, preload, pick, names.waffle, records, others)];
    await createScanTables(records, names.waffle.scan);
    const store = await setup.rawStore(names.waffle, names.raw);
    closers.push(() => store.close());
    sides.unshift(await rawSide(store, config, preload, pick, names.raw.plain));
    const peers = await setup.peers(config, preload, pick);
    closers.push(...peers.sides.map((side) => () => side.close()));
    sides.push(...peers.sides);
    result.notes.push(...peers.notes);
    await measureOperations(sides, config, (op, figures, gc) => {
      log(`${op.id} ${bySide(figures)} ${op.unit}; GC ms/s ${bySide(gc)}`);
      result.operations.push({
        id: op.id,
        label: op.label,
        unit: op.unit,
        figures: Object.fromEntries(figures),
        gcMsPerSecond: Object.fromEntries(gc),
      });
    });
    if (measures(config, 'S1')) {
      log(`S1: filling the scanned tables (${config.scanSizes.join(' and ')} records)`);
      await fillScanTables(records, store, { waffle: names.waffle.scan, raw: names.raw.scan }, config);
      const job = (side: 'waffle' | 'raw', i: number): ScanJob => ({
        dialect,
        side,
        target: setup!.scanTarget(side),
        table: names[side].scan[i]!,
        page: config.scanPage,
        count: config.scanSizes[i]!,
      });
      const scans = await measureScans(
        new Map([
          ['raw', [job('raw', 0), job('raw', 1)]],
          ['waffle', [job('waffle', 0), job('waffle', 1)]],
        ]),
        config.scanRounds,
      );
      result.scan = { sizes: config.scanSizes, page: config.scanPage, figures: Object.fromEntries(scans) };
    }
  } catch (error) {
    result.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
  } finally {
    await cleanUp().catch((error: unknown) => {
      result.notes.push(`cleanup failed: ${(error as Error).message}`);
      result.error ??= `cleanup failed: ${(error as Error).message}`;
    });
  }
  return result;
}
