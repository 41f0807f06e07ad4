// Canonical JSON is what digests and ledger leaves are computed over: one byte off and every
// digest changes. These pin the form (RFC 8785) independently of how it is produced.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { canonicalJson } from '../../src/common/canonical-json.ts';

test('RFC 8785 form: keys in UTF-16 code unit order, no whitespace, JSON numbers and escapes', () => {
  // Key order from RFC 8785 §3.2.3: "\u20ac" (€) sorts before "\ud83d\ude00" by code unit.
  const value = {
    '\u20ac': 'Euro Sign',
    '\r': 'Carriage Return',
    '\ufb33': 'Hebrew Letter Dalet With Dagesh',
    '1': 'One',
    '\ud83d\ude00': 'Emoji: Grinning Face',
    '\u0080': 'Control',
    '\u00f6': 'Latin Small Letter O With Diaeresis',
  };
  assert.equal(
    canonicalJson(value),
    '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
  );
  assert.equal(
    canonicalJson({ b: [1, 1e21, 0.1, -0, 'x'], a: { d: null, c: true } }),
    '{"a":{"c":true,"d":null},"b":[1,1e+21,0.1,0,"x"]}',
  );
  assert.equal(
    canonicalJson({ q: 'say "hi"\\\n\u0001', lone: '\ud800' }),
    '{"lone":"\\ud800","q":"say \\"hi\\"\\\\\\n\\u0001"}',
  );
  assert.equal(canonicalJson({ gone: undefined, list: [undefined] }), '{"list":[null]}');
  assert.throws(() => canonicalJson({ n: Number.NaN }), /NaN/);
  assert.throws(() => canonicalJson(Symbol('s')), /symbol/);
});

/**
 * The oracle: JSON.stringify over a copy whose keys were inserted in sorted order. JavaScript puts
 * array-index keys ("0", "7") first whatever the insertion order, so values holding them are left
 * to the RFC example above.
 */
function sortedCopy(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedCopy);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortedCopy((v as Record<string, unknown>)[k])]),
  );
}

test('any JSON value: the same text as JSON.stringify with sorted keys; any string escaped as JSON.stringify does', () => {
  fc.assert(
    fc.property(
      fc.jsonValue().filter((v) => !/"(0|[1-9][0-9]*)":/.test(JSON.stringify(v))),
      (v) => {
        assert.equal(canonicalJson(v), JSON.stringify(sortedCopy(v)));
      },
    ),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (s) => {
      assert.equal(canonicalJson(s), JSON.stringify(s));
      assert.equal(canonicalJson({ [s]: 1 }), `{${JSON.stringify(s)}:1}`);
    }),
    { numRuns: 5000 },
  );
});
