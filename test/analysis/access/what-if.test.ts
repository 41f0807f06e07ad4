// What-if: the reach delta of a proposed change, as an approver sees it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { reviewBoundaryExpansion, whatIf } from '../../../src/analysis/access/what-if.ts';
import type { AgentSpec } from '../../../src/policy/schema.ts';
import { shopModel } from './support/build.ts';

const model = await shopModel();
const triage = model.graph.agents.get('triage')?.spec as AgentSpec;
const scaler = model.graph.agents.get('scaler')?.spec as AgentSpec;

describe('boundary expansions', () => {
  test('approving create pods in shop shows the service accounts it hands over', () => {
    const proposed: AgentSpec = {
      ...triage,
      boundary: {
        ...triage.boundary,
        rules: [...(triage.boundary?.rules ?? []), { apiGroups: [''], resources: ['pods'], verbs: ['create'] }],
      },
    };
    const d = reviewBoundaryExpansion(model, 'triage', proposed);
    assert.ok(
      d.lines.includes(
        'triage: approving this adds: create pods in shop → any service account in shop (3: shop/default, shop/deployer, shop/web)',
      ),
      d.lines.join('\n'),
    );
    const t = d.agents.find((a) => a.agent === 'triage');
    assert.ok(
      t?.findingsRemoved.some((f) => f.summary === 'create pods in shop'),
      'the permission itself is no longer an excess',
    );
    assert.deepEqual(t?.identitiesAdded, [], 'RBAC reach is unchanged: the boundary sanctions, it does not grant');
  });
  test('a new namespace sanctions an escalation that was there all along', () => {
    const proposed: AgentSpec = {
      ...scaler,
      boundary: {
        ...scaler.boundary,
        namespaces: ['shop', 'payments'],
        rules: [
          ...(scaler.boundary?.rules ?? []),
          { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] },
        ],
      },
    };
    const d = reviewBoundaryExpansion(model, 'scaler', proposed);
    assert.ok(
      d.lines.some((l) =>
        l.startsWith(
          'scaler: approving this adds: create serviceaccounts/token for processor in payments → ServiceAccount payments/processor',
        ),
      ),
      d.lines.join('\n'),
    );
  });
  test('narrowing shows nothing added', () => {
    const d = reviewBoundaryExpansion(model, 'triage', { ...triage, boundary: { ...triage.boundary, namespaces: [] } });
    assert.ok(!d.lines.some((l) => l.includes('approving this adds')));
  });
});

describe('RBAC and gateway changes', () => {
  test('a new RoleBinding giving the agent edit in payments adds identities and escalations', () => {
    const d = whatIf(model, {
      kind: 'objects',
      apply: [
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'scaler-edit', namespace: 'payments' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
          subjects: [{ kind: 'ServiceAccount', name: 'scaler', namespace: 'agents' }],
        },
      ],
    });
    const s = d.agents.find((a) => a.agent === 'scaler');
    assert.ok(
      s?.escalationsAdded.some(
        (e) => e.label === 'create pods in payments' && e.to === 'any service account in payments',
      ),
      JSON.stringify(s?.escalationsAdded),
    );
    assert.ok(s?.identitiesAdded.includes('ServiceAccount payments/default'));
    assert.ok(
      d.agents.some((a) => a.agent === 'triage'),
      'triage invokes scaler, so it gains too',
    );
    assert.ok(d.lines.some((l) => /^scaler: \d+ new permission\(s\) beyond its boundary/.test(l)));
  });
  test('removing a binding removes reach', () => {
    const d = whatIf(model, {
      kind: 'objects',
      remove: [{ kind: 'RoleBinding', namespace: 'payments', name: 'scaler-tokens' }],
    });
    const s = d.agents.find((a) => a.agent === 'scaler');
    assert.deepEqual(s?.identitiesRemoved, ['ServiceAccount payments/processor']);
    assert.ok(d.lines.includes('scaler: can no longer act as ServiceAccount payments/processor'));
  });
  test('a tool grant: adds the tool’s reach; revoking it takes it away; unknown servers are reported', () => {
    const add = whatIf(model, {
      kind: 'gateway-grant',
      grant: { agent: 'scaler', server: 'k8s', tools: ['pods_run'] },
    });
    assert.ok(
      add.lines.includes('scaler: new escalation: tool k8s/pods_run —create pods in shop→ any service account in shop'),
      add.lines.join('\n'),
    );
    const revoke = whatIf(model, {
      kind: 'gateway-grant',
      grant: { agent: 'triage', server: 'k8s', tools: ['pods_run'] },
      revoke: true,
    });
    assert.ok(
      revoke.agents.find((a) => a.agent === 'triage')?.identitiesRemoved.includes('ServiceAccount shop/deployer'),
    );
    const unknown = whatIf(model, { kind: 'gateway-grant', grant: { agent: 'triage', server: 'nope', tools: ['x'] } });
    assert.ok(unknown.problems.some((p) => p.code === 'unknown-server'));
  });
  test('several changes are judged together; no change says so', () => {
    const none = whatIf(model, { kind: 'several', changes: [] });
    assert.deepEqual(none.lines, ['no change in reach']);
  });
});
