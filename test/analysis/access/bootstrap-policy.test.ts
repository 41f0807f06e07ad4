// The Kubernetes project's own RBAC bootstrap policy (../shared/fixtures/kubernetes-rbac): real
// ClusterRoles, aggregation, controller and namespace bindings, with answers known from the policy.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AccessQuestion, can } from '../../../src/analysis/access/can.ts';
import { emulateAggregation } from '../../../src/analysis/access/aggregation.ts';
import { type Principal, serviceAccountPrincipal, userPrincipal } from '../../../src/analysis/access/identity.ts';
import { bootstrapModel } from './support/build.ts';

const model = bootstrapModel();
const ask = (who: Principal, q: AccessQuestion) => can(model.index, who, q).allowed;
const inNs = (
  verb: string,
  resource: string,
  namespace: string,
  extra: Partial<{ group: string; subresource: string; name: string }> = {},
) => ({
  verb,
  group: '',
  resource,
  namespace,
  ...extra,
});
const bindToUser = (role: string, user: string, ns = 'shop') => `---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: ${user}-${role}, namespace: ${ns} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ${role} }
subjects: [{ kind: User, name: ${user} }]
`;

describe('aggregation of the bootstrap admin, edit and view roles', () => {
  const rules = (name: string) => model.index.clusterRoles.get(name)?.rules ?? [];
  test('admin, edit and view are stored empty and aggregated from their system:aggregate-to-* roles', () => {
    for (const name of ['admin', 'edit', 'view']) {
      assert.equal(model.inputs.inventory.clusterRoles.get(name)?.rules.length, 0, `${name} is stored without rules`);
      assert.ok(rules(name).length > 0, `${name} is aggregated`);
      assert.equal(model.index.clusterRoles.get(name)?.aggregated, true);
    }
  });
  test('view ⊂ edit ⊂ admin: every rule of the narrower role is in the wider one (transitively aggregated)', () => {
    const keys = (name: string) => new Set(rules(name).map((r) => JSON.stringify(r)));
    const view = keys('view');
    const edit = keys('edit');
    const admin = keys('admin');
    for (const k of view) assert.ok(edit.has(k), `edit lacks ${k}`);
    for (const k of edit) assert.ok(admin.has(k), `admin lacks ${k}`);
    assert.ok(admin.size > edit.size && edit.size > view.size);
  });
  test('each aggregated role holds exactly its aggregate-to roles (and, transitively, what they aggregate)', () => {
    const own = (name: string) =>
      (model.inputs.inventory.clusterRoles.get(name)?.rules ?? []).map((r) => JSON.stringify(r));
    const union = (...names: string[]) => new Set(names.flatMap(own));
    assert.deepEqual(new Set(rules('view').map((r) => JSON.stringify(r))), union('system:aggregate-to-view'));
    assert.deepEqual(
      new Set(rules('edit').map((r) => JSON.stringify(r))),
      union('system:aggregate-to-edit', 'system:aggregate-to-view'),
    );
    assert.deepEqual(
      new Set(rules('admin').map((r) => JSON.stringify(r))),
      union('system:aggregate-to-admin', 'system:aggregate-to-edit', 'system:aggregate-to-view'),
    );
  });
  test('what admin, edit and view allow, bound in a namespace', () => {
    const m = bootstrapModel(bindToUser('admin', 'ann') + bindToUser('edit', 'ed') + bindToUser('view', 'vi'));
    const a = (u: string, q: AccessQuestion) => can(m.index, userPrincipal(u), q).allowed;
    const rolebindings = inNs('create', 'rolebindings', 'shop', { group: 'rbac.authorization.k8s.io' });
    assert.equal(a('ann', rolebindings), true, 'admin may create rolebindings (system:aggregate-to-admin)');
    assert.equal(a('ed', rolebindings), false, 'edit may not');
    assert.equal(a('ed', inNs('get', 'secrets', 'shop', { name: 's' })), true, 'edit reads secrets');
    assert.equal(a('vi', inNs('get', 'secrets', 'shop', { name: 's' })), false, 'view does not read secrets');
    assert.equal(a('vi', inNs('list', 'pods', 'shop')), true);
    assert.equal(a('vi', inNs('get', 'pods', 'shop', { subresource: 'log', name: 'p' })), true, 'view reads pod logs');
    assert.equal(a('vi', inNs('create', 'pods', 'shop', { subresource: 'exec', name: 'p' })), false);
    assert.equal(a('ed', inNs('create', 'pods', 'shop', { subresource: 'exec', name: 'p' })), true);
    assert.equal(
      a('ed', inNs('impersonate', 'serviceaccounts', 'shop', { name: 'x' })),
      true,
      'edit impersonates service accounts',
    );
    assert.equal(
      a('ed', inNs('patch', 'deployments', 'shop', { group: 'apps', subresource: 'scale', name: 'd' })),
      true,
    );
    assert.equal(a('ann', inNs('list', 'pods', 'other')), false, 'a RoleBinding stays in its namespace');
  });
  test("matchExpressions select too; a broken selector keeps the role's stored rules", () => {
    const m = bootstrapModel(`---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: monitoring }
aggregationRule:
  clusterRoleSelectors:
  - matchExpressions: [{ key: rbac.example.com/aggregate-to-monitoring, operator: In, values: ["true"] }]
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: metrics-reader, labels: { rbac.example.com/aggregate-to-monitoring: "true" } }
rules: [{ apiGroups: [metrics.k8s.io], resources: [pods], verbs: [get] }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: broken }
aggregationRule:
  clusterRoleSelectors: [{ matchExpressions: [{ key: x, operator: Sometimes }] }]
rules: [{ apiGroups: [""], resources: [configmaps], verbs: [get] }]
`);
    assert.deepEqual(m.index.clusterRoles.get('monitoring')?.rules, [
      {
        apiGroups: ['metrics.k8s.io'],
        resources: ['pods'],
        verbs: ['get'],
        nonResourceURLs: undefined,
        resourceNames: undefined,
      },
    ]);
    assert.equal(m.index.clusterRoles.get('broken')?.rules.length, 1);
    assert.ok(m.problems.some((p) => p.code === 'invalid-aggregation' && p.object === 'ClusterRole broken'));
  });
  test('stored mode uses the rules as stored (what an API server without the controller enforces)', () => {
    const stored = bootstrapModel(bindToUser('view', 'vi'), { aggregation: 'stored' });
    assert.equal(can(stored.index, userPrincipal('vi'), inNs('list', 'pods', 'shop')).allowed, false);
  });
  test('aggregation terminates on a cycle', () => {
    const r = emulateAggregation(
      new Map(
        ['a', 'b'].map((n) => [
          n,
          {
            kind: 'ClusterRole' as const,
            namespace: '',
            name: n,
            labels: { [`to-${n === 'a' ? 'b' : 'a'}`]: 'true' },
            rules: [{ verbs: ['get'], apiGroups: [''], resources: [n] }],
            aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [`to-${n}`]: 'true' } }] },
            source: { origin: 't' },
          },
        ]),
      ),
    );
    assert.ok(r.rules.get('a') && r.rules.get('b'));
  });
});

