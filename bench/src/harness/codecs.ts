/**
 * What the serializer benchmarks share: the document they encode (a blog post
 * with comments, JSON values only, so every codec stores the same thing), its
 * sizes, and encode/decode rates taken in rounds alternating over the codecs.
 */
import { alternateRounds, opsPerSecond, type Timing, warmUp } from './timing.js';

/**
 * A deterministic blog post whose JSON is at least `bytes` long: text,
 * numbers, booleans, nesting (JSON values only, so every codec stores the
 * same thing).
 */
export function blogDocument(bytes: number): Record<string, unknown> {
  let seed = 42;
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const words = [
    'waffle',
    'shard',
    'index',
    'record',
    'mapper',
    'query',
    'sunny',
    'blog',
    'post',
    'café',
    'naïve',
  ];
  const text = (n: number) =>
    Array.from({ length: n }, () => words[Math.floor(random() * words.length)]).join(' ');
  const comments: unknown[] = [];
  const post = {
    title: 'My First Blog Post',
    author: 'ann',
    created: 1_732_590_000_000,
    tags: ['sunny', 'first'],
    views: 3,
    published: true,
    comments,
  };
  while (JSON.stringify(post).length < bytes) {
    comments.push({
      id: Math.floor(random() * 1e9),
      author: text(1),
      text: text(8),
      score: Math.round(random() * 1000) / 10,
      likes: Math.floor(random() * 100),
      flagged: random() < 0.1,
    });
  }
  return post;
}

/** The document sizes of the serializer benchmarks: a label and the least length of its JSON. */
export const DOCUMENT_SIZES: readonly (readonly [label: string, bytes: number])[] = [
  ['1 KB', 1024],
  ['100 KB', 100 * 1024],
];

/** Something that encodes a document to a body and decodes it back: a serializer or a library. */
export interface BenchCodec {
  encode(value: unknown): unknown;
  /** Takes what `encode` returns. */
  decode(body: never): unknown;
}

/**
 * The encode and decode rates (calls per second, medians) of each codec on
 * `doc`, with its body: a warm-up each, then rounds alternating over the codecs.
 */
export async function codecRates<C extends BenchCodec>(
  codecs: readonly C[],
  doc: unknown,
  timing: Timing,
): Promise<{ codec: C; body: ReturnType<C['encode']>; encode: number; decode: number }[]> {
  const cases = codecs.map((codec) => {
    const body = codec.encode(doc) as ReturnType<C['encode']>;
    warmUp(() => codec.decode(codec.encode(doc) as never), timing.warmupMs);
    return { codec, body };
  });
  const medians = await alternateRounds(cases, timing.rounds, (c) => [
    opsPerSecond(() => c.codec.encode(doc), timing.roundMs),
    opsPerSecond(() => c.codec.decode(c.body as never), timing.roundMs),
  ]);
  return cases.map((c, i) => ({ ...c, encode: medians[i]![0]!, decode: medians[i]![1]! }));
}
