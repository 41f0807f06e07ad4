// The containment mix for bench/engine: workloads (pods run as an inside or a stronger account,
// deployment updates that change the template or only replicas), bindings (to a Role inside the
// boundary, to cluster-admin) and field diffs (spec.replicas only vs an image change), decided
// with a cluster view of 100 team namespaces.
import { stringify } from 'yaml';
import type { Action } from '../../src/engine/action.ts';
import { clusterViewOf } from '../../src/kube/cluster-view.ts';
import type { KubeObject } from '../../src/kube/object-dump.ts';
import { compilePolicy } from '../../src/policy/compile.ts';
import { parsePolicySources } from '../../src/policy/load.ts';

const AGENTS = 100;
const ns = (i: number) => `team-${i % 100}`;
const agent = (i: number) => `builder-${i}`;
const RBAC = 'rbac.authorization.k8s.io/v1';

export function containmentPolicy() {
  const docs = [
    {
      apiVersion: 'tether.dev/v1alpha1',
      kind: 'GovernancePolicy',
      metadata: { name: 'g' },
      spec: { agentSelectors: { serviceAccountNamespaces: ['agents'] }, requireIntent: true },
    },
    ...Array.from({ length: AGENTS }, (_, i) => ({
      apiVersion: 'tether.dev/v1alpha1',
      kind: 'Agent',
      metadata: { name: agent(i) },
      spec: {
        owner: { id: `owner-${i}@example.com` },
        authorityClass: 'autonomous',
        identities: [{ kind: 'ServiceAccount', namespace: 'agents', name: agent(i) }],
        boundary: {
          namespaces: [ns(i)],
          runAs: ['ci'],
          rules: [
            { apiGroups: [''], resources: ['pods', 'configmaps'], verbs: ['get', 'list', 'create'] },
            {
              apiGroups: ['apps'],
              resources: ['deployments'],
              verbs: ['create', 'update', 'patch'],
              fields: ['spec.replicas', 'metadata.labels.*'],
            },
            { apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings'], verbs: ['create'] },
          ],
          budgets: [{ window: '1h', maxMutations: 1_000_000 }],
        },
        breaker: { maxViolations: 1_000_000 },
      },
    })),
  ];
  const compiled = compilePolicy(
    parsePolicySources([{ name: 'containment.yaml', text: docs.map((d) => stringify(d)).join('---\n') }]),
  );
  if (!compiled.policy) throw new Error(JSON.stringify(compiled.problems));
  return compiled.policy;
}

export function containmentView() {
  const objects: KubeObject[] = [
    {
      apiVersion: RBAC,
      kind: 'ClusterRole',
      metadata: { name: 'cluster-admin' },
      rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
    },
  ];
  for (let i = 0; i < 100; i++) {
    const n = ns(i);
    objects.push(
      {
        apiVersion: RBAC,
        kind: 'Role',
        metadata: { name: 'config-reader', namespace: n },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
      },
      {
        apiVersion: RBAC,
        kind: 'RoleBinding',
        metadata: { name: 'app', namespace: n },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'config-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'app', namespace: n }],
      },
      {
        apiVersion: RBAC,
        kind: 'RoleBinding',
        metadata: { name: 'admin', namespace: n },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', name: 'ops', namespace: n }],
      },
    );
  }
  return clusterViewOf(objects);
}

const deployment = (name: string, namespace: string, replicas: number, image: string, account = 'app') => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace, labels: { app: name }, resourceVersion: String(replicas) },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { serviceAccountName: account, containers: [{ name: 'app', image }] },
    },
  },
});

/** 40 % pod creates, 30 % deployment updates (field diffs), 30 % bindings; a third of each reaches past the boundary. */
export function containmentAction(k: number): Action {
  const i = (k * 7919) % AGENTS;
  const namespace = ns(i);
  const subject = {
    username: `system:serviceaccount:agents:${agent(i)}`,
    groups: ['system:serviceaccounts', 'system:serviceaccounts:agents', 'system:authenticated'],
  };
  const base = { source: 'admission' as const, subject, intent: { summary: 'ship it' } };
  const r = k % 10;
  const outside = k % 3 === 0;
  if (r < 4) {
    const account = outside ? 'ops' : r % 2 ? 'app' : 'ci';
    const object = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `p-${k % 50}`, namespace },
      spec: { serviceAccountName: account, containers: [{ name: 'c', image: 'busybox' }] },
    };
    return {
      ...base,
      verb: 'create',
      target: { group: '', version: 'v1', resource: 'pods', namespace, name: `p-${k % 50}` },
      object,
    };
  }
  if (r < 7) {
    const name = `web-${k % 30}`;
    const object = deployment(name, namespace, (k % 9) + 2, outside ? 'evil/exfil:1' : 'shop/web:1');
    return {
      ...base,
      verb: 'update',
      target: { group: 'apps', version: 'v1', resource: 'deployments', namespace, name },
      object,
      oldObject: deployment(name, namespace, 3, 'shop/web:1'),
    };
  }
  const roleRef = outside
    ? { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }
    : { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'config-reader' };
  const object = {
    apiVersion: RBAC,
    kind: 'RoleBinding',
    metadata: { name: `b-${k % 40}`, namespace },
    roleRef,
    subjects: [{ kind: 'ServiceAccount', name: 'helper', namespace }],
  };
  return {
    ...base,
    verb: 'create',
    target: {
      group: 'rbac.authorization.k8s.io',
      version: 'v1',
      resource: 'rolebindings',
      namespace,
      name: `b-${k % 40}`,
    },
    object,
  };
}
