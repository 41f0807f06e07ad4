// The escalation catalogue, entry by entry: the permission that triggers it (and its companions),
// whom it reaches, and the near misses that must not count.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { modelFromYaml } from './support/build.ts';

const base = `---
apiVersion: v1
kind: Namespace
metadata: { name: shop, labels: { team: shop } }
---
apiVersion: v1
kind: Namespace
metadata: { name: bank, labels: { team: bank } }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: default, namespace: shop }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: builder, namespace: shop }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: quiet, namespace: shop, }
automountServiceAccountToken: false
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: teller, namespace: bank }
---
apiVersion: v1
kind: Pod
metadata: { name: web, namespace: shop }
spec: { serviceAccountName: builder, nodeName: n1, containers: [{ name: c, image: i }] }
status: { phase: Running }
---
apiVersion: v1
kind: Pod
metadata: { name: done, namespace: shop }
spec: { serviceAccountName: default, nodeName: n1, containers: [{ name: c, image: i }] }
status: { phase: Succeeded }
---
apiVersion: v1
kind: Pod
metadata: { name: tokenless, namespace: shop }
spec: { serviceAccountName: quiet, nodeName: n2, containers: [{ name: c, image: i }] }
status: { phase: Running }
---
apiVersion: v1
kind: Pod
metadata: { name: teller-1, namespace: bank }
spec: { serviceAccountName: teller, nodeName: n2, containers: [{ name: c, image: i }] }
status: { phase: Running }
---
apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata: { name: teller-token, namespace: bank, annotations: { kubernetes.io/service-account.name: teller } }
`;

/** Grants eve the rules, in a namespace (RoleBinding) or cluster-wide, and returns her escalation edges as `kind → target`. */
function escalations(rules: string, where: { ns?: string } = {}, extra = ''): string[] {
  const binding = where.ns
    ? `---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: { name: eve, namespace: ${where.ns} }\nroleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: eve }\nsubjects: [{ kind: User, name: eve }]\n`
    : `---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: { name: eve }\nroleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: eve }\nsubjects: [{ kind: User, name: eve }]\n`;
  const m = modelFromYaml(
    `${base}---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: { name: eve }\nrules: ${rules}\n${binding}${extra}`,
  );
  return m.graph
    .edges('user:eve')
    .map((e) => `${e.escalation?.kind} → ${e.to}`)
    .sort();
}
const members = (yaml: string, pool: string) =>
  modelFromYaml(base + yaml)
    .graph.edges(pool)
    .map((e) => e.to);

describe('pods and pod controllers', () => {
  test('create pods in a namespace → every service account there; cluster-wide → everywhere', () => {
    assert.deepEqual(escalations('[{ apiGroups: [""], resources: [pods], verbs: [create] }]', { ns: 'shop' }), [
      'create-pods → pool:sa:shop',
    ]);
    assert.deepEqual(escalations('[{ apiGroups: [""], resources: [pods], verbs: [create] }]'), [
      'create-pods → pool:sa:*',
    ]);
    assert.deepEqual(members('', 'pool:sa:shop'), ['sa:shop/builder', 'sa:shop/default', 'sa:shop/quiet']);
  });
  test('create pods limited to names never matches (create has no name)', () => {
    assert.deepEqual(
      escalations('[{ apiGroups: [""], resources: [pods], verbs: [create], resourceNames: [x] }]', { ns: 'shop' }),
      [],
    );
  });
  test('creating or patching a pod controller → every service account of the namespace', () => {
    assert.deepEqual(escalations('[{ apiGroups: [batch], resources: [cronjobs], verbs: [create] }]', { ns: 'shop' }), [
      'create-workloads → pool:sa:shop',
    ]);
    assert.deepEqual(
      escalations('[{ apiGroups: [apps], resources: [deployments], verbs: [patch], resourceNames: [web] }]', {
        ns: 'shop',
      }),
      ['mutate-workloads → pool:sa:shop'],
    );
    assert.deepEqual(
      escalations('[{ apiGroups: [apps], resources: [deployments/scale], verbs: [patch] }]', { ns: 'shop' }),
      [],
      'scale cannot change the pod template',
    );
  });
  test('patch pods → the accounts of live pods holding a token (finished and tokenless pods excluded)', () => {
    assert.deepEqual(escalations('[{ apiGroups: [""], resources: [pods], verbs: [patch] }]', { ns: 'shop' }), [
      'mutate-pods → pool:running:shop',
    ]);
    assert.deepEqual(members('', 'pool:running:shop'), ['sa:shop/builder']);
  });
  test('exec needs get pods too; attach counts; ephemeral containers count', () => {
    assert.deepEqual(escalations('[{ apiGroups: [""], resources: [pods/exec], verbs: [create] }]', { ns: 'shop' }), []);
    assert.deepEqual(
      escalations(
        '[{ apiGroups: [""], resources: [pods/exec], verbs: [create] }, { apiGroups: [""], resources: [pods], verbs: [get] }]',
        { ns: 'shop' },
      ),
      ['exec-pods → pool:running:shop'],
    );
    assert.deepEqual(
      escalations(
        '[{ apiGroups: [""], resources: [pods/attach], verbs: [create] }, { apiGroups: [""], resources: [pods], verbs: [list] }]',
        { ns: 'shop' },
      ),
      ['exec-pods → pool:running:shop'],
    );
    assert.deepEqual(
      escalations('[{ apiGroups: [""], resources: [pods/ephemeralcontainers], verbs: [patch] }]', { ns: 'shop' }),
      ['ephemeral-containers → pool:running:shop'],
    );
  });
  test('exec in every namespace with get pods in one namespace reaches that namespace only', () => {
    const yaml = `---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: { name: getpods }\nrules: [{ apiGroups: [""], resources: [pods], verbs: [get] }]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: { name: eve-get, namespace: bank }\nroleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: getpods }\nsubjects: [{ kind: User, name: eve }]\n`;
    assert.deepEqual(escalations('[{ apiGroups: [""], resources: [pods/exec], verbs: [create] }]', {}, yaml), [
      'exec-pods → pool:running:bank',
    ]);
  });
});

