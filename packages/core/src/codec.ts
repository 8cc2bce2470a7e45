/**
 * Record encoding: values to stored bodies with the entity's serializer, and
 * stored rows back to records with the serializer of their codec tag, sizes
 * checked before anything is written; and the tombstone a deletion leaves.
 */
import { utf8 } from './base64.js';
import { checkCount } from './checks.js';
import type { Doc } from './doc.js';
import { SerializationError, ValidationError, WaffleError } from './errors.js';
import { describe } from './names.js';
import type { RowsByIndex } from './notes.js';
import type { RecordRow, Serializer, Shard } from './types.js';

/**
 * The codec tag of a tombstone: the row a delete leaves (empty body, no index
 * rows), so that a record's versions never repeat, even when its id is used
 * again. Serializers' tags are never empty.
 */
export const TOMBSTONE = '';

/** True for the row of a deletion. */
export function isTombstone(row: { readonly codec: string }): boolean {
  return row.codec === TOMBSTONE;
}

/** True for an object that implements {@link Serializer}. */
export function isSerializer(value: unknown): value is Serializer {
  const s = value as Serializer;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.codec === 'string' &&
    s.codec.length > 0 &&
    typeof s.encode === 'function' &&
    typeof s.decode === 'function'
  );
}

/** Encodes an entity's records and decodes its stored rows. */
export class RecordCodec<T> {
  /** Every serializer that can read rows, by codec tag. */
  readonly codecs: ReadonlyMap<string, Serializer>;

  constructor(
    private readonly entity: string,
    readonly serializer: unknown,
    readers: readonly unknown[] | undefined,
    readonly maxBodyBytes: number | undefined,
  ) {
    if (!isSerializer(serializer)) {
      throw new ValidationError(
        `Entity "${entity}": a serializer is required, e.g. json() from @waffle/serializer-json`,
      );
    }
    const codecs = new Map([[serializer.codec, serializer]]);
    for (const reader of readers ?? []) {
      if (!isSerializer(reader)) {
        throw new ValidationError(`Entity "${entity}": readers must be serializers, got ${describe(reader)}`);
      }
      if (codecs.has(reader.codec)) {
        throw new ValidationError(`Entity "${entity}": two serializers have the codec tag "${reader.codec}"`);
      }
      codecs.set(reader.codec, reader);
    }
    this.codecs = codecs;
    if (maxBodyBytes !== undefined) checkCount(maxBodyBytes, 1, `Entity "${entity}"`, 'maxBodyBytes');
  }

  /** The current serializer. */
  get current(): Serializer {
    return this.serializer as Serializer;
  }

