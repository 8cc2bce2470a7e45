/**
 * Model-based test: random sequences of entity operations, each checked
 * against an in-memory model of the records and of what every index must
 * answer (brute force over the model's records with the index's mapper).
 *
 * The entity is the blog fixture over two record shards: `byGroup` lives
 * beside the records (its rows commit with them: always exact), `byTag` on
 * two other shards (ShardByColumn). Every shard goes through {@link Faults},
 * so that a "crash" command can fail one shard call (or every call from one
 * on) in the middle of a write, and an "outage" command makes the tag
 * index's databases refuse index writes until the next drain (async writes
 * go on, sync writes that need them fail). What the model demands is what
 * the README's guarantees say:
 *
 * - `get`/`getMany` are exact at all times, and every write's outcome
 *   (new version, or `ConflictError`/`NotFoundError` with its fields) is
 *   predicted exactly;
 * - `select` (awaited, iterated, or paged with `after` cursors to the end)
 *   never returns a record that does not match and never misses one, except
 *   a record whose last committed write was `async` and not drained yet, on
 *   the index that lives on other shards; what it returns is the model's
 *   answer in the model's order, less some of those records;
 * - `count` is exact on the index beside the records; on the other one it is
 *   exact when no `async` write or crash happened since the last `drain()`
 *   (and `repair()`, after a `sync` writer that died before its commit left
 *   rows no note knows of), never below the matches less the undrained
 *   records, and never above them when nothing stale can be left;
 * - after `drain()` (and `repair()`) every index answer is exact again, and
 *   `verify()` finds nothing missing (nothing at all without crashes).
 *
 * Each sequence runs in one write mode (the entity's) and some writes
 * override it. One set of tables serves 100 sequences (and a failing
 * sequence's shrinking starts on a new one); each sequence uses ids of its
 * own and deletes its records at the end, and the next one checks that the
 * tables hold no live record and no index row.
 */
import {
  and,
  ConflictError,
  type Doc,
  NotFoundError,
  not,
  type OrderTerm,
  or,
  type Predicate,
  type Shard,
  ShardUnavailableError,
  type WriteMode,
} from '@waffle/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Faults } from './faults.js';
import { blog, type Post, post, shardPool } from './fixtures.js';
import { type ConformanceOptions, uniqueName } from './options.js';
import { bruteForce } from './oracle.js';

// ---------------------------------------------------------------------------
// Steps: plain data, so that a failing sequence prints as it can be written back.

/** Local ids: few, so that commands collide (saves over stored ids, deletes of missing ones). */
export const MODEL_IDS = ['k0', 'k1', 'k2', 'k3', 'k4'] as const;
type Id = (typeof MODEL_IDS)[number];

/** The value a step saves (a {@link Post} less its fixed author). */
export type ModelValue = Omit<Post, 'author'>;

/**
 * Which version a save sends: `new` a record from `new()` (version 0); `held`
 * the last record object the test got for the id (from a save or a get, its
 * stored row remembered); `copy` a copy of it (the write reads the stored
 * row); `stale` a copy one version behind; `ahead` one version ahead.
 */
export type VersionChoice = 'new' | 'held' | 'copy' | 'stale' | 'ahead';

/** A leaf or node of a predicate on one index, by column name. */
export type PredicateSpec =
  | { op: 'eq' | 'ne' | 'lt' | 'lte' | 'gt' | 'gte'; col: string; value: string | number }
  | { op: 'in'; col: string; values: (string | number)[] }
  | { op: 'between'; col: string; low: string | number; high: string | number }
  | { op: 'isNull'; col: string }
  | { op: 'startsWith'; col: string; prefix: string }
  | { op: 'and' | 'or'; items: PredicateSpec[] }
  | { op: 'not'; item: PredicateSpec };

type IndexName = 'group' | 'tag';
type Mode = WriteMode | undefined;

export type WriteStep =
  | { kind: 'save'; id: Id; value: ModelValue; version: VersionChoice; mode?: WriteMode }
  | {
      kind: 'saveMany';
      entries: { id: Id; value: ModelValue; version: VersionChoice }[];
      mode?: WriteMode;
    }
  | { kind: 'update'; id: Id; patch: Partial<ModelValue>; mode?: WriteMode }
  | { kind: 'delete'; id: Id; expected?: 'current' | 'stale' | 'ahead'; mode?: WriteMode };

/** One command of a sequence. */
export type Step =
  | WriteStep
  | { kind: 'get'; id: Id }
  | { kind: 'getMany'; ids: Id[] }
  | {
      kind: 'select';
      index: IndexName;
      where?: PredicateSpec;
      orderBy: { col: string; dir: 'asc' | 'desc' }[];
      limit?: number;
      how: 'await' | 'iterate' | 'pages';
    }
  | { kind: 'count'; index: IndexName; where: PredicateSpec; verify: boolean }
  | { kind: 'drain'; repair: boolean; verify: boolean }
  /** The tag index's databases refuse index writes, until the next drain step. */
  | { kind: 'outage' }
  | { kind: 'crash'; write: WriteStep; failAt: number; persistent: boolean };

// ---------------------------------------------------------------------------
// Arbitraries: small value spaces, so that predicates match and ids collide.

const TITLES = ['a', 'ab', 'b', 'b%'];
const TAGS = ['a', 'ab', 'b', 'c'];

const valueArbitrary: fc.Arbitrary<ModelValue> = fc
  .record({
    title: fc.constantFrom(...TITLES),
    group: fc.integer({ min: 0, max: 2 }),
    score: fc.constantFrom(null, 0, 1.5),
    tags: fc.uniqueArray(fc.constantFrom(...TAGS), { maxLength: 3 }),
    rank: fc.integer({ min: 0, max: 2 }),
  })
  .map((v) => ({ ...v })); // fc.record's objects have no prototype

