import { SerializationError, type Serializer } from '@waffle/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { thrown } from './thrown.js';

export { equalButNegativeZero, serializerValues } from './serializer-values.js';

/** How {@link serializerConformance} reaches a serializer, and the domain it checks it on. */
export interface SerializerConformanceOptions {
  /** A label for the suite, e.g. `msgpack` or `gzip+json`. */
  readonly name: string;
  readonly serializer: Serializer;
  /** Values the codec must read back as they were written (its domain). */
  readonly values: fc.Arbitrary<unknown>;
  /**
   * Whether a decoded value equals the value encoded (default: vitest's
   * `toEqual`). Give one where the codec makes a documented change, e.g. JSON
   * reading `-0` back as `0`.
   */
  readonly equal?: (decoded: unknown, original: unknown) => boolean;
  /**
   * Values the codec must refuse with a `SerializationError`, each with a part
   * its message must contain (typically what and where: `a BigInt at $.a`).
   */
  readonly unrepresentable: readonly (readonly [value: unknown, messagePart: string])[];
  /**
   * Stored bodies the codec must refuse to decode with a `SerializationError`,
   * besides the suite's own (bytes no codec of waffle accepts, and a truncated
   * body of the codec's own).
   */
  readonly garbage?: readonly (string | Uint8Array)[];
  /** Runs of each property (default 300). */
  readonly numRuns?: number;
  /**
   * Whether the serializer has a JSON form (`toJSON` and `fromJSON`, which
   * `Entity.export` and `Entity.import` need): default true, and both are
   * checked (round trips through `JSON.stringify` and `JSON.parse`, refusals).
   */
  readonly jsonForm?: boolean;
  /**
   * JSON forms `fromJSON` must refuse with a `SerializationError`, each with
   * a part its message must contain.
   */
  readonly invalidForms?: readonly (readonly [form: unknown, messagePart: string])[];
}

/** Bodies no serializer of waffle may accept: not UTF-8, not JSON, not MessagePack (0xC1 is never used). */
const GARBAGE: readonly (string | Uint8Array)[] = [
  new Uint8Array([0xc1, 0xff, 0xfe, 0x00, 0x13, 0x37]),
  new Uint8Array([0xc1]),
  '\u0000{not a body',
];

/** A value inside every codec's domain, whose encoding is cut in half by the truncation test. */
const SAMPLE = {
  title: 'conformance',
  tags: ['a', 'b', 'c'],
  count: 12_345,
  nested: { ok: true, s: 'x'.repeat(40) },
};

function sameBytes(a: string | Uint8Array, b: string | Uint8Array): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

function storableText(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed() && !text.includes('\u0000');
}

function describeBody(body: string | Uint8Array): string {
  if (typeof body === 'string') return JSON.stringify(body.length > 40 ? `${body.slice(0, 40)}…` : body);
  return `bytes ${Buffer.from(body.subarray(0, 20)).toString('hex')}${body.length > 20 ? '…' : ''}`;
}

/** The same bytes at a non-zero offset of a larger buffer (as drivers often hand them out). */
function atOffset(bytes: Uint8Array): Uint8Array {
  const buffer = new Uint8Array(bytes.length + 7);
  buffer.fill(0xee);
  buffer.set(bytes, 3);
  return buffer.subarray(3, 3 + bytes.length);
}

/**
 * The conformance suite every serializer runs: round trips over the codec's
 * domain (fast-check), deterministic output matching the declared format (text
 * storable in any text column; bytes read back from Buffers and offsets too),
 * a stable codec tag, values left unchanged by encoding, typed refusals of
 * what the codec cannot represent, and typed errors for stored bodies it
 * cannot read. Call it at the top of a test file.
 *
 * @example
 * serializerConformance({ name: 'json', serializer: json(), values: fc.jsonValue(), unrepresentable: [[{ a: 1n }, 'a BigInt at $.a']] });
 */
