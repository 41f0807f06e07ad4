// The nesting-depth scan that runs before every JSON body is parsed agrees with the depth of the
// parsed value, whatever the strings hold (quotes, backslashes, brackets), and stops early.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { jsonDepth } from '../../src/adapters/shared/json-depth.ts';

function depthOf(v: unknown): number {
  if (typeof v !== 'object' || v === null) return 0;
  const children = Array.isArray(v) ? v : Object.values(v);
  return 1 + children.reduce<number>((m, c) => Math.max(m, depthOf(c)), 0);
}

const tricky = fc.stringMatching(/^[\\"[\]{}a ]*$/);

test('the scan equals the parsed depth, for strings full of quotes, backslashes and brackets', () => {
  const value = fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: 'small' },
      tricky,
      fc.integer(),
      fc.array(tie('node'), { maxLength: 4 }),
      fc.dictionary(tricky, tie('node'), { maxKeys: 3 }),
    ),
  })).node;
  fc.assert(
    fc.property(value, (v) => {
      const text = JSON.stringify(v);
      assert.equal(jsonDepth(text, 10_000), depthOf(JSON.parse(text)));
    }),
    { numRuns: 2000 },
  );
});

test('it stops as soon as the limit is passed', () => {
  assert.equal(jsonDepth(`${'['.repeat(100_000)}`, 512), 513);
  assert.equal(jsonDepth('"[[[["', 1), 0, 'brackets inside a string do not count');
});