describe('known answers of the bootstrap policy', () => {
  const controller = (name: string) => serviceAccountPrincipal('kube-system', name);
  test('the deployment controller manages replicasets but cannot delete pods or read secrets', () => {
    const sa = controller('deployment-controller');
    assert.equal(ask(sa, inNs('create', 'replicasets', 'shop', { group: 'apps' })), true);
    assert.equal(
      ask(sa, inNs('update', 'deployments', 'shop', { group: 'apps', subresource: 'status', name: 'd' })),
      true,
    );
    assert.equal(ask(sa, inNs('delete', 'deployments', 'shop', { group: 'apps', name: 'd' })), false);
    assert.equal(ask(sa, inNs('get', 'secrets', 'shop', { name: 's' })), false);
  });
  test('the replicaset controller creates and deletes pods', () => {
    const sa = controller('replicaset-controller');
    assert.equal(ask(sa, inNs('create', 'pods', 'shop')), true);
    assert.equal(ask(sa, inNs('delete', 'pods', 'shop', { name: 'p' })), true);
    assert.equal(ask(sa, inNs('create', 'pods', 'shop', { subresource: 'exec', name: 'p' })), false);
  });
  test('the scheduler binds pods and reads its extension-apiserver configmap by name only', () => {
    const s = userPrincipal('system:kube-scheduler');
    assert.equal(ask(s, inNs('create', 'pods', 'shop', { subresource: 'binding', name: 'p' })), true);
    assert.equal(
      ask(s, inNs('get', 'configmaps', 'kube-system', { name: 'extension-apiserver-authentication' })),
      true,
    );
    assert.equal(ask(s, inNs('get', 'configmaps', 'kube-system', { name: 'other' })), false);
    assert.equal(ask(s, { verb: 'delete', group: '', resource: 'nodes', name: 'n' }), false);
  });
  test('the bootstrap signer reads configmaps in kube-public (a namespaced Role), not elsewhere', () => {
    const sa = controller('bootstrap-signer');
    assert.equal(ask(sa, inNs('update', 'configmaps', 'kube-public', { name: 'cluster-info' })), true);
    assert.equal(ask(sa, inNs('update', 'configmaps', 'default', { name: 'cluster-info' })), false);
  });
  test('anonymous users reach the public info endpoints only; authenticated users also discovery', () => {
    const anon = userPrincipal('system:anonymous');
    assert.equal(ask(anon, { verb: 'get', path: '/healthz' }), true);
    assert.equal(ask(anon, { verb: 'get', path: '/version' }), true);
    assert.equal(ask(anon, { verb: 'get', path: '/apis' }), false);
    assert.equal(ask(anon, { verb: 'list', group: '', resource: 'namespaces' }), false);
    assert.equal(ask(userPrincipal('alice'), { verb: 'get', path: '/apis/apps/v1' }), true);
    assert.equal(
      ask(userPrincipal('alice'), {
        verb: 'create',
        group: 'authorization.k8s.io',
        resource: 'selfsubjectaccessreviews',
      }),
      true,
    );
  });
  test('cluster-admin (bound to system:masters) can do anything', () => {
    const root = userPrincipal('root', ['system:masters']);
    assert.equal(
      ask(root, { verb: 'delete', group: 'apps', resource: 'deployments', namespace: 'x', name: 'd' }),
      true,
    );
  });
  test('the kube-controller-manager mints tokens for any service account', () => {
    assert.equal(
      ask(
        userPrincipal('system:kube-controller-manager'),
        inNs('create', 'serviceaccounts', 'shop', { subresource: 'token', name: 'x' }),
      ),
      true,
    );
  });
});