const patchArbitrary: fc.Arbitrary<Partial<ModelValue>> = fc
  .record(
    {
      title: fc.constantFrom(...TITLES),
      group: fc.integer({ min: 0, max: 2 }),
      score: fc.constantFrom(null, 0, 1.5),
      tags: fc.uniqueArray(fc.constantFrom(...TAGS), { maxLength: 3 }),
      rank: fc.integer({ min: 0, max: 2 }),
    },
    { requiredKeys: [] },
  )
  .map((v) => ({ ...v }));

/** The columns of each index, with the values predicates compare them to (a little wider than stored). */
const COLUMNS: Record<IndexName, Record<string, { values: (string | number)[]; text: boolean }>> = {
  group: {
    group: { values: [-1, 0, 1, 2, 3], text: false },
    title: { values: ['', 'a', 'ab', 'b', 'b%', 'c', '_'], text: true },
    score: { values: [-1, 0, 1.5, 2], text: false },
  },
  tag: {
    tag: { values: ['', 'a', 'ab', 'b', 'c', 'd'], text: true },
    rank: { values: [-1, 0, 1, 2, 3], text: false },
  },
};
const PREFIXES = ['', 'a', 'b', 'b%', '%', '_'];

function leafArbitrary(index: IndexName): fc.Arbitrary<PredicateSpec> {
  const leaves = Object.entries(COLUMNS[index]).map(([col, { values, text }]) => {
    const value = fc.constantFrom(...values);
    const options: fc.Arbitrary<PredicateSpec>[] = [
      fc
        .tuple(fc.constantFrom('eq', 'ne', 'lt', 'lte', 'gt', 'gte' as const), value)
        .map(([op, v]) => ({ op, col, value: v })),
      fc.array(value, { maxLength: 3 }).map((vs) => ({ op: 'in' as const, col, values: vs })),
      fc.tuple(value, value).map(([low, high]) => ({ op: 'between' as const, col, low, high })),
      fc.constant({ op: 'isNull' as const, col }),
    ];
    if (text) options.push(fc.constantFrom(...PREFIXES).map((prefix) => ({ op: 'startsWith', col, prefix })));
    return fc.oneof(...options);
  });
  return fc.oneof(...leaves);
}

function predicateSpecArbitrary(index: IndexName): fc.Arbitrary<PredicateSpec> {
  const leaf = leafArbitrary(index);
  const { node } = fc.letrec<{ node: PredicateSpec }>((tie) => ({
    node: fc.oneof(
      { maxDepth: 2, depthIdentifier: `model-${index}` },
      { arbitrary: leaf, weight: 4 },
      {
        arbitrary: fc
          .array(tie('node'), { maxLength: 3 })
          .map((items): PredicateSpec => ({ op: 'and', items })),
        weight: 1,
      },
      {
        arbitrary: fc
          .array(tie('node'), { maxLength: 3 })
          .map((items): PredicateSpec => ({ op: 'or', items })),
        weight: 1,
      },
      { arbitrary: tie('node').map((item): PredicateSpec => ({ op: 'not', item })), weight: 1 },
    ),
  }));
  return node as fc.Arbitrary<PredicateSpec>;
}

function orderSpecArbitrary(index: IndexName) {
  return fc.shuffledSubarray(Object.keys(COLUMNS[index]), { maxLength: 2 }).chain((cols) =>
    fc
      .array(fc.constantFrom('asc' as const, 'desc' as const), {
        minLength: cols.length,
        maxLength: cols.length,
      })
      .map((dirs) => cols.map((col, i) => ({ col, dir: dirs[i]! }))),
  );
}

const idArbitrary = fc.constantFrom(...MODEL_IDS);
const modeArbitrary: fc.Arbitrary<Mode> = fc.constantFrom(undefined, undefined, 'sync', 'async');
const versionArbitrary = fc.constantFrom<VersionChoice>('new', 'held', 'held', 'copy', 'stale', 'ahead');

const writeArbitrary: fc.Arbitrary<WriteStep> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({ id: idArbitrary, value: valueArbitrary, version: versionArbitrary, mode: modeArbitrary })
      .map((s) => withMode({ kind: 'save', id: s.id, value: s.value, version: s.version }, s.mode)),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({
        entries: fc.uniqueArray(
          fc.record({ id: idArbitrary, value: valueArbitrary, version: versionArbitrary }),
          {
            minLength: 1,
            maxLength: 3,
            selector: (e) => e.id,
          },
        ),
        mode: modeArbitrary,
      })
      .map((s) => withMode({ kind: 'saveMany', entries: s.entries }, s.mode)),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({ id: idArbitrary, patch: patchArbitrary, mode: modeArbitrary })
      .map((s) => withMode({ kind: 'update', id: s.id, patch: s.patch }, s.mode)),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({
        id: idArbitrary,
        expected: fc.constantFrom(
          undefined,
          undefined,
          'current' as const,
          'stale' as const,
          'ahead' as const,
        ),
        mode: modeArbitrary,
      })
      .map((s) =>
        withMode(
          s.expected ? { kind: 'delete', id: s.id, expected: s.expected } : { kind: 'delete', id: s.id },
          s.mode,
        ),
      ),
  },
);

function withMode<S extends WriteStep>(step: S, mode: Mode): S {
  return mode ? { ...step, mode } : step;
}

function selectArbitrary(index: IndexName): fc.Arbitrary<Step> {
  return fc
    .record({
      where: fc.option(predicateSpecArbitrary(index), { nil: undefined, freq: 6 }),
      orderBy: orderSpecArbitrary(index),
      limit: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
      how: fc.constantFrom('await' as const, 'iterate' as const, 'pages' as const),
    })
    .map(({ where, orderBy, limit, how }) => {
      const step: Step = { kind: 'select', index, orderBy, how };
      if (where) step.where = where;
      if (limit !== undefined) step.limit = limit;
      return step;
    });
}

