import { describe, test } from 'node:test';
import type { Action } from '../../src/engine/action.ts';
import { decide } from '../../src/engine/decide.ts';
import { RULES } from '../../src/engine/decision.ts';
import { EMPTY_STATE } from '../../src/engine/state.ts';
import { clusterViewOf } from '../../src/kube/cluster-view.ts';
import { expectDecision } from '../support/assert-decision.ts';
import { NOW, agentDoc, governanceDoc, policyOf, sa } from '../support/policy.ts';

const broad = {
  namespaces: ['*'],
  rules: [
    { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
    { apiGroups: ['*'], resources: ['*'], verbs: ['*'], clusterScope: true },
  ],
};
const policy = policyOf(
  governanceDoc(),
  agentDoc('tuner', {
    authorityClass: 'self-tuning',
    boundary: broad,
    operatingParameters: { step: 2, strategy: 'gentle' },
    selfTuning: { limits: { step: { min: 1, max: 5 }, strategy: { values: ['gentle', 'eager'] } } },
  }),
  agentDoc('auto', {
    boundary: broad,
    workloads: [{ namespace: 'agents', resource: 'deployments', name: 'auto-runner' }],
  }),
);
const agentObj = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'tether.dev/v1alpha1',
  kind: 'Agent',
  metadata: { name },
  spec,
});
const base = {
  owner: { id: 'alice@example.com' },
  authorityClass: 'self-tuning',
  operatingParameters: { step: 2, strategy: 'gentle' },
};
const editSelf = (agent: string, newSpec: Record<string, unknown>, verb = 'update'): Action => ({
  source: 'admission',
  subject: sa(agent),
  verb,
  target: { group: 'tether.dev', version: 'v1alpha1', resource: 'agents', name: agent },
  object: agentObj(agent, newSpec),
  oldObject: agentObj(agent, base),
  intent: { summary: 'tune' },
});

describe('self-modification', () => {
  test('a self-tuning agent tunes its parameters within limits', () =>
    expectDecision(
      decide(
        editSelf('tuner', { ...base, operatingParameters: { step: 4, strategy: 'eager' } }),
        policy,
        EMPTY_STATE,
        NOW,
      ),
      'allow',
    ));
  test('...but not past a numeric limit', () =>
    expectDecision(
      decide(
        editSelf('tuner', { ...base, operatingParameters: { step: 9, strategy: 'gentle' } }),
        policy,
        EMPTY_STATE,
        NOW,
      ),
      'deny',
      RULES.selfTuningLimit,
    ));
  test('...nor to an undeclared value', () =>
    expectDecision(
      decide(
        editSelf('tuner', { ...base, operatingParameters: { step: 2, strategy: 'reckless' } }),
        policy,
        EMPTY_STATE,
        NOW,
      ),
      'deny',
      RULES.selfTuningLimit,
    ));
  test('...nor a parameter without a declared limit', () =>
    expectDecision(
      decide(
        editSelf('tuner', { ...base, operatingParameters: { step: 2, strategy: 'gentle', temperature: 1 } }),
        policy,
        EMPTY_STATE,
        NOW,
      ),
      'deny',
      RULES.selfTuningLimit,
    ));
  test('no class may change its own class', () =>
    expectDecision(
      decide(editSelf('tuner', { ...base, authorityClass: 'autonomous' }), policy, EMPTY_STATE, NOW),
      'deny',
      RULES.selfModification,
    ));
  test('no agent may widen its own boundary even with a wildcard boundary', () =>
    expectDecision(
      decide(editSelf('auto', { ...base, boundary: {} }), policy, EMPTY_STATE, NOW),
      'deny',
      RULES.selfModification,
    ));
  test('an agent may edit another Agent when its boundary allows', () => {
    const a = editSelf('auto', base);
    expectDecision(decide({ ...a, target: { ...a.target, name: 'tuner' } }, policy, EMPTY_STATE, NOW), 'allow');
  });
  const binding = (subjects: unknown[]): Action => ({
    source: 'admission',
    subject: sa('auto'),
    verb: 'create',
    target: { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterrolebindings', name: 'x' },
    object: {
      kind: 'ClusterRoleBinding',
      metadata: { name: 'x' },
      roleRef: { kind: 'ClusterRole', name: 'cluster-admin' },
      subjects,
    },
    intent: { summary: 'grant' },
  });
  test('binding a role to itself is self-modification', () =>
    expectDecision(
      decide(binding([{ kind: 'ServiceAccount', name: 'auto', namespace: 'agents' }]), policy, EMPTY_STATE, NOW),
      'deny',
      RULES.selfModification,
    ));
  // Containment judges what bob would gain: cluster-admin's rules, from the cluster view, are inside this broad boundary but for URLs.
  const cluster = clusterViewOf([
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'cluster-admin' },
      rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
    },
  ]);
  test('binding a role to someone else is not', () =>
    expectDecision(decide(binding([{ kind: 'User', name: 'bob' }]), policy, EMPTY_STATE, NOW, cluster), 'allow'));
  const workload = (name: string, serviceAccountName: string): Action => ({
    source: 'admission',
    subject: sa('auto'),
    verb: 'patch',
    target: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'agents', name },
    object: { metadata: { name }, spec: { template: { spec: { serviceAccountName } } } },
    intent: { summary: 'bump' },
  });
  test('its declared workload', () =>
    expectDecision(
      decide(workload('auto-runner', 'default'), policy, EMPTY_STATE, NOW),
      'deny',
      RULES.selfModification,
    ));
  test('a workload running as its service account', () =>
    expectDecision(decide(workload('sidecar', 'auto'), policy, EMPTY_STATE, NOW), 'deny', RULES.selfModification));
  test('...named through the deprecated serviceAccount field', () => {
    const a = workload('sidecar', 'ignored');
    const object = { metadata: { name: 'sidecar' }, spec: { template: { spec: { serviceAccount: 'auto' } } } };
    expectDecision(decide({ ...a, object }, policy, EMPTY_STATE, NOW), 'deny', RULES.selfModification);
  });
  test('another workload', () =>
    expectDecision(decide(workload('web', 'web'), policy, EMPTY_STATE, NOW, cluster), 'allow'));
});
