import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Action } from '../../src/engine/action.ts';
import { decide } from '../../src/engine/decide.ts';
import { RULES } from '../../src/engine/decision.ts';
import { EMPTY_STATE } from '../../src/engine/state.ts';
import { expectDecision } from '../support/assert-decision.ts';
import { NOW, agentDoc, deployment, governanceDoc, policyOf, sa, scaleAction } from '../support/policy.ts';

const read = (verb: string, resource: string, over: Partial<Action['target']> = {}, group = ''): Action => ({
  source: 'authorization',
  subject: sa('bot'),
  verb,
  target: { group, version: 'v1', resource, namespace: 'shop', ...over },
});

describe('boundary: namespaces and RBAC-shaped rules', () => {
  const policy = policyOf(
    governanceDoc(),
    agentDoc('bot', {
      boundary: {
        namespaces: ['shop', 'staging'],
        rules: [
          {
            apiGroups: ['apps'],
            resources: ['deployments', 'deployments/scale'],
            verbs: ['get', 'list', 'update', 'patch'],
          },
          { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
          { apiGroups: [''], resources: ['*/log'], verbs: ['get'] },
          { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'update'], resourceNames: ['feature-flags'] },
          { apiGroups: [''], resources: ['namespaces'], verbs: ['get'], clusterScope: true },
        ],
      },
    }),
  );
  const cases: [string, Action, 'allow' | 'deny', string?][] = [
    ['read pods in a boundary namespace', read('get', 'pods', { name: 'p' }), 'allow'],
    [
      'read pods outside the namespaces',
      read('get', 'pods', { namespace: 'payments', name: 'p' }),
      'deny',
      RULES.namespace,
    ],
    ['pods does not cover pods/exec', read('create', 'pods', { name: 'p', subresource: 'exec' }), 'deny', RULES.rule],
    ['*/log covers pods/log', read('get', 'pods', { name: 'p', subresource: 'log' }), 'allow'],
    ['*/log does not cover pods/status', read('get', 'pods', { name: 'p', subresource: 'status' }), 'deny', RULES.rule],
    ['verb outside the rule', read('delete', 'pods', { name: 'p' }), 'deny', RULES.rule],
    ['wrong api group', read('get', 'deployments', { name: 'd' }, 'extensions'), 'deny', RULES.rule],
    ['resourceNames allow the named object', read('get', 'configmaps', { name: 'feature-flags' }), 'allow'],
    ['resourceNames refuse other names', read('get', 'configmaps', { name: 'db-password' }), 'deny', RULES.rule],
    ['resourceNames never match list', read('list', 'configmaps'), 'deny', RULES.rule],
    [
      'cluster-scoped rule allows cluster-scoped target',
      read('get', 'namespaces', { namespace: undefined, name: 'shop' }),
      'allow',
    ],
    [
      'namespaced rule does not cover a cluster-wide list',
      read('list', 'pods', { namespace: undefined }),
      'deny',
      RULES.rule,
    ],
    [
      'subresource rule allows scale',
      read('update', 'deployments', { name: 'web', subresource: 'scale' }, 'apps'),
      'allow',
    ],
  ];
  for (const [name, action, outcome, rule] of cases) {
    test(name, () => expectDecision(decide(action, policy, EMPTY_STATE, NOW), outcome, rule as never));
  }

  test('a wildcard namespace boundary allows every namespace and cluster-wide lists of namespaced rules', () => {
    const p = policyOf(
      governanceDoc(),
      agentDoc('bot', {
        boundary: { namespaces: ['*'], rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }] },
      }),
    );
    expectDecision(decide(read('list', 'pods', { namespace: 'anything' }), p, EMPTY_STATE, NOW), 'allow');
    expectDecision(decide(read('list', 'pods', { namespace: undefined }), p, EMPTY_STATE, NOW), 'allow');
  });

  test('the refusal says what the boundary allows and how to ask for more', () => {
    const d = decide(read('delete', 'deployments', { name: 'web' }, 'apps'), policy, EMPTY_STATE, NOW);
    const msg = d.reasons.find((r) => r.rule === RULES.rule)?.message ?? '';
    assert.match(msg, /get,list,update,patch on deployments,deployments\/scale/);
    assert.match(msg, /approve the expansion/);
  });
});

