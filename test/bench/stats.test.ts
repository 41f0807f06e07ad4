// The interval bench/gateway prints beside its p99 ratio (bench/support/stats.ts): it must include 1
// when two targets draw from the same distribution, exclude it when one is clearly slower, and not move
// between two runs over the same samples.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { coresAllowPerSecond, ratioInterval } from '../../bench/support/stats.ts';
import { seededRandom } from '../support/seeded.ts';

/** `rounds` rounds of `calls` latencies: mostly ~2 ms, a tail of 3 % near `tail` ms, from a fixed sequence. */
function rounds(count: number, calls: number, tail: number, seed: number): number[][] {
  const next = seededRandom(seed);
  return Array.from({ length: count }, () =>
    Array.from({ length: calls }, () => (next() < 0.03 ? tail + next() : 2 + next() * 0.5)),
  );
}

test('alike targets: the p99 ratio interval includes 1', () => {
  const { low, high } = ratioInterval(rounds(30, 200, 6, 1), rounds(30, 200, 6, 2), 99);
  assert.ok(low < 1 && high > 1, `${low}–${high}`);
});

test('a target with a tail twice as long: the interval excludes 1, and says by about how much', () => {
  const { low, high } = ratioInterval(rounds(30, 200, 12, 3), rounds(30, 200, 6, 4), 99);
  assert.ok(low > 1.5 && high < 2.5, `${low}–${high}`);
});

test('the same samples give the same interval', () => {
  const a = rounds(10, 100, 8, 5);
  const b = rounds(10, 100, 6, 6);
  assert.deepEqual(ratioInterval(a, b, 99), ratioInterval(a, b, 99));
});

test('what the cores allow: all of them busy, each request paying server and load generator', () => {
  // The ninth round's Tether+SQLite: 447 µs in the server and 84 µs in autocannon, on 2 cores.
  assert.equal(coresAllowPerSecond(2, 447, 84), 3766);
  assert.equal(coresAllowPerSecond(2, 738, 90), 2415);
  // Twice the cores, twice the bound; a costlier load generator lowers it.
  assert.equal(coresAllowPerSecond(4, 447, 84), 7532);
  assert.ok(coresAllowPerSecond(2, 447, 184) < coresAllowPerSecond(2, 447, 84));
  assert.equal(coresAllowPerSecond(2, 0, 0), Number.POSITIVE_INFINITY);
});
