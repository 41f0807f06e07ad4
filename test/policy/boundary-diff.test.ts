import assert from 'node:assert/strict';
import { test } from 'node:test';
import { wideningChanges } from '../../src/policy/boundary-diff.ts';
import type { AgentSpec } from '../../src/policy/schema.ts';

const base: AgentSpec = {
  owner: { id: 'alice' },
  authorityClass: 'supervised',
  identities: [{ kind: 'User', name: 'bot' }],
  boundary: {
    namespaces: ['shop'],
    rules: [{ apiGroups: ['apps'], resources: ['deployments', 'deployments/scale'], verbs: ['get', 'update'] }],
    conditions: [{ name: 'max', expression: 'object.spec.replicas <= 20' }],
    budgets: [{ window: '1h', maxMutations: 30, maxDistinctObjects: 5 }],
    chain: { maxDepth: 2, mayInvoke: [] },
  },
  breaker: { maxViolations: 3 },
};
const withBoundary = (b: Partial<NonNullable<AgentSpec['boundary']>>): AgentSpec => ({
  ...base,
  boundary: { ...base.boundary, ...b },
});

const widening: [string, AgentSpec, RegExp][] = [
  ['higher class', { ...base, authorityClass: 'autonomous' }, /authority class supervised → autonomous/],
  ['audit mode', { ...base, mode: 'audit' }, /mode enforce → audit/],
  ['new owner', { ...base, owner: { id: 'mallory' } }, /owner alice → mallory/],
  ['new namespace', withBoundary({ namespaces: ['shop', 'payments'] }), /new namespace payments/],
  [
    'new verb',
    withBoundary({ rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'update', 'delete'] }] }),
    /new rule/,
  ],
  [
    'wildcard resource',
    withBoundary({ rules: [{ apiGroups: ['apps'], resources: ['*'], verbs: ['get'] }] }),
    /new rule get on \*/,
  ],
  [
    'subresource',
    withBoundary({ rules: [{ apiGroups: ['apps'], resources: ['deployments/status'], verbs: ['update'] }] }),
    /new rule/,
  ],
  ['condition removed', withBoundary({ conditions: [] }), /condition max removed/],
  [
    'bigger budget',
    withBoundary({ budgets: [{ window: '1h', maxMutations: 31, maxDistinctObjects: 5 }] }),
    /30 → 31 mutations/,
  ],
  ['budget removed', withBoundary({ budgets: [] }), /budget per 1h removed/],
  ['deeper chain', withBoundary({ chain: { maxDepth: 5 } }), /chain depth 2 → 5/],
  ['new callee', withBoundary({ chain: { maxDepth: 2, mayInvoke: ['other'] } }), /may now invoke other/],
  ['looser breaker', { ...base, breaker: { maxViolations: 10 } }, /3 → 10 refusals/],
  ['new identity', { ...base, identities: [...base.identities, { kind: 'User', name: 'bot2' }] }, /new identity/],
];
for (const [name, spec, expected] of widening) {
  test(`widening: ${name}`, () => {
    const changes = wideningChanges(base, spec);
    assert.ok(
      changes.some((c) => expected.test(c)),
      `expected ${expected} in ${JSON.stringify(changes)}`,
    );
  });
}

const narrowing: [string, AgentSpec][] = [
  ['same spec', base],
  ['fewer namespaces', withBoundary({ namespaces: [] })],
  ['fewer verbs', withBoundary({ rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] }] })],
  [
    'named objects only',
    withBoundary({
      rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['update'], resourceNames: ['web'] }],
    }),
  ],
  [
    'extra condition',
    withBoundary({
      conditions: [...(base.boundary?.conditions ?? []), { name: 'min', expression: 'object.spec.replicas >= 1' }],
    }),
  ],
  [
    'smaller budget and a new window',
    withBoundary({
      budgets: [
        { window: '1h', maxMutations: 10, maxDistinctObjects: 2 },
        { window: '1m', maxMutations: 2 },
      ],
    }),
  ],
  ['lower class', { ...base, authorityClass: 'advisory' }],
  ['tighter breaker', { ...base, breaker: { maxViolations: 1, maxMutationsPerMinute: 5 } }],
  ['description only', { ...base, description: 'new words' }],
];
for (const [name, spec] of narrowing) {
  test(`not widening: ${name}`, () => assert.deepEqual(wideningChanges(base, spec), []));
}

test('key order does not make a change', () => {
  const reordered = JSON.parse(
    JSON.stringify(base, (_k, v) =>
      v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
    ),
  );
  assert.deepEqual(wideningChanges(base, reordered), []);
});
