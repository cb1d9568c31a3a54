import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { now } from '../../src/core/skill-run.js';

describe('now: a status timestamp', () => {
  /** Runs `body` with Date.now() answering `clock()`. */
  function withClock(clock: () => number, body: () => void): void {
    const real = Date.now;
    Date.now = clock;
    try {
      body();
    } finally {
      Date.now = real;
    }
  }

  test('is the current time in ISO form, the same string within a millisecond, and the next millisecond a new one', () => {
    let t = Date.UTC(2026, 10, 30, 8, 0, 0, 123);
    withClock(
      () => t,
      () => {
        const first = now();
        assert.equal(first, '2026-11-30T08:00:00.123Z');
        assert.equal(now(), first);
        t += 1;
        assert.equal(now(), '2026-11-30T08:00:00.124Z');
      },
    );
  });

  test('follows the clock backwards too (a stepped system clock), never keeping the later time', () => {
    let t = Date.UTC(2026, 10, 30, 8, 0, 0, 500);
    withClock(
      () => t,
      () => {
        assert.equal(now(), '2026-11-30T08:00:00.500Z');
        t -= 60_000;
        assert.equal(now(), '2026-11-30T07:59:00.500Z');
      },
    );
  });

  test('on the real clock, lies between the times read just before and just after', () => {
    const before = Date.now();
    const stamp = Date.parse(now());
    const after = Date.now();
    assert.ok(stamp >= before && stamp <= after, `${stamp} not in [${before}, ${after}]`);
  });
});