/** One random command. */
export const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { weight: 10, arbitrary: writeArbitrary },
  { weight: 1, arbitrary: idArbitrary.map((id): Step => ({ kind: 'get', id })) },
  {
    weight: 1,
    arbitrary: fc.array(idArbitrary, { maxLength: 5 }).map((ids): Step => ({ kind: 'getMany', ids })),
  },
  { weight: 3, arbitrary: selectArbitrary('tag') },
  { weight: 2, arbitrary: selectArbitrary('group') },
  {
    weight: 2,
    arbitrary: fc
      .record({ index: fc.constantFrom<IndexName>('group', 'tag', 'tag'), verify: fc.boolean() })
      .chain(({ index, verify }) =>
        predicateSpecArbitrary(index).map((where): Step => ({ kind: 'count', index, where, verify })),
      ),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({ repair: fc.boolean(), verify: fc.boolean() })
      .map(({ repair, verify }): Step => ({ kind: 'drain', repair, verify })),
  },
  { weight: 1, arbitrary: fc.constant<Step>({ kind: 'outage' }) },
  {
    weight: 3,
    arbitrary: fc
      .record({ write: writeArbitrary, failAt: fc.integer({ min: 1, max: 5 }), persistent: fc.boolean() })
      .map(({ write, failAt, persistent }): Step => ({ kind: 'crash', write, failAt, persistent })),
  },
);

// ---------------------------------------------------------------------------
// The model.

interface ModelRecord {
  value: ModelValue;
  version: number;
  deleted: boolean;
}

/** What the test knows the stored state is, and what it allows queries to miss. */
export interface Model {
  /** The entity's write mode in this sequence. */
  readonly mode: WriteMode;
  readonly records: Map<Id, ModelRecord>;
  /** Records whose last committed write was `async` and not drained: the tag index may miss them. */
  readonly pending: Set<Id>;
  /** Stale index rows may remain on the tag index (async writes, crashes) until `drain()`. */
  stale: boolean;
  /** Rows of writes that never committed may remain on the tag index (a sync writer's crash) until `repair()`. */
  orphans: boolean;
  /** The tag index's databases refuse index writes (an outage step, until the next drain step). */
  down: boolean;
}

/** What a step runs against: the entity of the sequence's mode, over shards that can fail. */
interface Real {
  readonly fixture: ReturnType<typeof blog>;
  readonly faults: Faults;
  /** Faults of the tag index's shards alone: an outage of its databases. */
  readonly outage: Faults;
  readonly errors: unknown[];
  readonly prefix: string;
  /** The last record object the test got for each id (its stored row remembered by the entity). */
  readonly held: Map<Id, Doc<Post>>;
  readonly stats: ModelStats;
}

const fullId = (real: Real, id: Id) => `${real.prefix}.${id}`;
const localId = (real: Real, id: string) => id.slice(real.prefix.length + 1) as Id;

function toPost(value: ModelValue): Post {
  return post({ ...value, tags: [...value.tags] });
}

function modelValue(p: Post): ModelValue {
  const { author: _, ...rest } = p;
  return rest;
}

/** The docs the model holds, live ones only, for brute force. */
function liveDocs(model: Model, real: Real): Doc<Post>[] {
  const docs: Doc<Post>[] = [];
  for (const [id, r] of model.records) {
    if (r.deleted) continue;
    const at = new Date(0);
    docs.push({
      id: fullId(real, id),
      value: toPost(r.value),
      version: r.version,
      createdAt: at,
      updatedAt: at,
    });
  }
  return docs;
}

type Outcome =
  | { ok: true; version: number }
  | { ok: false; error: 'conflict'; current?: number; deleted: boolean };

/** What saving `id` at version `sent` must do. */
function predictSave(model: Model, id: Id, sent: number): Outcome {
  const r = model.records.get(id);
  if (!r) return sent === 0 ? { ok: true, version: 1 } : { ok: false, error: 'conflict', deleted: false };
  if (r.deleted) {
    // A new record goes on after the tombstone; so does a write at the deletion's version (the stored
    // version does not differ); any other version is a conflict that says the record was deleted.
    return sent === 0 || sent === r.version
      ? { ok: true, version: r.version + 1 }
      : { ok: false, error: 'conflict', current: r.version, deleted: true };
  }
  return sent === r.version
    ? { ok: true, version: r.version + 1 }
    : { ok: false, error: 'conflict', current: r.version, deleted: false };
}

function expectConflict(error: unknown, id: string, expected: number, outcome: Outcome, what: string): void {
  if (outcome.ok) throw new Error(`${what}: expected a success`);
  expect(ConflictError.is(error), `${what}: expected a ConflictError, got ${String(error)}`).toBe(true);
  const e = error as ConflictError;
  expect(
    { id: e.id, expectedVersion: e.expectedVersion, currentVersion: e.currentVersion, deleted: e.deleted },
    what,
  ).toEqual({ id, expectedVersion: expected, currentVersion: outcome.current, deleted: outcome.deleted });
}

/** Records a committed write of `id` in the model. */
function committed(model: Model, id: Id, record: ModelRecord, mode: WriteMode): void {
  model.records.set(id, record);
  if (mode === 'async') {
    model.pending.add(id);
    model.stale = true;
  } else model.pending.delete(id);
}

async function settle<V>(work: () => Promise<V>): Promise<{ value?: V; error?: unknown; threw: boolean }> {
  try {
    return { value: await work(), threw: false };
  } catch (error) {
    return { error, threw: true };
  }
}