describe('escalations found in the bootstrap policy', () => {
  const edges = (node: string) =>
    model.graph
      .edges(node)
      .filter((e) => e.kind === 'escalation')
      .map((e) => `${e.escalation?.kind} → ${e.to}`);
  test('the kube-controller-manager can become any service account and read every token Secret', () => {
    const e = edges('user:system:kube-controller-manager');
    assert.ok(e.includes('serviceaccount-token → pool:sa:*'), e.join('\n'));
    assert.ok(e.includes('read-secrets → pool:tokens:*'), e.join('\n'));
  });
  test('the clusterrole-aggregation controller can escalate clusterroles', () => {
    const e = edges('sa:kube-system/clusterrole-aggregation-controller');
    assert.ok(e.includes('escalate-roles → rbac:full:*'), e.join('\n'));
  });
  test('a ServiceAccount bound to edit in a namespace reaches every account there, several ways', () => {
    const m = bootstrapModel(`---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: ci-edit, namespace: shop }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit }
subjects: [{ kind: ServiceAccount, name: ci, namespace: ci }]
`);
    const kinds = new Set(m.graph.edges('sa:ci/ci').map((e) => e.escalation?.kind));
    for (const k of [
      'create-pods',
      'create-workloads',
      'mutate-workloads',
      'mutate-pods',
      'exec-pods',
      'impersonate',
      'read-secrets',
      'create-token-secrets',
    ])
      assert.ok(kinds.has(k as never), `${k} in ${[...kinds].join(', ')}`);
    assert.ok(
      m.graph.edges('sa:ci/ci').every((e) => e.escalation?.namespace === 'shop'),
      'all confined to shop',
    );
  });
  test('view grants no escalation', () => {
    const m = bootstrapModel(bindToUser('view', 'vi'));
    assert.deepEqual(m.graph.edges('user:vi'), []);
  });
});
