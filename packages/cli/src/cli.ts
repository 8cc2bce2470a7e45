/**
 * The `waffle` command: its subcommands, their arguments, and exit codes
 * (0 done, 1 differences found or work failed, 2 bad usage, config or name).
 */

import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import { type Entity, type Index, readLines } from '@waffle/core';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  entityNamed,
  findConfig,
  indexNamed,
  type LoadedConfig,
  loadConfig,
  shardsOf,
  UsageError,
} from './config.js';
import { type CliIO, count, Output, type Progress, perShard } from './output.js';

/** Exit codes of the command. */
export const EXIT = { done: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** The options every command takes. */
interface CommonOptions {
  readonly config?: string;
  readonly json?: boolean;
  readonly progress?: boolean;
  readonly out?: string;
  readonly in?: string;
  readonly onConflict?: 'skip' | 'replace' | 'fail';
  readonly batchSize?: number;
}

/** What a command's body gets. */
interface Context {
  readonly config: LoadedConfig;
  readonly out: Output;
  readonly options: CommonOptions;
  readonly io: CliIO;
  readonly signal: AbortSignal;
}

type Body = (context: Context, ...args: (string | undefined)[]) => Promise<number>;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer.');
  return n;
}

/**
 * Runs the `waffle` command with `argv` (the arguments after `waffle`) and
 * returns its exit code. `signal` stops long work between batches (the bin
 * aborts it on Ctrl-C).
 */
export async function run(
  argv: readonly string[],
  io: CliIO,
  signal: AbortSignal = new AbortController().signal,
): Promise<number> {
  let exit: number = EXIT.done;
  const program = new Command('waffle')
    .description('Operate waffle entities: status, backfill, verify, repair, drain, export and import.')
    .version(version(), '-V, --version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      '\nThe entities come from the default export of waffle.config.ts (.mts, .js, .mjs) in the working\n' +
        'directory, or --config <path> (or $WAFFLE_CONFIG): defineConfig({ entities: [...] }) from @waffle/cli.\n' +
        'Exit codes: 0 done, 1 differences found or work failed, 2 bad usage, config or name.',
    );

  const command = (spec: string, description: string, body: Body): Command => {
    const cmd = program
      .command(spec)
      .description(description)
      .option(
        '-c, --config <path>',
        'the config module (default: $WAFFLE_CONFIG, else waffle.config.ts, .mts, .js or .mjs here)',
      )
      .option('--json', 'print one JSON object per line for each result, for scripts')
      .option('--no-progress', 'no progress bar (there is one only on a terminal anyway)');
    cmd.action(async (...args: unknown[]) => {
      const options = (args.at(-2) ?? {}) as CommonOptions;
      const out = new Output(io, options.json === true, options.progress !== false);
      let config: LoadedConfig | undefined;
      try {
        config = await loadConfig(findConfig(io.cwd, options.config ?? io.env?.WAFFLE_CONFIG));
        exit = await body(
          { config, out, options, io, signal },
          ...(args.slice(0, -2) as (string | undefined)[]),
        );
      } catch (error) {
        exit = failure(out, error, signal);
      } finally {
        if (config) await Promise.allSettled(shardsOf(config).map((shard) => shard.close()));
      }
    });
    return cmd;
  };

  command(
    'status [entity]',
    'each index: state, version and rows per shard; records and pending notes per shard',
    status,
  );
  command('create [entity]', "create the entities' tables on every shard (idempotent)", create);
  command(
    'backfill <entity> [index]',
    'fill the indices being built (or the one named) from the stored records',
    backfill,
  );
  command(
    'verify <entity> [index]',
    'compare the indices with the records; exit 1 when they differ',
    (c, e, i) => check(c, e, i, false),
  );
  command(
    'repair <entity> [index]',
    'make the indices exact: write missing rows, delete the wrong ones',
    (c, e, i) => check(c, e, i, true),
  );
  command(
    'verify-replicas <entity>',
    'compare the replicas of every record (entities with replicas > 1); exit 1 when they differ',
    (c, e) => checkReplicas(c, e, false),
  );
  command(
    'repair-replicas <entity>',
    'copy the newest version of every record over older and missing copies',
    (c, e) => checkReplicas(c, e, true),
  );
  command('drain [entity]', 'finish the index work that writes left in notes', drain);
  command('reencode <entity>', 'rewrite the records stored with an older serializer', reencode);
  command(
    'drop-index <entity> <index>',
    'drop an index listed under retired in the config (tables and metadata)',
    dropIndex,
  );
  command('export <entity>', 'write every record as NDJSON, one line per record', exportRecords)
    .option('-o, --out <file>', 'write to this file (default: stdout)')
    .option('--batch-size <n>', 'records read per statement', positiveInteger);
  command('import <entity>', 'read NDJSON records (as export writes them) into the entity', importRecords)
    .option('-i, --in <file>', 'read this file (default: stdin)')
    .addOption(
      new Option('--on-conflict <mode>', 'when a record id exists: skip it, replace it, or fail')
        .choices(['skip', 'replace', 'fail'])
        .default('fail'),
    )
    .option('--batch-size <n>', 'records written per batch', positiveInteger);

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    const code = (error as { exitCode?: number }).exitCode;
    // Commander has printed its message (or the help, or the version).
    return code === 0 ? EXIT.done : EXIT.usage;
  }
  return exit;
}