/** The record object a save sends, and the version it carries. */
function recordFor(real: Real, model: Model, id: Id, value: ModelValue, choice: VersionChoice): Doc<Post> {
  const { posts } = real.fixture;
  const held = real.held.get(id);
  const stored = model.records.get(id);
  if (choice === 'new' || (!held && !stored)) return posts.new(toPost(value), { id: fullId(real, id) });
  const base = held ?? posts.new(toPost(value), { id: fullId(real, id) });
  switch (choice) {
    case 'held':
      if (held) {
        held.value = toPost(value);
        return held;
      }
      return { ...base, value: toPost(value), version: stored!.version };
    case 'copy':
      return { ...base, value: toPost(value) };
    case 'stale':
      return { ...base, value: toPost(value), version: Math.max(0, base.version - 1) };
    case 'ahead':
      return { ...base, value: toPost(value), version: base.version + 1 };
  }
}

// ---------------------------------------------------------------------------
// Running a step.

/** A write about to run: what it sends, and what the model expects of each record it touches. */
interface PlannedWrite {
  readonly ids: Id[];
  readonly mode: WriteMode;
  run(): Promise<unknown>;
  /** Checks the outcome of a write that no fault touched, and applies it to the model. */
  check(result: { value?: unknown; error?: unknown; threw: boolean }): void;
  /** What each record may be after a crash: its state before, or after the write (undefined: deleted or absent). */
  readonly after: Map<Id, ModelRecord | undefined>;
}

function planWrite(step: WriteStep, model: Model, real: Real): PlannedWrite {
  const { posts } = real.fixture;
  const mode = step.mode ?? model.mode;
  const options = step.mode ? { mode: step.mode } : {};
  const what = JSON.stringify(step);
  switch (step.kind) {
    case 'save':
    case 'saveMany': {
      const entries = step.kind === 'save' ? [step] : step.entries;
      const sent = entries.map((e) => {
        const record = recordFor(real, model, e.id, e.value, e.version);
        const version = record.version;
        return { e, record, version, outcome: predictSave(model, e.id, version) };
      });
      const after = new Map<Id, ModelRecord | undefined>();
      for (const s of sent) {
        if (s.outcome.ok) after.set(s.e.id, { value: s.e.value, version: s.outcome.version, deleted: false });
      }
      return {
        ids: entries.map((e) => e.id),
        mode,
        after,
        run: () =>
          step.kind === 'save'
            ? posts.save(sent[0]!.record, options)
            : posts.saveMany(
                sent.map((s) => s.record),
                options,
              ),
        check: ({ error, threw }) => {
          const first = sent.find((s) => !s.outcome.ok);
          if (first) {
            real.stats.conflicts++;
            expect(threw, `${what}: expected a ConflictError for ${first.e.id}`).toBe(true);
            expectConflict(error, fullId(real, first.e.id), first.version, first.outcome, what);
          } else if (threw) throw error;
          for (const s of sent) {
            if (s.outcome.ok) {
              expect(s.record.version, `${what}: version of ${s.e.id}`).toBe(s.outcome.version);
              committed(model, s.e.id, after.get(s.e.id)!, mode);
              real.held.set(s.e.id, s.record);
            } else {
              expect(s.record.version, `${what}: ${s.e.id} lost, its version unchanged`).toBe(s.version);
            }
          }
        },
      };
    }
    case 'update': {
      const r = model.records.get(step.id);
      const live = r && !r.deleted ? r : undefined;
      const after = new Map<Id, ModelRecord | undefined>();
      const next = live && {
        value: { ...live.value, ...step.patch },
        version: live.version + 1,
        deleted: false,
      };
      if (next) after.set(step.id, next);
      return {
        ids: [step.id],
        mode,
        after,
        run: () =>
          posts.update(fullId(real, step.id), (v) => toPost({ ...modelValue(v), ...step.patch }), options),
        check: ({ value, error, threw }) => {
          if (!next) {
            real.stats.conflicts++;
            expect(NotFoundError.is(error), `${what}: expected a NotFoundError, got ${String(error)}`).toBe(
              true,
            );
            return;
          }
          if (threw) throw error;
          const doc = value as Doc<Post>;
          expect({ version: doc.version, value: modelValue(doc.value) }, what).toEqual({
            version: next.version,
            value: next.value,
          });
          committed(model, step.id, next, mode);
          real.held.set(step.id, doc);
        },
      };
    }
    case 'delete': {
      const r = model.records.get(step.id);
      const live = r && !r.deleted ? r : undefined;
      const base = r?.version ?? 0;
      const expected =
        step.expected === undefined
          ? undefined
          : Math.max(1, step.expected === 'current' ? base : step.expected === 'stale' ? base - 1 : base + 1);
      const conflict =
        expected !== undefined && (!live || expected !== live.version)
          ? ({ ok: false, error: 'conflict', current: r?.version, deleted: r?.deleted === true } as const)
          : undefined;
      const after = new Map<Id, ModelRecord | undefined>();
      const gone =
        live && !conflict ? { value: live.value, version: live.version + 1, deleted: true } : undefined;
      if (gone) after.set(step.id, gone);
      return {
        ids: [step.id],
        mode,
        after,
        run: () =>
          posts.delete(
            fullId(real, step.id),
            expected === undefined ? options : { ...options, expectedVersion: expected },
          ),
        check: ({ value, error, threw }) => {
          if (conflict) {
            real.stats.conflicts++;
            expect(threw, `${what}: expected a ConflictError`).toBe(true);
            expectConflict(error, fullId(real, step.id), expected!, conflict, what);
            return;
          }
          if (threw) throw error;
          expect(value, `${what}: delete() returns whether there was a record`).toBe(gone !== undefined);
          if (gone) {
            model.records.set(step.id, gone);
            model.pending.delete(step.id);
            if (mode === 'async') model.stale = true;
          }
        },
      };
    }
  }
}

function sameRecord(doc: Doc<Post> | undefined, r: ModelRecord | undefined): boolean {
  if (!doc) return !r || r.deleted;
  return !!r && !r.deleted && doc.version === r.version && sameValue(modelValue(doc.value), r.value);
}

function sameValue(a: ModelValue, b: ModelValue): boolean {
  const fields = (v: ModelValue) => JSON.stringify([v.title, v.group, v.score, v.tags, v.rank]);
  return fields(a) === fields(b);
}

