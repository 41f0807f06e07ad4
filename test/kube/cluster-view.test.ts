// The cluster view follows informer events: bindings, roles, aggregation and pods change the
// answers at once, and removing them takes the access away again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClusterState } from '../../src/kube/cluster-view.ts';

const RBAC = 'rbac.authorization.k8s.io/v1';
const helper = {
  username: 'system:serviceaccount:shop:helper',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:shop', 'system:authenticated'],
};
const binding = (roleRef: { kind: string; name: string }, name = 'b') => ({
  apiVersion: RBAC,
  kind: 'RoleBinding',
  metadata: { name, namespace: 'shop' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', ...roleRef },
  subjects: [{ kind: 'ServiceAccount', name: 'helper', namespace: 'shop' }],
});
const verbsOf = (v: ClusterState) => v.rulesOf(helper).flatMap((r) => [...r.rule.verbs, r.namespace ?? '*']);

test('bindings, roles and aggregation are followed incrementally', () => {
  const v = new ClusterState();
  assert.equal(v.synced, false);
  v.markSynced();
  assert.deepEqual(verbsOf(v), []);
  v.upsert(binding({ kind: 'Role', name: 'r' }));
  assert.deepEqual(verbsOf(v), [], 'a binding to a role not yet there grants nothing');
  v.upsert({
    apiVersion: RBAC,
    kind: 'Role',
    metadata: { name: 'r', namespace: 'shop' },
    rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }],
  });
  assert.deepEqual(verbsOf(v), ['get', 'shop']);
  v.upsert({
    apiVersion: RBAC,
    kind: 'Role',
    metadata: { name: 'r', namespace: 'shop' },
    rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['delete'] }],
  });
  assert.deepEqual(verbsOf(v), ['delete', 'shop'], 'an updated role is read afresh');
  // A binding moved to an aggregated ClusterRole: it holds what its selector picks, and follows the picked roles.
  v.upsert(binding({ kind: 'ClusterRole', name: 'agg' }));
  v.upsert({
    apiVersion: RBAC,
    kind: 'ClusterRole',
    metadata: { name: 'agg' },
    aggregationRule: { clusterRoleSelectors: [{ matchLabels: { team: 'a' } }] },
    rules: [],
  });
  assert.deepEqual(verbsOf(v), []);
  v.upsert({
    apiVersion: RBAC,
    kind: 'ClusterRole',
    metadata: { name: 'piece', labels: { team: 'a' } },
    rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }],
  });
  assert.deepEqual(verbsOf(v), ['list', 'shop']);
  v.remove({ apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: 'piece' } });
  assert.deepEqual(verbsOf(v), []);
  v.remove(binding({ kind: 'ClusterRole', name: 'agg' }));
  assert.deepEqual(v.rulesOf(helper), []);
});

test('pods are kept as the account they run as; listed items without apiVersion still count', () => {
  const v = new ClusterState();
  v.upsert({ kind: 'Pod', metadata: { name: 'p', namespace: 'shop' }, spec: { serviceAccount: 'legacy' } });
  assert.equal(v.podServiceAccount('shop', 'p'), 'legacy');
  v.upsert({ kind: 'Pod', metadata: { name: 'q', namespace: 'shop' }, spec: {} });
  assert.equal(v.podServiceAccount('shop', 'q'), 'default');
  v.remove({ kind: 'Pod', metadata: { name: 'p', namespace: 'shop' } });
  assert.equal(v.podServiceAccount('shop', 'p'), undefined);
  v.upsert({
    kind: 'ClusterRoleBinding',
    metadata: { name: 'c' },
    roleRef: { kind: 'ClusterRole', name: 'x' },
    subjects: [{ kind: 'Group', name: 'system:authenticated' }],
  });
  v.upsert({
    kind: 'ClusterRole',
    metadata: { name: 'x' },
    rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
  });
  assert.equal(v.rulesOf(helper).length, 1);
  assert.equal(v.rulesOf(helper)[0]?.namespace, undefined, 'a ClusterRoleBinding grants everywhere');
});
