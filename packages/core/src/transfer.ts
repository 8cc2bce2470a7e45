/**
 * Export and import as NDJSON (DESIGN.md, "Export, import, CLI"): one line
 * per live record, `{"id","version","createdAt","updatedAt","value"}`, the
 * value in the serializer's JSON form (`toJSON`/`fromJSON`), so an entity
 * moves between databases, dialects and processes with its types. Both ways
 * hold one batch at a time: export pages through the shards with the scan,
 * import writes batch by batch through the write path, keeping each record's
 * version and times.
 */
import { checkCount, checkOptions, type WriteMode } from './checks.js';
import { isTombstone } from './codec.js';
import { type EntityParts, readRows, ready } from './entity-parts.js';
import { ConflictError, ImportError, SerializationError, ValidationError } from './errors.js';
import { isIterable } from './lines.js';
import { scanRows } from './maintenance.js';
import { checkId, describe } from './names.js';
import type { Serializer } from './types.js';
import type { Pending, WritePath } from './write-path.js';

/** Options of `Entity.export`. */
export interface ExportOptions {
  /** Records read per statement, and the most held at once (default 500). */
  readonly batchSize?: number;
  /** Stops between batches: the iteration throws the signal's reason. */
  readonly signal?: AbortSignal;
  /** Called after each batch's lines were taken, with the number of records exported so far. */
  readonly onProgress?: (progress: ExportProgress) => void;
}

/** Progress of `Entity.export`. */
export interface ExportProgress {
  /** Records exported so far (lines handed out). */
  readonly records: number;
}

/** What `Entity.import` does with a line whose id is a stored record. */
export type OnConflict = 'skip' | 'replace' | 'fail';

/** Options of `Entity.import`. */
export interface ImportOptions {
  /** Records written per batch, and the most held at once (default 500). */
  readonly batchSize?: number;
  /**
   * A line whose id is a stored record: `fail` (the default) throws an
   * `ImportError` (the lines before it imported), `skip` leaves the record as
   * it is, `replace` writes the line over it, at the line's version if that is
   * higher than the stored one, else at the stored version + 1.
   */
  readonly onConflict?: OnConflict;
  /** Called after each batch is written, with the counts so far. */
  readonly onProgress?: (progress: ImportReport) => void;
  /** Stops before the next line: the import throws the signal's reason; the batch being collected is not written. */
  readonly signal?: AbortSignal;
}

/** What `Entity.import` did. */
export interface ImportReport {
  /** Lines read, blank ones included. */
  readonly lines: number;
  /** Records written whose id was not stored (or deleted). */
  readonly imported: number;
  /** Lines left out because their id was stored (`onConflict: 'skip'`). */
  readonly skipped: number;
  /** Stored records written over (`onConflict: 'replace'`). */
  readonly replaced: number;
}

/** The fields of a line, in the order export writes them. */
const FIELDS = ['id', 'version', 'createdAt', 'updatedAt', 'value'] as const;
const SHAPE = '{"id","version","createdAt","updatedAt","value"}';
/** An ISO 8601 date and time with a zone, as `Date.prototype.toISOString` writes it (years may be extended). */
const ISO_DATE = /^(?:\d{4}|[+-]\d{6})-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:\d\d)$/;
/** How many times `replace` writes a line again over a record a concurrent writer changed meanwhile. */
const RETRIES = 5;
const ON_CONFLICT: readonly unknown[] = ['skip', 'replace', 'fail'];

/** Checks the `onProgress` and `signal` options shared by export and import. */
function checkCallbacks(where: string, options: ExportOptions | ImportOptions): void {
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new ValidationError(`${where}: onProgress must be a function, got ${describe(options.onProgress)}`);
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new ValidationError(`${where}: signal must be an AbortSignal, got ${describe(options.signal)}`);
  }
}

/** The serializer, once it is known to have the JSON form `what` needs. */
function withJsonForm(parts: EntityParts<any>, where: string, method: 'toJSON' | 'fromJSON'): Serializer {
  const serializer = parts.codec.current;
  if (typeof serializer[method] !== 'function') {
    throw new ValidationError(
      `${where}: serializer "${serializer.codec}" has no ${method}(), which export and import need (every waffle serializer has toJSON and fromJSON)`,
    );
  }
  return serializer;
}

/** Every live record as one NDJSON line (without its newline): see `Entity.export`. Options are checked at once. */
export function exportLines(parts: EntityParts<any>, options: ExportOptions): AsyncGenerator<string> {
  const where = `${parts.name}.export()`;
  checkOptions(options, where);
  const batchSize = checkCount(options.batchSize ?? 500, 1, where, 'batchSize');
  checkCallbacks(where, options);
  const serializer = withJsonForm(parts, where, 'toJSON');
  return lines(parts, serializer, batchSize, options);
}

