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
 */
import { ShardUnavailableError } from './errors.js';
import type { Shard } from './types.js';

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
   * Reports a failed call to `shard`. Only a `ShardUnavailableError` counts:
   * it opens a closed breaker for {@link FIRST_BACKOFF_MS}, and opens a
   * half-open one (or one whose back-off is over) again for twice its last
   * back-off (at most {@link MAX_BACKOFF_MS}); while open, it changes nothing
   * (calls made before the breaker opened fail late). Any other error means the
   * database answered: it counts as a success. Returns whether the breaker
   * is open after the report.
   */
  reportFailure(shard: Shard, error: unknown, now: number = this.clock()): boolean {
    if (!ShardUnavailableError.is(error)) {
      this.reportSuccess(shard);
      return false;
    }
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

  /** Reports a call to `shard` that succeeded: its breaker closes and its back-off starts again from the first. */
  reportSuccess(shard: Shard): void {
    this.#tripped.delete(shard);
  }
}

/** The breakers of every shard in this process, shared by all entities and indices. */
export const shardHealth = new ShardHealth();