describe('tokens and secrets', () => {
  test('serviceaccounts/token: named accounts only, or every account of the namespace', () => {
    assert.deepEqual(
      escalations(
        '[{ apiGroups: [""], resources: [serviceaccounts/token], verbs: [create], resourceNames: [teller] }]',
        { ns: 'bank' },
      ),
      ['serviceaccount-token → sa:bank/teller'],
    );
    assert.deepEqual(
      escalations('[{ apiGroups: [""], resources: [serviceaccounts/token], verbs: [create] }]', { ns: 'bank' }),
      ['serviceaccount-token → pool:sa:bank'],
    );
    assert.deepEqual(
      escalations('[{ apiGroups: [""], resources: [serviceaccounts], verbs: [create] }]', { ns: 'bank' }),
      [],
    );
  });
  test('reading Secrets reaches accounts with legacy token Secrets; a named get reaches that Secret’s account', () => {
    assert.deepEqual(escalations('[{ apiGroups: [""], resources: [secrets], verbs: [list] }]', { ns: 'bank' }), [
      'read-secrets → pool:tokens:bank',
    ]);
    assert.deepEqual(members('', 'pool:tokens:bank'), ['sa:bank/teller']);
    assert.deepEqual(
      escalations('[{ apiGroups: [""], resources: [secrets], verbs: [get], resourceNames: [teller-token] }]', {
        ns: 'bank',
      }),
      ['read-secrets → sa:bank/teller'],
    );
    assert.deepEqual(
      escalations('[{ apiGroups: [""], resources: [secrets], verbs: [get], resourceNames: [db-password] }]', {
        ns: 'bank',
      }),
      [],
    );
  });
  test('create secrets with a way to read them back → every account of the namespace', () => {
    assert.deepEqual(escalations('[{ apiGroups: [""], resources: [secrets], verbs: [create] }]', { ns: 'bank' }), []);
    assert.deepEqual(
      escalations('[{ apiGroups: [""], resources: [secrets], verbs: [create, get] }]', { ns: 'bank' }).filter((e) =>
        e.startsWith('create-token'),
      ),
      ['create-token-secrets → pool:sa:bank'],
    );
  });
});