function expectRecord(doc: Doc<Post> | undefined, r: ModelRecord | undefined, what: string): void {
  const seen = doc && { version: doc.version, value: modelValue(doc.value) };
  const want = r && !r.deleted ? { version: r.version, value: r.value } : undefined;
  expect(seen, what).toEqual(want);
}

function build(real: Real, index: IndexName, spec: PredicateSpec): Predicate {
  const ix = index === 'group' ? real.fixture.byGroup : real.fixture.byTag;
  const c = ix.c as Record<string, any>;
  switch (spec.op) {
    case 'and':
      return and(...spec.items.map((p) => build(real, index, p)));
    case 'or':
      return or(...spec.items.map((p) => build(real, index, p)));
    case 'not':
      return not(build(real, index, spec.item));
    case 'in':
      return c[spec.col].in(spec.values);
    case 'between':
      return c[spec.col].between(spec.low, spec.high);
    case 'isNull':
      return c[spec.col].isNull();
    case 'startsWith':
      return c[spec.col].startsWith(spec.prefix);
    default:
      return c[spec.col][spec.op](spec.value);
  }
}

function columnsOf(spec: PredicateSpec | undefined): number {
  if (!spec) return 0;
  if (spec.op === 'and' || spec.op === 'or') return spec.items.reduce((n, p) => n + columnsOf(p), 0);
  if (spec.op === 'not') return columnsOf(spec.item);
  return 1;
}

/**
 * The query a select or count step makes. A predicate without a column
 * (`and()`) names no index: it gets `not(isNull(first column))` beside it,
 * true for every row (the first columns are NOT NULL).
 */
function queryOf(
  real: Real,
  index: IndexName,
  where: PredicateSpec | undefined,
  order: { col: string; dir: 'asc' | 'desc' }[],
) {
  const ix = index === 'group' ? real.fixture.byGroup : real.fixture.byTag;
  const c = ix.c as Record<string, any>;
  const orderBy: OrderTerm[] = order.map((o) => (o.dir === 'asc' ? c[o.col].asc() : c[o.col].desc()));
  let predicate = where && build(real, index, where);
  if (columnsOf(where) === 0 && orderBy.length === 0) {
    const first = index === 'group' ? c.group : c.tag;
    predicate = predicate ? and(predicate, not(first.isNull())) : not(first.isNull());
  }
  return { ix, where: predicate, orderBy };
}

/**
 * Checks a query's ids against the model's answer: exactly the answer (up to
 * `limit`), or, when some matching records may be missed, the answer less
 * some of those, in the same order.
 */
function expectAnswer(
  got: string[],
  answer: string[],
  mayMiss: ReadonlySet<string>,
  limit: number | undefined,
  what: string,
): void {
  const cap = limit ?? Number.POSITIVE_INFINITY;
  if (!answer.some((id) => mayMiss.has(id))) {
    expect(got, what).toEqual(answer.slice(0, cap));
    return;
  }
  let j = 0;
  let i = 0;
  for (; i < answer.length && j < got.length; i++) {
    if (answer[i] === got[j]) j++;
    else if (!mayMiss.has(answer[i]!)) break;
  }
  const rest = answer.slice(i);
  const fine =
    j === got.length && got.length <= cap && (got.length === cap || rest.every((id) => mayMiss.has(id)));
  if (!fine) {
    expect.fail(
      `${what}: got ${JSON.stringify(got)}, expected ${JSON.stringify(answer)}${limit ? ` (limit ${limit})` : ''} less some of the undrained ${JSON.stringify([...mayMiss])}`,
    );
  }
}

/** Injected failures reported to onIndexError are expected; anything else is not. */
function expectOnlyInjected(real: Real, what: string): void {
  const other = real.errors.filter(
    (e) => !(ShardUnavailableError.is(e) && /Injected fault/.test(String((e as Error).message))),
  );
  expect(other.map(String), `${what}: onIndexError got errors that no fault injected`).toEqual([]);
  real.errors.length = 0;
}

/** What the runs exercised: a run that never conflicts, crashes or matches proves little. */
export interface ModelStats {
  sequences: number;
  steps: number;
  conflicts: number;
  crashes: number;
  /** Crashes whose fault struck, and of those, writes that committed anyway. */
  struck: number;
  committedAnyway: number;
  /** Queries (selects and counts) with a non-empty answer, and those that may miss records. */
  queries: number;
  nonEmpty: number;
  weak: number;
  /** Records a query did miss (async, not drained yet). */
  missed: number;
  drains: number;
}

export const newStats = (): ModelStats => ({
  sequences: 0,
  steps: 0,
  conflicts: 0,
  crashes: 0,
  struck: 0,
  committedAnyway: 0,
  queries: 0,
  nonEmpty: 0,
  weak: 0,
  missed: 0,
  drains: 0,
});

/**
 * Runs a write: with `crash`, shard call number `failAt` fails (and every
 * later one when `persistent`). A write that no fault touched (injected, or
 * of the tag index's outage) must do exactly what the model predicts; one
 * that a fault struck may have committed or not, per record: the records are
 * read to learn which, and each must be either as before or as written.
 */