describe('boundary: CEL conditions', () => {
  const policy = policyOf(
    governanceDoc(),
    agentDoc('bot', {
      boundary: {
        namespaces: ['shop'],
        rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['update', 'delete'] }],
        conditions: [
          {
            name: 'max-replicas',
            expression: 'object.spec.replicas <= 20',
            message: 'at most 20 replicas',
            match: { verbs: ['update'] },
          },
          {
            name: 'no-scale-to-zero',
            expression: 'oldObject == null || object.spec.replicas > 0 || oldObject.spec.replicas == 0',
            match: { verbs: ['update'] },
          },
          {
            name: 'only-labelled',
            expression: "has(oldObject.metadata.labels) && oldObject.metadata.labels['tier'] != 'critical'",
            match: { verbs: ['delete'] },
          },
        ],
      },
    }),
  );
  test('allows within the condition', () =>
    expectDecision(decide(scaleAction('bot', 'web', 20), policy, EMPTY_STATE, NOW), 'allow'));
  test('refuses past the condition, quoting it', () => {
    const d = decide(scaleAction('bot', 'web', 21), policy, EMPTY_STATE, NOW);
    expectDecision(d, 'deny', RULES.condition);
    assert.match(d.reasons[0]?.message ?? '', /at most 20 replicas/);
  });
  test('oldObject is bound', () =>
    expectDecision(decide(scaleAction('bot', 'web', 0), policy, EMPTY_STATE, NOW), 'deny', RULES.condition));
  test('a condition that cannot be evaluated fails closed', () => {
    const a = scaleAction('bot', 'web', 3, {
      verb: 'delete',
      object: undefined,
      oldObject: { metadata: { name: 'web' } },
    });
    const d = decide(a, policy, EMPTY_STATE, NOW);
    expectDecision(d, 'deny', RULES.condition);
  });
  test('conditions scoped by match do not apply elsewhere', () => {
    const a = scaleAction('bot', 'web', 3, {
      verb: 'delete',
      object: undefined,
      oldObject: deployment('web', 1, { labels: { tier: 'web' } }),
    });
    expectDecision(decide(a, policy, EMPTY_STATE, NOW), 'allow');
  });
});

describe('boundary: freezes, change windows and protected objects', () => {
  const policy = policyOf(
    governanceDoc(),
    agentDoc('frozen', {
      boundary: {
        namespaces: ['shop'],
        rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'update'] }],
        freezes: [{ from: '2026-11-25T00:00:00Z', until: '2026-11-26T00:00:00Z', reason: 'Black Friday' }],
      },
    }),
    agentDoc('office-hours', {
      boundary: {
        namespaces: ['shop'],
        rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['update'] }],
        changeWindows: [{ days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'], start: '09:00', end: '17:00' }],
      },
    }),
    agentDoc('gitops-aware', {
      boundary: {
        namespaces: ['shop'],
        rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['update'] }],
        protected: [
          { name: 'managed-by-flux', gitopsManaged: true },
          { name: 'critical', labels: { tier: 'critical' } },
        ],
      },
    }),
  );
  test('a freeze refuses mutations, not reads', () => {
    expectDecision(decide(scaleAction('frozen', 'web', 2), policy, EMPTY_STATE, NOW), 'deny', RULES.freeze);
    expectDecision(
      decide(scaleAction('frozen', 'web', 2), policy, EMPTY_STATE, Date.parse('2026-11-26T00:00:00Z')),
      'allow',
    );
    expectDecision(
      decide({ ...scaleAction('frozen', 'web', 2), verb: 'get', object: undefined }, policy, EMPTY_STATE, NOW),
      'allow',
    );
  });
  test('change windows (2026-11-25 is a Wednesday)', () => {
    expectDecision(decide(scaleAction('office-hours', 'web', 2), policy, EMPTY_STATE, NOW), 'allow');
    expectDecision(
      decide(scaleAction('office-hours', 'web', 2), policy, EMPTY_STATE, Date.parse('2026-11-25T20:00:00Z')),
      'deny',
      RULES.changeWindow,
    );
    expectDecision(
      decide(scaleAction('office-hours', 'web', 2), policy, EMPTY_STATE, Date.parse('2026-11-28T10:00:00Z')),
      'deny',
      RULES.changeWindow,
    );
  });
  test('GitOps-managed objects are propose-only', () => {
    const managed = deployment('web', 1, { labels: { 'kustomize.toolkit.fluxcd.io/name': 'shop' } });
    const d = decide(
      scaleAction('gitops-aware', 'web', 2, { oldObject: managed, object: { ...managed, spec: { replicas: 2 } } }),
      policy,
      EMPTY_STATE,
      NOW,
    );
    expectDecision(d, 'deny', RULES.protectedObject);
    assert.ok(d.outcome === 'deny' && d.proposal);
    assert.ok(d.effects.some((e) => e.kind === 'proposal.record'));
    expectDecision(decide(scaleAction('gitops-aware', 'web', 2), policy, EMPTY_STATE, NOW), 'allow');
  });
  test('label-selected protected objects', () => {
    const critical = deployment('db', 1, { labels: { tier: 'critical' } });
    expectDecision(
      decide(scaleAction('gitops-aware', 'db', 2, { oldObject: critical }), policy, EMPTY_STATE, NOW),
      'deny',
      RULES.protectedObject,
    );
  });
});