  /** A record's value as a stored body; {@link SerializationError} when the codec cannot represent it. */
  encode(doc: Doc<T>): string | Uint8Array {
    const serializer = this.current;
    let body: string | Uint8Array;
    try {
      body = serializer.encode(doc.value);
    } catch (error) {
      if (WaffleError.is(error)) throw error;
      throw new SerializationError(
        `Record "${doc.id}" of ${this.entity} cannot be encoded with ${serializer.codec}`,
        { cause: error },
      );
    }
    if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
      throw new SerializationError(
        `Serializer ${serializer.codec} returned ${describe(body)}, not a string or bytes`,
      );
    }
    return body;
  }

  /** Refuses a body larger than the entity or the shard accepts, before anything is written. */
  checkSize(id: string, body: string | Uint8Array, shard: Shard): void {
    const limits = [this.maxBodyBytes, shard.limits.maxBodyBytes].filter((n): n is number => n !== undefined);
    if (limits.length === 0) return;
    const max = Math.min(...limits);
    // A string's UTF-8 size is at most 3 bytes per UTF-16 unit: measure only when that could exceed the limit.
    const size = typeof body === 'string' ? (body.length * 3 <= max ? 0 : utf8(body).length) : body.length;
    if (size > max) {
      throw new ValidationError(
        `Record "${id}" of ${this.entity} is ${size} bytes once encoded, more than the ${max} bytes ${
          max === this.maxBodyBytes ? 'this entity allows (maxBodyBytes)' : `shard ${shard.name} accepts`
        }`,
      );
    }
  }

  /** The record of a stored row (not a tombstone). */
  decode(row: Pick<RecordRow, 'id' | 'codec' | 'body' | 'version' | 'createdAt' | 'updatedAt'>): Doc<T> {
    // The current serializer's rows are compared by tag: a row's tag is a new string, hashed by a lookup.
    const { current } = this;
    const serializer = row.codec === current.codec ? current : this.codecs.get(row.codec);
    if (!serializer) {
      throw new SerializationError(
        `Record "${row.id}" of ${this.entity} was written with codec "${row.codec}", which is not configured: ` +
          `add its serializer to the entity's readers (configured: ${[...this.codecs.keys()].map((c) => `"${c}"`).join(', ')})`,
      );
    }
    let value: T;
    try {
      value = serializer.decode(row.body) as T;
    } catch (error) {
      if (WaffleError.is(error)) throw error;
      throw new SerializationError(
        `Record "${row.id}" of ${this.entity} cannot be decoded with ${row.codec}`,
        {
          cause: error,
        },
      );
    }
    return {
      id: row.id,
      value,
      version: row.version,
      createdAt: new Date(row.createdAt),
      updatedAt: new Date(row.updatedAt),
    };
  }

  /**
   * The stored row a record read by `get` (or `update`) was read from, or a
   * record was last written as, so that saving it again needs no second read
   * of the row it replaces (bulk reads do not remember: their records are
   * many and mostly only read): the write path takes the old index rows and
   * the note from here, and were the row stale, the compare-and-set fails as
   * it would have. It is kept on the record itself under this codec's own
   * symbol, not enumerable (invisible to `Object.keys`, spread, JSON and
   * equality checks): a weak map of many records cost the garbage collector
   * more than a `saveMany` of them. A record this process wrote keeps the
   * index rows it was written with too: saved again, its old rows need no
   * decoding of the stored body and no mapper run.
   */
  readonly #stored = Symbol(`waffle.stored`);

  /** The record of a stored row (not a tombstone), remembered with its row for a later save. */
  load(row: RecordRow): Doc<T> {
    const doc = this.decode(row);
    this.remember(doc, row);
    return doc;
  }

  /** The record of a stored row, or `undefined` for a tombstone. */
  docOf(row: RecordRow): Doc<T> | undefined {
    return isTombstone(row) ? undefined : this.decode(row);
  }

  /** Remembers the row a record was read or written as, with the index rows it was written with (`rows`, one list per index). */
  remember(doc: Doc<T>, row: RecordRow, rows?: RowsByIndex): void {
    // A frozen or sealed record cannot carry it (a row it carries from before is of an older version): saved again, it is read first.
    if (!Object.isExtensible(doc)) return;
    const stored: Stored = { row, rows };
    Object.defineProperty(doc, this.#stored, { value: stored, writable: true, configurable: true });
  }

  /** The stored row of `doc` at its current version (and its index rows, when written here), if this codec handed it out or wrote it. */
  stored(doc: Doc<T>): Stored | undefined {
    const stored = (doc as unknown as Record<symbol, Stored | undefined>)[this.#stored];
    return stored !== undefined && stored.row.version === doc.version ? stored : undefined;
  }
}

/** A record's stored row, and the index rows it was written with when this process wrote it. */
export interface Stored {
  readonly row: RecordRow;
  /** One list per index of the entity: the rows the mapper gave for the value written as `row`. */
  readonly rows?: RowsByIndex;
}

/** Deepest nesting {@link keptExactly} walks; deeper values are checked the slow way. */
const MAX_WALK_DEPTH = 64;

/**
 * True when every serializer reads `value` back exactly as it is: strings,
 * booleans, null, finite numbers (not -0), arrays without holes or
 * `undefined`, and plain objects of these. False for anything else (a Date,
 * a Map, a class instance, a bigint, …), which a serializer may keep or not:
 * the write path then reads the body back to compare the index rows.
 */
export function keptExactly(value: unknown, depth = 0): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object': {
      if (value === null) return true;
      if (depth >= MAX_WALK_DEPTH) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          if (!(i in value) || !keptExactly(value[i], depth + 1)) return false;
        }
        return true;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const key in value) {
        const v = (value as Record<string, unknown>)[key];
        if (v !== undefined && !keptExactly(v, depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}
