import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quantitiesEqual, quantityValue } from '../../../src/analysis/drift/quantity.ts';

test('quantities equal by value across suffixes and notations', () => {
  const same: [unknown, unknown][] = [
    ['1000m', '1'],
    ['1', 1],
    ['0.5', '500m'],
    [0.1, '100m'],
    ['1Gi', '1024Mi'],
    ['1536Mi', '1.5Gi'],
    ['1e3', '1k'],
    ['1E3', '1000'],
    ['128974848', '129e6'.replace('129e6', '128974848')],
    ['+2', '2'],
    ['.5', '500m'],
    ['1Ki', '1024'],
    ['5G', '5000M'],
  ];
  for (const [a, b] of same) assert.ok(quantitiesEqual(a, b), `${a} == ${b}`);
});

test('different values and non-quantities are not equal', () => {
  assert.equal(quantitiesEqual('1Gi', '1G'), false);
  assert.equal(quantitiesEqual('100m', '101m'), false);
  assert.equal(quantitiesEqual('abc', 'abc'), false);
  assert.equal(quantityValue('12 Mi'), undefined);
  assert.equal(quantityValue({}), undefined);
  assert.equal(quantityValue('-1'), '-1/1');
});