async function runWrite(
  step: WriteStep,
  model: Model,
  real: Real,
  crash?: { failAt: number; persistent: boolean },
): Promise<void> {
  const what = JSON.stringify(step);
  const planned = planWrite(step, model, real);
  if (crash) real.faults.arm(crash);
  const down = real.outage.failures;
  const result = await settle(() => planned.run());
  // Background work of an async write that starts from now on meets no injected fault.
  const struck = (crash !== undefined && real.faults.failures > 0) || real.outage.failures > down;
  real.faults.disarm();
  if (!struck) {
    planned.check(result);
    return;
  }
  const { error } = result;
  if (
    result.threw &&
    !ShardUnavailableError.is(error) &&
    !ConflictError.is(error) &&
    !NotFoundError.is(error)
  ) {
    throw error;
  }
  real.stats.struck++;
  const docs = await real.fixture.posts.getMany(planned.ids.map((id) => fullId(real, id)));
  planned.ids.forEach((id, i) => {
    const before = model.records.get(id);
    const after = planned.after.get(id);
    const doc = docs[i];
    if (after && sameRecord(doc, after) && (!after.deleted || !sameRecord(doc, before))) {
      committed(model, id, after, planned.mode);
      real.stats.committedAnyway++;
      if (doc) real.held.set(id, doc);
      else model.pending.delete(id);
    } else if (!sameRecord(doc, before)) {
      const seen = doc && { version: doc.version, value: modelValue(doc.value) };
      expect.fail(
        `${what}: after a fault, record ${id} is ${JSON.stringify(seen)}: neither before ${JSON.stringify(before)} nor after ${JSON.stringify(after)}`,
      );
    }
  });
  // A failed finish leaves stale rows for drain(); a sync writer's rows put before a failed commit, for repair().
  model.stale = true;
  if (planned.mode === 'sync') model.orphans = true;
}

async function runStep(step: Step, model: Model, real: Real): Promise<void> {
  real.stats.steps++;
  const { posts } = real.fixture;
  const what = JSON.stringify(step);
  switch (step.kind) {
    case 'save':
    case 'saveMany':
    case 'update':
    case 'delete':
      await runWrite(step, model, real);
      break;
    case 'crash':
      real.stats.crashes++;
      await runWrite(step.write, model, real, { failAt: step.failAt, persistent: step.persistent });
      break;
    case 'outage':
      // The tag index's databases refuse index writes until the next drain step.
      if (!model.down)
        real.outage.arm({ failAt: 1, persistent: true, only: ['putIndexRows', 'deleteIndexRows'] });
      model.down = true;
      break;
    case 'get': {
      const doc = await posts.get(fullId(real, step.id));
      expectRecord(doc, model.records.get(step.id), what);
      if (doc) real.held.set(step.id, doc);
      break;
    }
    case 'getMany': {
      const docs = await posts.getMany(step.ids.map((id) => fullId(real, id)));
      expect(docs, what).toHaveLength(step.ids.length);
      step.ids.forEach((id, i) => {
        expectRecord(docs[i], model.records.get(id), `${what} [${i}]`);
      });
      break;
    }
    case 'select': {
      const { ix, where, orderBy } = queryOf(real, step.index, step.where, step.orderBy);
      const answer = bruteForce(liveDocs(model, real), ix, where, orderBy);
      const mayMiss = new Set(step.index === 'tag' ? [...model.pending].map((id) => fullId(real, id)) : []);
      const got: Doc<Post>[] = [];
      if (step.how === 'await') got.push(...(await posts.select(where, { orderBy, limit: step.limit })));
      else if (step.how === 'iterate') {
        for await (const doc of posts.select(where, { orderBy, limit: step.limit })) got.push(doc);
      } else {
        const size = step.limit ?? 2;
        let after: string | undefined;
        for (let pages = 0; ; pages++) {
          expect(pages, `${what}: pages never end`).toBeLessThan(50);
          const page = await posts.select(where, { orderBy, limit: size, after }).page();
          got.push(...page.records);
          if (!page.next) break;
          expect(page.records, `${what}: a page before the last is full`).toHaveLength(size);
          after = page.next;
        }
      }
      const limit = step.how === 'pages' ? undefined : step.limit;
      expectAnswer(
        got.map((d) => d.id),
        answer,
        mayMiss,
        limit,
        what,
      );
      real.stats.queries++;
      if (answer.length > 0) real.stats.nonEmpty++;
      if (answer.some((id) => mayMiss.has(id))) real.stats.weak++;
      if (limit === undefined) real.stats.missed += answer.length - got.length;
      for (const doc of got)
        expectRecord(doc, model.records.get(localId(real, doc.id)), `${what}: ${doc.id}`);
      break;
    }
    case 'count': {
      const { ix, where } = queryOf(real, step.index, step.where, []);
      const answer = bruteForce(liveDocs(model, real), ix, where, []);
      const n = await posts.count(where!, { verify: step.verify });
      const exact = answer.length;
      real.stats.queries++;
      if (exact > 0) real.stats.nonEmpty++;
      if (step.index === 'group') {
        expect(n, `${what}: the index beside the records is exact`).toBe(exact);
        break;
      }
      // Exact when nothing can be missed or counted twice; else within what can be.
      const missable = answer.filter((id) => model.pending.has(localId(real, id))).length;
      expect(
        n,
        `${what}: the matches (${exact}) less the undrained (${missable}) at least`,
      ).toBeGreaterThanOrEqual(exact - missable);
      if (step.verify || (!model.stale && !model.orphans)) {
        expect(n, `${what}: no stale or orphan row can be counted`).toBeLessThanOrEqual(exact);
      }
      break;
    }
    case 'drain': {
      if (model.down) {
        real.outage.disarm();
        model.down = false;
      }
      const report = await posts.drain();
      real.stats.drains++;
      expect(report.finished, `${what}: every note finished`).toBe(report.notes);
      model.pending.clear();
      model.stale = false;
      if (step.repair) {
        await posts.repair(undefined, { graceMs: 0 });
        model.orphans = false;
      }
      if (step.verify) {
        const found = await posts.verify();
        const want = model.orphans ? { missing: 0 } : { missing: 0, orphaned: 0, stale: 0 };
        expect(found, `${what}: after drain()${step.repair ? ' and repair()' : ''}`).toMatchObject(want);
      }
      break;
    }
  }
  expectOnlyInjected(real, what);
}

class StepCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly step: Step) {}
  check(): boolean {
    return true;
  }
  run(model: Model, real: Real): Promise<void> {
    return runStep(this.step, model, real);
  }
  toString(): string {
    return JSON.stringify(this.step);
  }
}

// ---------------------------------------------------------------------------
// The suite.

/**
 * How many sequences a run checks: `options.modelRuns` (default 300), times
 * `scale`, times 10 when `WAFFLE_LONG=1` (`pnpm test:long`).
 */
export function modelRuns(options: ConformanceOptions, env: NodeJS.ProcessEnv = process.env): number {
  const base = Math.max(20, Math.round((options.modelRuns ?? 300) * (options.scale ?? 1)));
  return env.WAFFLE_LONG === '1' ? base * 10 : base;
}

/** A sequence written out: the entity's mode and its steps, as a failing run prints them. */
export interface ModelCase {
  readonly name: string;
  readonly mode: WriteMode;
  readonly steps: readonly Step[];
}

const value = (tags: string[]): ModelValue => ({ title: 'a', group: 0, score: null, tags, rank: 0 });

/** Sequences that share one set of tables, before the next set replaces it. */
const SEQUENCES_PER_TABLES = 100;

/** Sequences that once failed, kept as they were found (shrunk and written out). */
export const MODEL_REGRESSIONS: readonly ModelCase[] = [
  {
    // Found on PostgreSQL (seed -1679091842): an async write whose note was not applied, then a sync
    // write of the same value that put the note's rows again, tagged with its own version, and
    // failed to commit. The record's row now carried a version that was never committed; verify and
    // repair found it right (the record produces it), and the next write, committed at that very
    // version, did not remove it: a deleted record's row, after drain() and repair().
    name: 'a row re-put by a sync write that failed to commit is removed by the next write at its version',
    mode: 'async',
    steps: [
      // Call 1 commits the record, call 2 (putting its note's row) fails: the note stays.
      {
        kind: 'crash',
        write: { kind: 'save', id: 'k0', value: value(['a']), version: 'new' },
        failAt: 2,
        persistent: false,
      },
      // Call 1 reads the record, call 2 puts the note's row again with tag 2, call 3 (the commit) fails.
      {
        kind: 'crash',
        write: { kind: 'save', id: 'k0', value: value(['a']), version: 'held', mode: 'sync' },
        failAt: 3,
        persistent: false,
      },
      { kind: 'drain', repair: true, verify: true },
      { kind: 'delete', id: 'k0', mode: 'sync' },
      { kind: 'count', index: 'tag', where: { op: 'eq', col: 'tag', value: 'a' }, verify: false },
    ],
  },
  {
    // Found on MariaDB (seed -2144473138), now covered deterministically by the MySQL adapter's own
    // test: the commit of the second saveMany, InnoDB's deadlock victim against the background
    // clearNotes of the first one, failed with a QueryError instead of running again. It fails
    // only when the two meet, so this sequence rarely fails, even without the fix.
    name: 'an async saveMany beside the background work of the one before never fails on a deadlock',
    mode: 'async',
    steps: [
      {
        kind: 'saveMany',
        entries: [
          { id: 'k4', value: { ...value(['c']), group: 1, rank: 1 }, version: 'new' },
          { id: 'k3', value: { ...value(['b']), title: 'ab', group: 2, rank: 2 }, version: 'copy' },
        ],
      },
      {
        kind: 'saveMany',
        entries: [
          { id: 'k4', value: { ...value([]), group: 1, score: 1.5, rank: 1 }, version: 'held' },
          { id: 'k3', value: { ...value(['a']), title: 'b%', score: 1.5 }, version: 'new' },
          { id: 'k1', value: { ...value([]), title: 'ab', group: 2, score: 0 }, version: 'stale' },
        ],
      },
    ],
  },
  {
    // Found on MariaDB (seed 735927012), now covered deterministically by the held-step suite ("two
    // finishers of one note"): the background finish of the first save cleared its note, and MySQL's
    // clearNotes (an update, then a read) read the record after the update had made version 2, so the
    // finish took itself for overtaken and deleted the row 'ab' that version 2 still produces. It
    // fails only when the update lands between the two statements.
    name: 'a background finish whose record moves on right after its note is cleared keeps the rows',
    mode: 'async',
    steps: [
      { kind: 'saveMany', entries: [{ id: 'k0', value: value(['ab']), version: 'new' }] },
      { kind: 'save', id: 'k0', value: value([]), version: 'new' },
      { kind: 'update', id: 'k0', patch: {} },
      { kind: 'select', index: 'tag', orderBy: [{ col: 'tag', dir: 'asc' }], how: 'await', limit: 1 },
    ],
  },
];

/**
 * The model-based suite: {@link modelRuns} random sequences of at most 25
 * commands over one set of tables, then each kept regression.
 */