describe('impersonation, bind and escalate', () => {
  test('impersonate users, groups and service accounts', () => {
    assert.deepEqual(
      escalations('[{ apiGroups: [""], resources: [users], verbs: [impersonate], resourceNames: [alice] }]'),
      ['impersonate → user:alice'],
    );
    assert.deepEqual(escalations('[{ apiGroups: [""], resources: [users], verbs: [impersonate] }]'), [
      'impersonate → pool:users',
    ]);
    assert.deepEqual(
      escalations('[{ apiGroups: [""], resources: [groups], verbs: [impersonate] }]'),
      ['impersonate → any-identity'],
      'any group includes system:masters',
    );
    assert.deepEqual(
      escalations('[{ apiGroups: [""], resources: [groups], verbs: [impersonate], resourceNames: [sre] }]'),
      ['impersonate → group:sre'],
    );
    assert.deepEqual(
      escalations(
        '[{ apiGroups: [""], resources: [serviceaccounts], verbs: [impersonate], resourceNames: [builder] }]',
        { ns: 'shop' },
      ),
      ['impersonate → sa:shop/builder'],
    );
    assert.deepEqual(
      escalations('[{ apiGroups: [""], resources: [users, groups], verbs: [impersonate] }]', { ns: 'shop' }),
      [],
      'users and groups are cluster-scoped: a RoleBinding cannot grant them',
    );
  });
  test('bind needs a way to write bindings; names limit what can be bound', () => {
    const bindAny = '{ apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles, roles], verbs: [bind] }';
    const writeRB = '{ apiGroups: [rbac.authorization.k8s.io], resources: [rolebindings], verbs: [create] }';
    assert.deepEqual(escalations(`[${bindAny}]`, { ns: 'shop' }), []);
    assert.deepEqual(escalations(`[${bindAny}, ${writeRB}]`, { ns: 'shop' }), ['bind-roles → rbac:full:shop']);
    assert.deepEqual(
      escalations(
        `[{ apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind], resourceNames: [view] }, ${writeRB}]`,
        { ns: 'shop' },
      ),
      ['bind-roles → rbac:roles:shop:ClusterRole/view'],
    );
  });
  test('escalate needs a way to edit roles', () => {
    assert.deepEqual(
      escalations('[{ apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [escalate] }]', {
        ns: 'shop',
      }),
      [],
    );
    assert.deepEqual(
      escalations('[{ apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [escalate, update] }]', {
        ns: 'shop',
      }),
      ['escalate-roles → rbac:full:shop'],
    );
  });
  test('a self-granted role stand-in holds exactly the bindable role’s rules there', () => {
    const m = modelFromYaml(`${base}---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: reader }
rules: [{ apiGroups: [""], resources: [configmaps], verbs: [get] }]`);
    const rules = m.graph.rules('rbac:roles:shop:ClusterRole/reader');
    assert.equal(rules.length, 1);
    assert.equal(rules[0]?.namespace, 'shop');
  });
});

describe('nodes, certificates, admission', () => {
  test('nodes/proxy cluster-wide → pods on the nodes; in a RoleBinding it is inert', () => {
    assert.deepEqual(escalations('[{ apiGroups: [""], resources: [nodes/proxy], verbs: [get] }]'), [
      'nodes-proxy → pool:node:*',
    ]);
    assert.deepEqual(escalations('[{ apiGroups: [""], resources: [nodes/proxy], verbs: [get] }]', { ns: 'shop' }), []);
    assert.deepEqual(members('', 'pool:node:n2'), ['sa:bank/teller'], 'the tokenless pod on n2 does not count');
  });
  test('CSR: create + approve + an approvable client signer + read back → any identity', () => {
    const csr = '{ apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests], verbs: [create, get] }';
    const approval =
      '{ apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests/approval], verbs: [update] }';
    const signer = (name: string) =>
      `{ apiGroups: [certificates.k8s.io], resources: [signers], verbs: [approve], resourceNames: ["${name}"] }`;
    assert.deepEqual(escalations(`[${csr}, ${approval}, ${signer('kubernetes.io/kube-apiserver-client')}]`), [
      'approve-csr → any-identity',
    ]);
    assert.deepEqual(escalations(`[${csr}, ${approval}, ${signer('kubernetes.io/kube-apiserver-client-kubelet')}]`), [
      'approve-csr → group:system:nodes',
    ]);
    assert.deepEqual(
      escalations(`[${csr}, ${signer('kubernetes.io/kube-apiserver-client')}]`),
      [],
      'no approval subresource',
    );
    assert.deepEqual(escalations(`[${csr}, ${approval}, ${signer('example.com/other')}]`), []);
  });
  test('writing webhook configurations: mutating rewrites pods everywhere; validating sees every object', () => {
    assert.deepEqual(
      escalations(
        '[{ apiGroups: [admissionregistration.k8s.io], resources: [mutatingwebhookconfigurations], verbs: [create] }]',
      ),
      ['mutating-webhooks → capability:admission', 'mutating-webhooks → pool:sa:*'],
    );
    assert.deepEqual(
      escalations(
        '[{ apiGroups: [admissionregistration.k8s.io], resources: [validatingwebhookconfigurations], verbs: [patch] }]',
      ),
      ['validating-webhooks → capability:admission'],
    );
  });
  test('running code where a pod-mutating webhook’s backend lives → the namespaces its selector picks', () => {
    const hook = `---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: { name: injector }
webhooks:
- name: inject.example.com
  clientConfig: { service: { namespace: shop, name: injector } }
  namespaceSelector: { matchExpressions: [{ key: team, operator: In, values: [bank] }] }
  rules: [{ apiGroups: [""], apiVersions: [v1], resources: [pods], operations: [CREATE] }]
`;
    const e = escalations('[{ apiGroups: [""], resources: [pods], verbs: [create] }]', { ns: 'shop' }, hook);
    assert.deepEqual(e, ['create-pods → pool:sa:shop', 'create-pods → webhook:injector/inject.example.com']);
    assert.deepEqual(members(hook, 'webhook:injector/inject.example.com'), ['pool:sa:bank']);
  });
});