async function* lines(
  parts: EntityParts<any>,
  serializer: Serializer,
  batchSize: number,
  options: ExportOptions,
): AsyncGenerator<string> {
  let records = 0;
  options.signal?.throwIfAborted();
  for await (const rows of scanRows(parts, batchSize, 'export')) {
    for (const row of rows) {
      if (isTombstone(row)) continue;
      // Decoded by the serializer of its codec tag (readers included), written in the current one's form.
      const doc = parts.codec.decode(row);
      let line: string;
      try {
        line = JSON.stringify({
          id: doc.id,
          version: doc.version,
          createdAt: doc.createdAt.toISOString(),
          updatedAt: doc.updatedAt.toISOString(),
          value: serializer.toJSON!(doc.value),
        });
      } catch (error) {
        throw new SerializationError(
          `${parts.name}.export(): record "${doc.id}" cannot be written in the JSON form of ${serializer.codec}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      records++;
      yield line;
    }
    options.onProgress?.({ records });
    options.signal?.throwIfAborted();
  }
}

/** A line checked and ready to write. */
interface Item<T> {
  readonly line: number;
  readonly id: string;
  readonly pending: Pending<T>;
  /** True when the write replaces a stored (live) record. */
  replaces: boolean;
}

/**
 * The error of a line whose record other writers changed before each of the
 * import's tries to write it (exported for its test).
 */
export function changedUnder(
  item: Pick<Item<unknown>, 'line' | 'id' | 'pending'>,
  error: ConflictError,
): ImportError {
  const found =
    error.currentVersion === undefined
      ? 'no stored record'
      : error.deleted
        ? `deleted at version ${error.currentVersion}`
        : `version ${error.currentVersion}`;
  return new ImportError(
    item.line,
    `record "${item.id}" was changed by another writer before each of the ${RETRIES + 1} tries to write it (the last expected version ${item.pending.expected}, found ${found})`,
    { cause: error },
  );
}

/** Imports NDJSON lines batch by batch: see `Entity.import`. */
export async function importLines<T>(
  parts: EntityParts<T>,
  writes: WritePath<T>,
  mode: WriteMode,
  input: AsyncIterable<string> | Iterable<string>,
  options: ImportOptions,
): Promise<ImportReport> {
  const where = `${parts.name}.import()`;
  checkOptions(options, where);
  const batchSize = checkCount(options.batchSize ?? 500, 1, where, 'batchSize');
  const onConflict = options.onConflict ?? 'fail';
  if (!ON_CONFLICT.includes(onConflict)) {
    throw new ValidationError(
      `${where}: onConflict must be "skip", "replace" or "fail", got ${describe(onConflict)}`,
    );
  }
  checkCallbacks(where, options);
  if (!isIterable(input)) {
    throw new ValidationError(
      `${where}: expected an iterable or async iterable of lines (strings), got ${describe(input)}`,
    );
  }
  const serializer = withJsonForm(parts, where, 'fromJSON');
  // Shards' limits (largest body) are known once they answered: each line's size is checked as it is read.
  await ready(parts);
  const { signal } = options;
  const report = { lines: 0, imported: 0, skipped: 0, replaced: 0 };
  let batch: Item<T>[] = [];
  let ids = new Set<string>();

  /** Writes the records collected; throws the ImportError of a stored id under `fail` after the lines before it. */
  const flush = async () => {
    const items = batch;
    batch = [];
    ids = new Set();
    if (items.length === 0) return;
    const stored = await readRows(
      parts,
      items.map((item) => item.id),
    );
    const toWrite: Item<T>[] = [];
    let refused: ImportError | undefined;
    for (const item of items) {
      const row = stored.get(item.id);
      if (row && !isTombstone(row)) {
        if (onConflict === 'skip') {
          report.skipped++;
          continue;
        }
        if (onConflict === 'fail') {
          refused = exists(item, writes.conflict(item.id, 0, row));
          break; // the lines after it stay unwritten
        }
        item.replaces = true;
      }
      // Over a stored record or a deletion's tombstone: compare-and-set on it, never below its version.
      if (row) {
        item.pending.expected = row.version;
        item.pending.read = row;
      }
      toWrite.push(item);
    }
    const raced = await writeItems(toWrite);
    options.onProgress?.({ ...report });
    if (raced ?? refused) throw raced ?? refused;
  };

  /** Writes checked lines; a stored record met meanwhile is skipped, replaced or refused as asked. */
  const writeItems = async (items: Item<T>[]): Promise<ImportError | undefined> => {
    let refused: ImportError | undefined;
    let failed: unknown;
    let round = items;
    for (let attempt = 0; round.length > 0; attempt++) {
      const errors = await writes.settle(
        round.map((item) => item.pending),
        mode,
      );
      const again: Item<T>[] = [];
      for (const item of round) {
        const error = errors.get(item.pending);
        if (error === undefined) {
          if (item.replaces) report.replaced++;
          else report.imported++;
          continue;
        }
        if (!ConflictError.is(error)) {
          failed ??= error;
          continue;
        }
        // A concurrent writer changed the id since it was read.
        const live = error.currentVersion !== undefined && !error.deleted;
        if (live && onConflict === 'skip') report.skipped++;
        else if (live && onConflict === 'fail') refused ??= exists(item, error);
        else if (attempt >= RETRIES) failed ??= changedUnder(item, error);
        else {
          item.pending.expected = error.currentVersion ?? 0;
          item.pending.read = undefined;
          item.replaces = live;
          again.push(item);
        }
      }
      round = again;
    }
    if (failed !== undefined) throw failed;
    return refused;
  };

  let refused: ImportError | undefined;
  for await (const raw of input) {
    signal?.throwIfAborted();
    const line = ++report.lines;
    try {
      const item = parse(parts, writes, serializer, raw, line);
      if (item === undefined) continue;
      // A batch holds an id once: a repeated id is written after the line before it.
      if (ids.has(item.id)) await flush();
      batch.push(item);
      ids.add(item.id);
    } catch (error) {
      if (!ImportError.is(error)) throw error;
      refused = error;
      break;
    }
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  if (refused) throw refused;
  return { ...report };
}

/** The ImportError of a line whose id is a stored record, under `onConflict: 'fail'`. */
function exists(item: Item<unknown>, conflict: ConflictError): ImportError {
  return new ImportError(
    item.line,
    `record "${item.id}" exists (version ${conflict.currentVersion}); onConflict is "fail" (pass "skip" or "replace" to import over stored records)`,
    { cause: conflict },
  );
}

/** A line's record, checked and ready to write; `undefined` for a blank line; else an {@link ImportError}. */
function parse<T>(
  parts: EntityParts<T>,
  writes: WritePath<T>,
  serializer: Serializer,
  raw: unknown,
  line: number,
): Item<T> | undefined {
  if (typeof raw !== 'string') {
    throw new ImportError(line, `expected a line of text (a string), got ${describe(raw)}`);
  }
  const text = raw.endsWith('\n') ? raw.slice(0, raw.endsWith('\r\n') ? -2 : -1) : raw;
  if (text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ImportError(line, `not valid JSON (${(error as Error).message})`, { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ImportError(line, `expected a record ${SHAPE}, got ${describe(parsed)}`);
  }
  const fields = parsed as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!(FIELDS as readonly string[]).includes(key)) {
      throw new ImportError(line, `unknown field ${JSON.stringify(key)}: a record line is ${SHAPE}`);
    }
  }
  for (const key of FIELDS) {
    if (!Object.hasOwn(fields, key))
      throw new ImportError(line, `"${key}" is missing: a record line is ${SHAPE}`);
  }
  let id: string;
  try {
    id = checkId(fields.id);
  } catch (error) {
    throw new ImportError(line, (error as Error).message, { cause: error });
  }
  const version = fields.version;
  if (!Number.isSafeInteger(version) || (version as number) < 1) {
    throw new ImportError(
      line,
      `record "${id}": "version" must be a positive integer, got ${describe(version)}`,
    );
  }
  const time = (key: 'createdAt' | 'updatedAt'): number => {
    const value = fields[key];
    const ms = typeof value === 'string' && ISO_DATE.test(value) ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(ms)) {
      throw new ImportError(
        line,
        `record "${id}": "${key}" must be a date in ISO 8601 form (e.g. "2026-01-31T12:00:00.000Z"), got ${describe(value)}`,
      );
    }
    return ms;
  };
  const times = { createdAt: time('createdAt'), updatedAt: time('updatedAt') };
  let value: T;
  try {
    value = serializer.fromJSON!(fields.value) as T;
  } catch (error) {
    throw new ImportError(
      line,
      `record "${id}": the value is not in the JSON form of ${serializer.codec}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const doc = {
    id,
    value,
    version: 0,
    createdAt: new Date(times.createdAt),
    updatedAt: new Date(times.updatedAt),
  };
  try {
    const pending: Pending<T> = { ...writes.prepare(doc, 'import'), minVersion: version as number, times };
    parts.codec.checkSize(id, pending.body, parts.placement.strategy.shards[pending.shard]!);
    return { line, id, pending, replaces: false };
  } catch (error) {
    throw new ImportError(line, (error as Error).message, { cause: error });
  }
}
