import { describe, expect, it } from 'vitest';
import { FIRST_BACKOFF_MS, MAX_BACKOFF_MS, ShardHealth, shardHealth } from '../src/health.js';
import { ConflictError, OutcomeUnknownError, QueryError, ShardUnavailableError } from '../src/index.js';
import { fakeShard } from './helpers.js';

const unavailable = () => new ShardUnavailableError('connect ECONNREFUSED 127.0.0.1:5433');

/** A breaker set over a clock the test moves by hand. */
function fakeClock() {
  let now = 1_000_000;
  const health = new ShardHealth(() => now);
  const advance = (ms: number) => {
    now += ms;
  };
  return { health, advance };
}

/**
 * A shard whose breaker has just opened, and `skippedFor(ms)`: checks that
 * calls are skipped for `ms` milliseconds from now, then one is let through.
 */
function opened() {
  const { health, advance } = fakeClock();
  const shard = fakeShard('a');
  health.reportFailure(shard, unavailable());
  const skippedFor = (ms: number) => {
    advance(ms - 1);
    expect(health.isUp(shard)).toBe(false);
    advance(1);
    expect(health.isUp(shard)).toBe(true);
  };
  return { health, advance, shard, skippedFor };
}

describe('ShardHealth: a circuit breaker per shard', () => {
  it('back-off constants: 1 s first, at most 30 s', () => {
    expect(FIRST_BACKOFF_MS).toBe(1_000);
    expect(MAX_BACKOFF_MS).toBe(30_000);
  });

  it('a shard is up until a call fails as unavailable', () => {
    const { health } = fakeClock();
    const shard = fakeShard('a');
    expect(health.isUp(shard)).toBe(true);
    expect(health.stateOf(shard)).toBe('closed');
    health.reportSuccess(shard);
    expect(health.isUp(shard)).toBe(true);
    expect(health.reportFailure(shard, unavailable())).toBe(true);
    expect(health.isUp(shard)).toBe(false);
    expect(health.stateOf(shard)).toBe('open');
  });

  it('only ShardUnavailableError opens it: other errors mean the database answered', () => {
    const { health } = fakeClock();
    const shard = fakeShard('a');
    const others = [
      new QueryError('syntax error', { sql: 'select', params: [], shard: 'a' }),
      new ConflictError('x', 1, 2),
      new Error('a bug'),
      'a string',
      undefined,
    ];
    for (const error of others) {
      expect(health.reportFailure(shard, error)).toBe(false);
      expect(health.isUp(shard)).toBe(true);
      expect(health.stateOf(shard)).toBe('closed');
    }
    // An unavailable error of another installed copy of core counts too (by its code).
    const foreign = Object.assign(new Error('down'), {
      code: 'SHARD_UNAVAILABLE',
      [Symbol.for('@waffle/core/error')]: true,
    });
    expect(health.reportFailure(shard, foreign)).toBe(true);
    expect(health.isUp(shard)).toBe(false);
    // And another error then closes it: the database answered.
    expect(health.reportFailure(shard, others[0])).toBe(false);
    expect(health.isUp(shard)).toBe(true);
  });

  it('after the back-off, one probe is let through; its success closes the breaker', () => {
    const { health, advance, shard } = opened();
    advance(FIRST_BACKOFF_MS - 1);
    expect(health.isUp(shard)).toBe(false);
    advance(1);
    expect(health.stateOf(shard)).toBe('half-open');
    expect(health.isUp(shard)).toBe(true); // the probe
    expect(health.stateOf(shard)).toBe('half-open');
    expect(health.isUp(shard)).toBe(false); // others wait for its answer
    health.reportSuccess(shard);
    expect(health.stateOf(shard)).toBe('closed');
    expect(health.isUp(shard)).toBe(true);
    expect(health.isUp(shard)).toBe(true);
  });

  it('each failed probe doubles the back-off, up to 30 s; a success starts again from 1 s', () => {
    const { health, shard, skippedFor } = opened();
    const seen: number[] = [];
    let backoff = FIRST_BACKOFF_MS;
    for (let round = 0; round < 8; round++) {
      skippedFor(backoff);
      seen.push(backoff);
      expect(health.reportFailure(shard, unavailable())).toBe(true);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
    expect(seen).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    skippedFor(MAX_BACKOFF_MS);
    health.reportSuccess(shard);
    expect(health.isUp(shard)).toBe(true);
    health.reportFailure(shard, unavailable());
    skippedFor(FIRST_BACKOFF_MS);
  });

  it('late failures while open do not extend the back-off', () => {
    const { health, advance, shard, skippedFor } = opened();
    advance(600);
    // Calls made before it opened fail now.
    health.reportFailure(shard, unavailable());
    health.reportFailure(shard, unavailable());
    skippedFor(400);
  });

  it('a failure once the back-off is over, before any probe, opens it for the next back-off', () => {
    const { health, advance, shard, skippedFor } = opened();
    advance(FIRST_BACKOFF_MS);
    health.reportFailure(shard, unavailable());
    skippedFor(2 * FIRST_BACKOFF_MS);
  });

  it('a probe never reported: another is let through one back-off later', () => {
    const { health, advance, shard, skippedFor } = opened();
    advance(FIRST_BACKOFF_MS);
    expect(health.isUp(shard)).toBe(true);
    skippedFor(FIRST_BACKOFF_MS);
  });

  it('breakers are per Shard object: one shard down leaves the others up', () => {
    const { health } = fakeClock();
    const [a, b] = [fakeShard('a'), fakeShard('a')];
    health.reportFailure(a, unavailable());
    expect(health.isUp(a)).toBe(false);
    expect(health.isUp(b)).toBe(true);
  });

  it('takes the time as an argument too', () => {
    const health = new ShardHealth(() => {
      throw new Error('the clock is not read when the time is given');
    });
    const shard = fakeShard('a');
    health.reportFailure(shard, unavailable(), 5_000);
    expect(health.isUp(shard, 5_999)).toBe(false);
    expect(health.stateOf(shard, 5_999)).toBe('open');
    expect(health.isUp(shard, 6_000)).toBe(true);
  });

  it('a connection lost once a commit was sent (OutcomeUnknownError) opens it too', () => {
    const { health } = fakeClock();
    const shard = fakeShard('a');
    expect(health.reportFailure(shard, new OutcomeUnknownError('a', 'write CONNECTION_CLOSED'))).toBe(true);
    expect(health.stateOf(shard)).toBe('open');
    expect(health.isPreferred(shard)).toBe(false);
  });

  it('a shard back after failing is behind: not preferred until a drain that started after it fell behind', () => {
    const { health, advance, shard } = opened();
    const other = fakeShard('b');
    expect(health.isPreferred(other)).toBe(true);
    expect(health.isPreferred(shard)).toBe(false);
    advance(FIRST_BACKOFF_MS);
    expect(health.isPreferred(shard)).toBe(false); // half-open: isPreferred lets no probe through
    expect(health.stateOf(shard)).toBe('half-open');
    expect(health.isUp(shard)).toBe(true); // the probe (a copy, say)
    health.reportAnswered(shard);
    expect(health.stateOf(shard)).toBe('closed');
    expect(health.isUp(shard)).toBe(true);
    expect(health.isPreferred(shard)).toBe(false); // up, but the writes it missed wait in notes
    // A drain that took its mark before the shard fell behind again does not make it current.
    const early = health.mark;
    health.reportFailure(shard, unavailable());
    advance(FIRST_BACKOFF_MS);
    health.reportAnswered(shard);
    health.caughtUp([shard, other], early);
    expect(health.isPreferred(shard)).toBe(false);
    // Nor one that finishes while its breaker is open.
    const mark = health.mark;
    health.reportFailure(shard, unavailable());
    health.caughtUp([shard], health.mark);
    expect(health.isPreferred(shard)).toBe(false);
    advance(FIRST_BACKOFF_MS);
    health.reportAnswered(shard);
    health.caughtUp([shard], mark - 1);
    expect(health.isPreferred(shard)).toBe(false);
    health.caughtUp([shard], health.mark);
    expect(health.isPreferred(shard)).toBe(true);
    expect(health.isPreferred(other)).toBe(true);
    // Other errors are answers: they close the breaker, and leave the shard behind.
    health.reportFailure(shard, unavailable());
    health.reportFailure(shard, new ConflictError('x', 1, 2));
    expect(health.stateOf(shard)).toBe('closed');
    expect(health.isPreferred(shard)).toBe(false);
    // reportSuccess declares it up and current.
    health.reportSuccess(shard);
    expect(health.isPreferred(shard)).toBe(true);
  });

  it('one shared instance for every entity, on the real clock', () => {
    const shard = fakeShard('shared');
    expect(shardHealth).toBeInstanceOf(ShardHealth);
    shardHealth.reportFailure(shard, unavailable());
    expect(shardHealth.isUp(shard)).toBe(false);
    shardHealth.reportSuccess(shard);
    expect(shardHealth.isUp(shard)).toBe(true);
  });
});
