// One definition of "inside the boundary": for generated boundaries and requests, the engine's
// decision, the access analyzer's judge and the gateway's tools/list filter agree.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { audienceFor, visibleTo } from '../../src/adapters/mcp-gateway/tool-visibility.ts';
import { KindResolver } from '../../src/adapters/mcp-gateway/kinds.ts';
import { BoundaryJudge } from '../../src/analysis/access/boundary.ts';
import type { Action } from '../../src/engine/action.ts';
import { decide } from '../../src/engine/decide.ts';
import { RULES } from '../../src/engine/decision.ts';
import { EMPTY_STATE } from '../../src/engine/state.ts';
import { isKnownClusterScoped } from '../../src/kube/well-known-resources.ts';
import { NOW, agentDoc, governanceDoc, policyOf, sa } from '../support/policy.ts';

const some = <T>(xs: readonly T[]) => fc.subarray([...xs], { minLength: 1 });
const ruleArb = fc.record(
  {
    apiGroups: some(['', 'apps', '*']),
    resources: some(['pods', 'deployments', 'nodes', 'namespaces', '*', 'pods/log', '*/log']),
    verbs: some(['get', 'list', 'create', 'delete', '*']),
    clusterScope: fc.boolean(),
  },
  { requiredKeys: ['apiGroups', 'resources', 'verbs'] },
);
const boundaryArb = fc.record({
  namespaces: fc.subarray(['shop', 'staging', '*']),
  rules: fc.array(ruleArb, { maxLength: 3 }),
});
const requestArb = fc.record({
  verb: fc.constantFrom('get', 'list', 'create', 'delete'),
  group: fc.constantFrom('', 'apps'),
  resource: fc.constantFrom('pods', 'deployments', 'nodes', 'namespaces'),
  log: fc.boolean(),
  namespace: fc.constantFrom('shop', 'staging', 'payments'),
});

test('engine, analyzer and gateway filter agree on what is inside a boundary', () => {
  fc.assert(
    fc.property(boundaryArb, requestArb, (boundary, q) => {
      const policy = policyOf(governanceDoc(), agentDoc('bot', { boundary }));
      const clusterWide = isKnownClusterScoped(q.group, q.resource);
      const namespace = clusterWide ? undefined : q.namespace;
      const subresource = q.log && q.resource === 'pods' ? 'log' : undefined;
      const action: Action = {
        source: 'api',
        subject: sa('bot'),
        verb: q.verb,
        target: { group: q.group, version: 'v1', resource: q.resource, subresource, namespace },
      };
      const d = decide(action, policy, EMPTY_STATE, NOW);
      const engine = !d.reasons.some((r) => r.rule === RULES.namespace || r.rule === RULES.rule);

      const rule = {
        verbs: [q.verb],
        apiGroups: [q.group],
        resources: [subresource ? `${q.resource}/${subresource}` : q.resource],
      };
      const analyzer = new BoundaryJudge(boundary).excess({ rule, namespace }).length === 0;

      const agent = policy.agents.get('bot');
      assert.ok(agent);
      const requirement = {
        verbs: [q.verb],
        target: { resource: { apiGroup: q.group, resource: q.resource, ...(subresource ? { subresource } : {}) } },
        ...(namespace ? { namespace: { name: namespace } } : {}),
      };
      const gateway = visibleTo(
        audienceFor(sa('bot'), policy),
        { kind: 'kubernetes', source: 'config', requirements: [requirement] },
        'srv',
        'tool',
        new KindResolver([]),
      );

      assert.equal(
        analyzer,
        engine,
        `analyzer ${analyzer} vs engine ${engine}: ${JSON.stringify({ boundary, action: action.target, verb: q.verb, reasons: d.reasons })}`,
      );
      // The gateway filter cannot know which namespace arguments will name; where the namespace is fixed and inside (or none), it must agree.
      const nsKnownInside =
        namespace === undefined || boundary.namespaces.includes('*') || boundary.namespaces.includes(namespace);
      if (nsKnownInside)
        assert.equal(
          gateway,
          engine,
          `gateway ${gateway} vs engine ${engine}: ${JSON.stringify({ boundary, target: action.target, verb: q.verb })}`,
        );
      else if (engine) assert.fail('a request outside the namespaces cannot be inside');
    }),
    { numRuns: 600 },
  );
});