/** Reports a failure and returns its exit code. */
function failure(out: Output, error: unknown, signal: AbortSignal): number {
  if (error instanceof UsageError) {
    out.error({ error: { code: 'USAGE', message: error.message } }, error.message);
    return EXIT.usage;
  }
  if (signal.aborted) {
    out.error(
      { error: { code: 'INTERRUPTED', message: 'interrupted' } },
      'interrupted: run the command again to go on',
    );
    return EXIT.interrupted;
  }
  const e = error as { code?: unknown; message?: unknown; line?: unknown };
  const code = typeof e?.code === 'string' ? e.code : 'ERROR';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  out.error({ error: { code, message, ...(typeof e.line === 'number' ? { line: e.line } : {}) } }, message);
  return EXIT.failed;
}

/** The entities a command names (one) or all of them. */
function targets(config: LoadedConfig, name: string | undefined): readonly Entity<any>[] {
  return name === undefined ? config.entities : [entityNamed(config, name)];
}

/** The records of `entity` over its shards, for a progress bar's total (counted only when a bar shows). */
async function recordTotal(entity: Entity<any>, bar: Progress): Promise<number | undefined> {
  if (!bar.shown) return undefined;
  const { records } = await entity.status({ counts: true });
  // Each record is on `replicas` shards.
  return Math.ceil((records ?? []).reduce((sum, r) => sum + r.records, 0) / (entity.strategy.replicas ?? 1));
}

async function status({ config, out }: Context, name?: string): Promise<number> {
  for (const entity of targets(config, name)) {
    const s = await entity.status({ counts: true });
    const records = s.records ?? [];
    const lines = [
      `entity ${entity.name}`,
      `  records  ${perShard(records.map((r) => ({ shard: r.shard, n: r.records })))}`,
      `  notes    ${perShard(s.notes.map((n) => ({ shard: n.shard, n: n.notes })))}`,
    ];
    for (const ix of s.indices) {
      const rows = perShard((ix.rows ?? []).map((r) => ({ shard: r.shard, n: r.rows })));
      const building = ix.progress
        ? `  backfill: ${ix.progress.finished.length} of ${entity.strategy.shards.length} record shards done`
        : '';
      lines.push(`  index ${ix.index}  ${ix.state}  v${ix.version}  rows ${rows}${building}`);
    }
    out.result({ entity: entity.name, records, notes: s.notes, indices: s.indices }, lines);
  }
  return EXIT.done;
}

async function create({ config, out }: Context, name?: string): Promise<number> {
  for (const entity of targets(config, name)) {
    await entity.create();
    const indices = entity.indices.map((ix) => ix.name);
    out.result(
      { entity: entity.name, created: true, indices },
      `created ${entity.name} on ${entity.strategy.shards.length} shard(s)${
        indices.length > 0 ? `, indices ${indices.join(', ')}` : ''
      }`,
    );
  }
  return EXIT.done;
}

/** A progress bar over per-index counts: the bar shows their sum. */
function perIndexProgress(bar: Progress, total: number | undefined) {
  const done = new Map<string, number>();
  return (index: string, records: number) => {
    done.set(index, records);
    let sum = 0;
    for (const n of done.values()) sum += n;
    bar.update(sum, total);
  };
}