export function serializerConformance(options: SerializerConformanceOptions): void {
  const { serializer: codec, values, unrepresentable } = options;
  const numRuns = options.numRuns ?? 300;
  const check = (decoded: unknown, original: unknown) => {
    if (options.equal) expect(options.equal(decoded, original), 'decoded value differs').toBe(true);
    else expect(decoded).toEqual(original);
  };

  describe(`${options.name} serializer conformance`, () => {
    it('has a non-empty, stable codec tag and a format', () => {
      const tag = codec.codec;
      expect(typeof tag).toBe('string');
      expect(tag.length).toBeGreaterThan(0);
      expect(tag.trim()).toBe(tag);
      expect(['text', 'binary']).toContain(codec.format);
      codec.decode(codec.encode(SAMPLE));
      expect(codec.codec).toBe(tag);
    });

    it('round-trips every value of its domain, in its declared format, deterministically', () => {
      fc.assert(
        fc.property(values, (value) => {
          const body = codec.encode(value);
          if (codec.format === 'text') {
            expect(typeof body).toBe('string');
            // Storable in any text column: well-formed Unicode, and no U+0000 (PostgreSQL's text refuses it).
            expect(storableText(body as string), 'a lone surrogate or U+0000 in a text body').toBe(true);
          } else {
            expect(body).toBeInstanceOf(Uint8Array);
          }
          check(codec.decode(body), value);
          expect(sameBytes(codec.encode(value), body), 'the same value encoded twice differs').toBe(true);
        }),
        { numRuns },
      );
    });

    if (codec.format === 'binary') {
      it('reads binary bodies handed out as Buffers or at an offset of a larger buffer', () => {
        fc.assert(
          fc.property(values, (value) => {
            const body = codec.encode(value) as Uint8Array;
            check(codec.decode(Buffer.from(body)), value);
            check(codec.decode(atOffset(body)), value);
          }),
          { numRuns: Math.ceil(numRuns / 3) },
        );
      });
    }

    it('leaves the value it encodes unchanged', () => {
      fc.assert(
        fc.property(values, (value) => {
          let before: unknown;
          try {
            before = structuredClone(value);
          } catch {
            return; // not cloneable: nothing to compare with
          }
          codec.encode(value);
          expect(value).toEqual(before);
        }),
        { numRuns: Math.ceil(numRuns / 3) },
      );
    });

    refusals('refuses unrepresentable value', unrepresentable, (value) => codec.encode(value));

    if (options.jsonForm !== false) jsonFormTests(options, check, numRuns);

    it('refuses garbage bodies with a SerializationError', () => {
      for (const body of [...GARBAGE, ...(options.garbage ?? [])]) {
        const error = thrown(() => codec.decode(body), describeBody(body));
        expect(SerializationError.is(error), `${describeBody(body)}: ${String(error)}`).toBe(true);
      }
    });

    it('refuses a truncated body with a SerializationError that keeps the cause', () => {
      const body = codec.encode(SAMPLE);
      const half =
        typeof body === 'string' ? body.slice(0, body.length >> 1) : body.subarray(0, body.length >> 1);
      const error = thrown(() => codec.decode(half), describeBody(half));
      expect(SerializationError.is(error), `${describeBody(half)}: ${String(error)}`).toBe(true);
      expect((error as Error).cause, 'the underlying error as cause').toBeDefined();
    });
  });
}

/** The JSON form of a serializer: `toJSON`, then `JSON.stringify` and `JSON.parse`, then `fromJSON`, gives the value back. */
function jsonFormTests(
  options: SerializerConformanceOptions,
  check: (decoded: unknown, original: unknown) => void,
  numRuns: number,
): void {
  const { serializer: codec, values, unrepresentable } = options;
  const toJSON = (value: unknown) => {
    expect(typeof codec.toJSON, 'toJSON, which export needs').toBe('function');
    return codec.toJSON!(value);
  };
  const fromJSON = (form: unknown) => {
    expect(typeof codec.fromJSON, 'fromJSON, which import needs').toBe('function');
    return codec.fromJSON!(form);
  };

  it('round-trips every value of its domain through its JSON form (JSON.stringify and JSON.parse between), deterministically', () => {
    fc.assert(
      fc.property(values, (value) => {
        const text = JSON.stringify(toJSON(value));
        expect(typeof text).toBe('string');
        check(fromJSON(JSON.parse(text)), value);
        expect(JSON.stringify(toJSON(value)), 'the same value written twice differs').toBe(text);
        // The form read back is the value a body read back is.
        check(fromJSON(JSON.parse(text)), codec.decode(codec.encode(value)));
      }),
      { numRuns },
    );
  });

  refusals('toJSON refuses unrepresentable value', unrepresentable, toJSON);
  refusals('fromJSON refuses invalid form', options.invalidForms ?? [], fromJSON);
}

/** One test per case: `work(input)` throws a SerializationError whose message contains the case's part. */
function refusals(
  title: string,
  cases: readonly (readonly [input: unknown, messagePart: string])[],
  work: (input: unknown) => unknown,
): void {
  if (cases.length === 0) return;
  it.each(cases.map(([input, part], n) => [n, part, input] as const))(
    `${title} #%i with a SerializationError mentioning "%s"`,
    (_n, part, input) => {
      const error = thrown(() => work(input), title);
      expect(SerializationError.is(error), `not a SerializationError: ${String(error)}`).toBe(true);
      expect((error as Error).message).toContain(part);
    },
  );
}