export function modelSuite(options: ConformanceOptions): void {
  const open = shardPool(options);
  const openIndex = options.openIndexShards
    ? shardPool({ ...options, openShards: options.openIndexShards })
    : open;
  const runs = modelRuns(options);

  /** One set of tables, and the entity over them in each mode. */
  const tables = async () => {
    const faults = new Faults();
    const outage = new Faults();
    const shards = (await open(2)).map((s) => faults.wrap(s));
    const tagShards = (await openIndex(2)).map((s) => faults.wrap(outage.wrap(s)));
    const errors: unknown[] = [];
    /** Tables of their own, and the entity over them in each mode. */
    const made = async () => {
      const names = {
        post: uniqueName('model'),
        byGroup: uniqueName('model_grp'),
        byTag: uniqueName('model_tag'),
      };
      const make = (mode: WriteMode) =>
        blog(options, shards, tagShards, names, { mode, onIndexError: (error) => errors.push(error) });
      const both = { sync: make('sync'), async: make('async') };
      await both.sync.posts.create();
      return both;
    };
    let fixtures = await made();
    let sequence = 0;
    let last: string | undefined;
    const stats = newStats();
    return {
      stats,
      faults,
      errors,
      async run(mode: WriteMode, commands: Iterable<fc.AsyncCommand<Model, Real>>) {
        if (sequence > 0 && sequence % SEQUENCES_PER_TABLES === 0) {
          // The sequences' tombstones pile up, and drain, verify and repair read them all: new tables.
          await fixtures.sync.posts.drop();
          fixtures = await made();
        }
        const fixture = fixtures[mode];
        const real: Real = {
          fixture,
          faults,
          outage,
          errors,
          prefix: `s${(sequence++).toString(36)}`,
          held: new Map(),
          stats,
        };
        stats.sequences++;
        const model: Model = {
          mode,
          records: new Map(),
          pending: new Set(),
          stale: false,
          orphans: false,
          down: false,
        };
        await expectEmpty(fixture, shards, tagShards, 'before the sequence', last);
        last = `${mode} ${[...commands].map(String).join(', ')}`;
        let failed = true;
        try {
          await fc.asyncModelRun(() => ({ model, real }), commands);
          await settleAndCheck(model, real);
          failed = false;
        } finally {
          faults.disarm();
          outage.disarm();
          if (failed) {
            // Whatever a failing sequence left, the next one (fast-check shrinking) starts on new tables.
            await fixture.posts.drop().catch(() => {});
            fixtures = await made();
          } else await clean(real, shards, tagShards);
        }
      },
    };
  };

  describe('model', () => {
    it(
      `${runs} random sequences of writes, crashes, drains and queries agree with an in-memory model, in both write modes`,
      async () => {
        const world = await tables();
        // A failure prints its seed and path: WAFFLE_MODEL_SEED and WAFFLE_MODEL_PATH replay it.
        const { WAFFLE_MODEL_SEED: seed, WAFFLE_MODEL_PATH: path } = process.env;
        const replay = seed ? { seed: Number(seed), ...(path ? { path, endOnFailure: true } : {}) } : {};
        await fc.assert(
          fc.asyncProperty(
            fc.constantFrom<WriteMode>('sync', 'async'),
            fc.commands([stepArbitrary.map((step) => new StepCommand(step))], {
              maxCommands: 25,
              size: 'medium',
            }),
            (mode, commands) => world.run(mode, commands),
          ),
          { numRuns: runs, ...replay },
        );
        if (process.env.WAFFLE_MODEL_STATS) console.log(`${options.name} model:`, world.stats);
      },
      Math.max(60_000, runs * 3_000),
    );

    for (const regression of MODEL_REGRESSIONS) {
      it(`regression: ${regression.name}`, async () => {
        const world = await tables();
        await world.run(
          regression.mode,
          regression.steps.map((step) => new StepCommand(step)),
        );
      });
    }
  });
}

/** Every live record and index row of the sequence is gone (the tables are shared by the sequences). */
async function expectEmpty(
  fixture: ReturnType<typeof blog>,
  shards: Shard[],
  tagShards: Shard[],
  when: string,
  previous?: string,
) {
  const { posts, byGroup, byTag } = fixture;
  const counts = await Promise.all([
    ...shards.map((s) => s.countRows({ kind: 'entity', name: posts.name })),
    ...shards.map((s) => s.countRows(byGroup.table)),
    ...tagShards.map((s) => s.countRows(byTag.table)),
  ]);
  if (counts.every((n) => n === 0)) return;
  const rows = await Promise.all(
    tagShards.map((s) =>
      s.queryIndex(byTag.table, {
        where: undefined,
        orderBy: [{ column: '__id', direction: 'asc' }],
        limit: 20,
      }),
    ),
  );
  expect.fail(
    `${when}: live records and index rows left (records, group rows, tag rows per shard: ${JSON.stringify(counts)}); tag rows: ${JSON.stringify(rows.map((r) => r.map((h) => [h.id, h.values, h.version])))}${previous ? `; the sequence before: ${previous}` : ''}`,
  );
}

/** After the last step: drain (and repair), then every answer is exact and verify finds nothing. */
async function settleAndCheck(model: Model, real: Real): Promise<void> {
  const { posts, byGroup, byTag } = real.fixture;
  real.outage.disarm();
  model.down = false;
  const report = await posts.drain();
  expect(report.finished, 'final drain: every note finished').toBe(report.notes);
  model.pending.clear();
  model.stale = false;
  const before = await posts.verify();
  expect(before, 'after the final drain').toMatchObject(
    model.orphans ? { missing: 0 } : { missing: 0, orphaned: 0, stale: 0 },
  );
  if (model.orphans) {
    await posts.repair(undefined, { graceMs: 0 });
    model.orphans = false;
    expect(await posts.verify(), 'after the final repair').toMatchObject({
      missing: 0,
      orphaned: 0,
      stale: 0,
    });
  }
  const docs = liveDocs(model, real);
  for (const [ix, where] of [
    [byGroup, not(byGroup.c.group.isNull())],
    [byTag, not(byTag.c.tag.isNull())],
  ] as const) {
    const answer = bruteForce(docs, ix, where, []);
    expect(
      (await posts.select(where)).map((d) => d.id),
      `final select on ${ix.name}`,
    ).toEqual(answer);
    expect(await posts.count(where), `final count on ${ix.name}`).toBe(answer.length);
  }
  expectOnlyInjected(real, 'final drain');
}

/** Deletes the sequence's records and checks that nothing of it is left in the tables the sequences share. */
async function clean(real: Real, shards: Shard[], tagShards: Shard[]): Promise<void> {
  const { posts } = real.fixture;
  // The sequence ended drained and repaired (settleAndCheck): sync deletes leave no index row.
  for (const id of MODEL_IDS) await posts.delete(fullId(real, id), { mode: 'sync' });
  expectOnlyInjected(real, 'clean-up');
  await expectEmpty(real.fixture, shards, tagShards, 'after the sequence');
}