async function backfill(
  { config, out, signal }: Context,
  entityName?: string,
  indexName?: string,
): Promise<number> {
  const entity = entityNamed(config, entityName!);
  const index = indexName === undefined ? undefined : indexNamed(entity, indexName);
  const bar = out.progress(`backfill ${entity.name}`, 'records');
  try {
    const total = await recordTotal(entity, bar);
    const building = index
      ? 1
      : (await entity.status()).indices.filter((ix) => ix.state === 'building').length;
    const update = perIndexProgress(bar, total === undefined ? undefined : total * building);
    const reports = await entity.backfill(index, { signal, onProgress: (p) => update(p.index, p.records) });
    bar.stop();
    if (reports.length === 0 && !out.json)
      out.result({}, `nothing to backfill: every index of ${entity.name} is ready`);
    for (const r of reports) {
      out.result(
        { entity: entity.name, ...r },
        `${r.index}: ${count(r.records)} records read, ${count(r.rows)} rows written, ${count(r.withdrawn)} withdrawn, ${count(r.removed)} removed${r.ready ? ': ready' : ''}`,
      );
    }
    return EXIT.done;
  } finally {
    bar.stop();
  }
}

async function check(
  { config, out, signal }: Context,
  entityName: string | undefined,
  indexName: string | undefined,
  fix: boolean,
): Promise<number> {
  const entity = entityNamed(config, entityName!);
  const index = indexName === undefined ? undefined : indexNamed(entity, indexName);
  const bar = out.progress(`${fix ? 'repair' : 'verify'} ${entity.name}`, 'records');
  try {
    const total = await recordTotal(entity, bar);
    const update = perIndexProgress(
      bar,
      total === undefined ? undefined : total * (index ? 1 : entity.indices.length),
    );
    const onProgress = (p: { index: string; records: number }) => update(p.index, p.records);
    const report = fix
      ? await entity.repair(index, { signal, onProgress })
      : await entity.verify(index, { signal, onProgress });
    bar.stop();
    for (const r of report.indices) {
      const differences = r.missing + r.orphaned + r.stale;
      const samples = (['missing', 'orphaned', 'stale'] as const)
        .filter((kind) => r.samples[kind].length > 0)
        .map((kind) => `${kind} e.g. ${r.samples[kind].join(', ')}`);
      const verdict =
        differences === 0
          ? 'exact'
          : fix
            ? `${count(differences)} rows repaired`
            : `${count(differences)} differences`;
      out.result({ entity: entity.name, ...r }, [
        `${r.index}: ${count(r.records)} records, ${count(r.rows)} rows: ${count(r.missing)} missing, ${count(r.orphaned)} orphaned, ${count(r.stale)} stale (${verdict})`,
        ...samples.map((s) => `  ${s}`),
      ]);
    }
    const differences = report.missing + report.orphaned + report.stale;
    return !fix && differences > 0 ? EXIT.failed : EXIT.done;
  } finally {
    bar.stop();
  }
}

async function checkReplicas(
  { config, out, signal }: Context,
  name: string | undefined,
  fix: boolean,
): Promise<number> {
  const entity = entityNamed(config, name!);
  const bar = out.progress(`${fix ? 'repair' : 'verify'} replicas of ${entity.name}`, 'records');
  try {
    const total = await recordTotal(entity, bar);
    const options = { signal, onProgress: (p: { records: number }) => bar.update(p.records, total) };
    const r = fix ? await entity.repairReplicas(options) : await entity.verifyReplicas(options);
    bar.stop();
    const differences = r.missing + r.stale;
    const samples = (['missing', 'stale'] as const)
      .filter((kind) => r.samples[kind].length > 0)
      .map((kind) => `  ${kind} e.g. ${r.samples[kind].join(', ')}`);
    const verdict =
      differences === 0
        ? 'equal'
        : fix
          ? `${count(differences)} copies repaired`
          : `${count(differences)} differences`;
    out.result({ entity: entity.name, ...r }, [
      `${entity.name}: ${count(r.records)} records, ${count(r.missing)} missing copies, ${count(r.stale)} stale copies (${verdict})`,
      ...samples,
    ]);
    return !fix && differences > 0 ? EXIT.failed : EXIT.done;
  } finally {
    bar.stop();
  }
}

async function drain({ config, out, signal }: Context, name?: string): Promise<number> {
  for (const entity of targets(config, name)) {
    const bar = out.progress(`drain ${entity.name}`, 'notes');
    try {
      const report = await entity.drain({ signal, onProgress: (p) => bar.update(p.finished, p.notes) });
      bar.stop();
      out.result(
        { entity: entity.name, ...report },
        `${entity.name}: ${count(report.notes)} notes found, ${count(report.finished)} finished`,
      );
    } finally {
      bar.stop();
    }
  }
  return EXIT.done;
}

