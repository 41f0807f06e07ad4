// Property: narrowing an agent's boundary never turns a deny into an allow.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Action } from '../../src/engine/action.ts';
import { decide } from '../../src/engine/decide.ts';
import { EMPTY_STATE } from '../../src/engine/state.ts';
import type { ResourceRule } from '../../src/policy/schema.ts';
import { NOW, agentDoc, governanceDoc, policyOf, sa } from '../support/policy.ts';

const verbs = ['get', 'list', 'create', 'update', 'patch', 'delete', '*'];
const groups = ['', 'apps', 'batch', '*'];
const resources = [
  'pods',
  'pods/log',
  'pods/exec',
  'deployments',
  'deployments/scale',
  'secrets',
  '*',
  '*/log',
  'jobs',
];
const namespaces = ['shop', 'staging', 'prod'];
const sub = <T>(xs: readonly T[]) => fc.subarray([...xs], { minLength: 1 });
const ruleArb: fc.Arbitrary<ResourceRule> = fc.record({
  apiGroups: sub(groups),
  resources: sub(resources),
  verbs: sub(verbs),
  resourceNames: fc.option(sub(['a', 'b']), { nil: undefined }),
});
const boundaryArb = fc.record({
  namespaces: sub([...namespaces, '*']),
  rules: fc.array(ruleArb, { minLength: 1, maxLength: 4 }),
  replicasMax: fc.integer({ min: 0, max: 30 }),
});
const actionArb: fc.Arbitrary<Action> = fc
  .record({
    verb: fc.constantFrom('get', 'list', 'create', 'update', 'patch', 'delete'),
    group: fc.constantFrom('', 'apps', 'batch'),
    resource: fc.constantFrom('pods', 'deployments', 'secrets', 'jobs'),
    subresource: fc.constantFrom(undefined, 'log', 'exec', 'scale'),
    namespace: fc.constantFrom(...namespaces),
    name: fc.constantFrom(undefined, 'a', 'b', 'c'),
    replicas: fc.integer({ min: 0, max: 40 }),
  })
  .map((r) => ({
    source: 'api',
    subject: sa('bot'),
    verb: r.verb,
    target: {
      group: r.group,
      version: 'v1',
      resource: r.resource,
      subresource: r.subresource,
      namespace: r.namespace,
      name: r.name,
    },
    object:
      r.verb === 'get' || r.verb === 'list' || r.verb === 'delete' ? undefined : { spec: { replicas: r.replicas } },
    intent: { summary: 'property' },
  }));

/** A narrower boundary: fewer namespaces, fewer rules, rules with fewer verbs/resources, a tighter condition. */
const narrowed = (b: fc.Arbitrary<{ namespaces: string[]; rules: ResourceRule[]; replicasMax: number }>) =>
  b.chain((wide) =>
    fc
      .record({
        namespaces: fc.subarray(wide.namespaces),
        rules: fc
          .tuple(
            ...wide.rules.map((r) =>
              fc.record({ keep: fc.boolean(), verbs: fc.subarray(r.verbs), resources: fc.subarray(r.resources) }),
            ),
          )
          .map((xs) =>
            xs.flatMap((x, i) =>
              x.keep && x.verbs.length && x.resources.length
                ? [{ ...(wide.rules[i] as ResourceRule), verbs: x.verbs, resources: x.resources }]
                : [],
            ),
          ),
        replicasMax: fc.integer({ min: 0, max: wide.replicasMax }),
      })
      .map((narrow) => ({ wide, narrow })),
  );

const policyFor = (b: { namespaces: string[]; rules: ResourceRule[]; replicasMax: number }) =>
  policyOf(
    governanceDoc(),
    agentDoc('bot', {
      boundary: {
        namespaces: b.namespaces,
        rules: b.rules,
        conditions: [
          {
            name: 'replicas',
            expression: `!has(object.spec) || !has(object.spec.replicas) || object.spec.replicas <= ${b.replicasMax}`,
          },
        ],
      },
    }),
  );

test('narrowing a boundary never turns a deny into an allow', () => {
  fc.assert(
    fc.property(
      narrowed(boundaryArb),
      fc.array(actionArb, { minLength: 1, maxLength: 10 }),
      ({ wide, narrow }, actions) => {
        const widePolicy = policyFor(wide);
        const narrowPolicy = narrow.rules.length ? policyFor(narrow) : undefined;
        for (const a of actions) {
          const before = decide(a, widePolicy, EMPTY_STATE, NOW).outcome;
          const after = narrowPolicy ? decide(a, narrowPolicy, EMPTY_STATE, NOW).outcome : 'deny';
          if (before === 'deny') assert.equal(after, 'deny', `narrowing allowed ${JSON.stringify(a.target)} ${a.verb}`);
        }
      },
    ),
    { numRuns: 300 },
  );
});
