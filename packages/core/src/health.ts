/**
 * Shard health: a circuit breaker per {@link Shard} object, shared by every
 * entity and index that uses it, so one dead server does not cost each
 * operation a connect timeout. Pure logic over an injectable clock; core
 * decides which replica to use from it (see `coveringPositions`).
 *
 * States: `closed` (calls go through); `open` after a call failed with
 * `ShardUnavailableError` (calls are skipped for the back-off: 1 s first,
 * doubling up to 30 s); `half-open` once the back-off is over: the next call
 * is let through as a probe. Its success closes the breaker (and resets the
 * back-off); its failure as unavailable opens it again for the next back-off.
 *
 * A shard whose breaker opened is also *behind* from then on: the writes made
 * while it was skipped left it copies and index rows that wait in notes. Once
 * its breaker closes again it is called as before (copies, index rows,
 * probes), but reads and commits prefer the replicas that are not behind
 * ({@link ShardHealth.isPreferred}), so that no write is decided on an older
 * copy, until a `drain()` that started after it fell behind has delivered the
 * notes ({@link ShardHealth.caughtUp}).
 */
import { OutcomeUnknownError, ShardUnavailableError } from './errors.js';
import type { Shard } from './types.js';

/**
 * Whether `error` says a shard could not be reached: it failed as
 * unavailable, or its connection was lost once a call was sent (outcome
 * unknown). What opens a breaker, and what work over replicas is kept and
 * tried again after.
 */
export function unreachable(error: unknown): boolean {
  return ShardUnavailableError.is(error) || OutcomeUnknownError.is(error);
}

/** The back-off after the first failure as unavailable, in milliseconds. */
export const FIRST_BACKOFF_MS = 1_000;
/** The longest back-off, in milliseconds: each failed probe doubles the back-off up to this. */
export const MAX_BACKOFF_MS = 30_000;

/** The state of a shard's breaker. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** A breaker that has opened (a closed breaker has no entry). */
interface Tripped {
  /** The back-off of the current opening, in milliseconds. */
  backoff: number;
  /** Until when calls are skipped (open), or, once a probe was let through, until when it may answer before another is let through. */
  until: number;
  /** True once the back-off ended and a probe was let through. */
  probing: boolean;
}

/**
 * Circuit breakers of shards, one per Shard object (held weakly). Each
 * method takes the time (`now`, milliseconds) or reads it from the clock
 * given to the constructor.
 */
export class ShardHealth {
  readonly #tripped = new WeakMap<Shard, Tripped>();
  /** Shards behind (see the module's comment), by the mark of when they last fell behind. */
  readonly #behind = new WeakMap<Shard, number>();
  /** Increases each time a shard falls behind: `drain()` takes it at its start. */
  #mark = 0;

  /** @param clock the time in milliseconds (default `Date.now`); tests give a fake clock. */
  constructor(private readonly clock: () => number = Date.now) {}

  /**
   * Whether a call to `shard` should be made now: true when its breaker is
   * closed, and for the one probe let through once the back-off is over
   * (`half-open`). Calls after the probe are skipped until it is reported;
   * should it never be (a caller that did not report), another probe is let
   * through one back-off later.
   */
  isUp(shard: Shard, now: number = this.clock()): boolean {
    const tripped = this.#tripped.get(shard);
    if (!tripped) return true;
    if (now < tripped.until) return false;
    // The back-off (or the wait for the probe's answer) is over: this call is the probe.
    tripped.probing = true;
    tripped.until = now + tripped.backoff;
    return true;
  }

  /** The state of `shard`'s breaker at `now` (for status and tests; changes nothing). */
  stateOf(shard: Shard, now: number = this.clock()): BreakerState {
    const tripped = this.#tripped.get(shard);
    if (!tripped) return 'closed';
    return tripped.probing || now >= tripped.until ? 'half-open' : 'open';
  }

  /**
   * Reports a failed call to `shard`. Only a `ShardUnavailableError` or an
   * `OutcomeUnknownError` (a connection lost once a commit was sent) counts:
   * it opens a closed breaker for {@link FIRST_BACKOFF_MS}, and opens a
   * half-open one (or one whose back-off is over) again for twice its last
   * back-off (at most {@link MAX_BACKOFF_MS}); while open, it changes nothing
   * (calls made before the breaker opened fail late). Any other error means the
   * database answered: it counts as a success. Returns whether the breaker
   * is open after the report.
   */
  reportFailure(shard: Shard, error: unknown, now: number = this.clock()): boolean {
    if (!unreachable(error)) {
      this.reportAnswered(shard);
      return false;
    }
    this.#behind.set(shard, ++this.#mark);
    const tripped = this.#tripped.get(shard);
    if (!tripped) {
      this.#tripped.set(shard, { backoff: FIRST_BACKOFF_MS, until: now + FIRST_BACKOFF_MS, probing: false });
    } else if (tripped.probing || now >= tripped.until) {
      tripped.backoff = Math.min(tripped.backoff * 2, MAX_BACKOFF_MS);
      tripped.until = now + tripped.backoff;
      tripped.probing = false;
    }
    return true;
  }

  /**
   * Reports a call to `shard` that succeeded: its breaker closes and its
   * back-off starts again from the first. A shard that is behind stays so
   * until {@link ShardHealth.caughtUp}.
   */
  reportAnswered(shard: Shard): void {
    this.#tripped.delete(shard);
  }

  /**
   * Declares `shard` up and current (for tests and operators who know it):
   * its breaker closes and it is no longer behind.
   */
  reportSuccess(shard: Shard): void {
    this.#tripped.delete(shard);
    this.#behind.delete(shard);
  }

  /**
   * Whether reads and commits should pick `shard` first among the replicas
   * of a bucket: its breaker is closed and it is not behind. Changes nothing
   * (no probe is let through).
   */
  isPreferred(shard: Shard, now: number = this.clock()): boolean {
    return this.stateOf(shard, now) === 'closed' && !this.#behind.has(shard);
  }

  /** The current mark: what `drain()` passes to {@link ShardHealth.caughtUp} once it has finished. */
  get mark(): number {
    return this.#mark;
  }

  /**
   * Every note that existed at `mark` has been delivered (a `drain()` that
   * took `mark` at its start succeeded): the shards among `shards` that fell
   * behind before it, and whose breaker is closed, are current again.
   */
  caughtUp(shards: Iterable<Shard>, mark: number, now: number = this.clock()): void {
    for (const shard of shards) {
      const since = this.#behind.get(shard);
      if (since !== undefined && since <= mark && this.stateOf(shard, now) === 'closed')
        this.#behind.delete(shard);
    }
  }
}

/** The breakers of every shard in this process, shared by all entities and indices. */
export const shardHealth = new ShardHealth();