async function reencode({ config, out, signal }: Context, name?: string): Promise<number> {
  const entity = entityNamed(config, name!);
  const bar = out.progress(`reencode ${entity.name}`, 'records');
  try {
    const total = await recordTotal(entity, bar);
    const report = await entity.reencode({ signal, onProgress: (p) => bar.update(p.scanned, total) });
    bar.stop();
    out.result(
      { entity: entity.name, ...report },
      `${entity.name}: ${count(report.scanned)} records read, ${count(report.rewritten)} rewritten with ${entity.serializer.codec}, ${count(report.skipped)} skipped (changed meanwhile)`,
    );
    return EXIT.done;
  } finally {
    bar.stop();
  }
}

async function dropIndex({ config, out }: Context, entityName?: string, indexName?: string): Promise<number> {
  const entity = entityNamed(config, entityName!);
  if (entity.indices.some((ix) => ix.name === indexName)) {
    throw new UsageError(
      `index "${indexName}" is still one of ${entity.name}'s indices, which every write maintains: take it out of the entity's indices in ${config.path}, list it under retired: { ${entity.name}: [...] }, deploy, then drop it`,
    );
  }
  const retired = config.retired[entity.name] ?? [];
  const index = retired.find((ix: Index<any, any>) => ix.name === indexName);
  if (!index) {
    throw new UsageError(
      `unknown index "${indexName}" of entity "${entity.name}": ${config.path} retires ${
        retired.map((ix) => ix.name).join(', ') || 'no index of it'
      } (an index to drop is listed under retired: { ${entity.name}: [index] })`,
    );
  }
  await entity.dropIndex(index);
  out.result(
    { entity: entity.name, index: index.name, dropped: true },
    `dropped ${index.name} of ${entity.name}`,
  );
  return EXIT.done;
}

async function exportRecords({ config, out, options, io, signal }: Context, name?: string): Promise<number> {
  const entity = entityNamed(config, name!);
  const path = options.out === undefined ? undefined : resolve(io.cwd, options.out);
  const bar = out.progress(`export ${entity.name}`, 'records');
  const sink = path === undefined ? io.stdout : createWriteStream(path);
  let records = 0;
  try {
    const total = await recordTotal(entity, bar);
    const lines = entity.export({
      signal,
      ...(options.batchSize ? { batchSize: options.batchSize } : {}),
    });
    for await (const line of lines) {
      records++;
      if (!sink.write(`${line}\n`)) await once(sink, 'drain');
      if (records % 500 === 0) bar.update(records, total);
    }
    bar.update(records, total);
  } finally {
    bar.stop();
    if (sink !== io.stdout) {
      sink.end();
      await finished(sink);
    }
  }
  // The summary goes to stderr when stdout carries the records.
  out.result(
    { entity: entity.name, records, ...(path ? { out: path } : {}) },
    `exported ${count(records)} records of ${entity.name}${path ? ` to ${path}` : ''}`,
    path === undefined,
  );
  return EXIT.done;
}

async function importRecords({ config, out, options, io, signal }: Context, name?: string): Promise<number> {
  const entity = entityNamed(config, name!);
  const path = options.in === undefined ? undefined : resolve(io.cwd, options.in);
  if (path !== undefined && !existsSync(path)) throw new UsageError(`input file not found: ${path}`);
  const input = path === undefined ? io.stdin : createReadStream(path);
  // Lines pulled from the stream as import asks for them (flat memory; nothing read before it is ready).
  const lines = readLines(input as AsyncIterable<string | Uint8Array>);
  const bar = out.progress(`import ${entity.name}`, 'lines');
  try {
    const report = await entity.import(lines, {
      signal,
      onConflict: options.onConflict ?? 'fail',
      ...(options.batchSize ? { batchSize: options.batchSize } : {}),
      onProgress: (p) => bar.update(p.lines),
    });
    bar.stop();
    out.result(
      { entity: entity.name, ...report },
      `imported ${count(report.imported)} records into ${entity.name} (${count(report.lines)} lines; ${count(report.skipped)} skipped, ${count(report.replaced)} replaced)`,
    );
    return EXIT.done;
  } finally {
    bar.stop();
    if (input !== io.stdin) (input as { destroy(): void }).destroy();
  }
}
