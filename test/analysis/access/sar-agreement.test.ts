// `tether access can` must answer exactly what the real kube-apiserver answers. The fixture's
// bootstrap RBAC plus a random synthetic policy (aggregated ClusterRoles included) are applied to
// the harness's API server; the harness's real clusterrole-aggregation controller fills the
// aggregated roles, and our emulation must reach the same rules; then everything is read back
// from the server, and thousands of random questions go both to the analyzer and to
// SubjectAccessReview. Every answer must agree, in 'stored' and in 'emulate' mode.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { emulateAggregation } from '../../../src/analysis/access/aggregation.ts';
import { type AccessQuestion, can, describeGrant } from '../../../src/analysis/access/can.ts';
import { userPrincipal } from '../../../src/analysis/access/identity.ts';
import { buildInventory } from '../../../src/analysis/access/inventory.ts';
import { ACCESS_RESOURCES, inputsFromObjects } from '../../../src/analysis/access/load.ts';
import { type AccessModel, buildAccessModel } from '../../../src/analysis/access/model.ts';
import {
  ApiError,
  type KubeClient,
  kubeClient,
  listClusterObjects,
  loadKubeConfig,
} from '../../../src/kube/cluster-objects.ts';
import { type KubeObject, readObjectDump } from '../../../src/kube/object-dump.ts';
import { harnessBinary, type KubeHarness, startKubeHarness } from '../../e2e/harness.ts';
import { requireBootstrap } from './support/build.ts';
import { seededRandom as prng } from '../../support/seeded.ts';

const skip = harnessBinary()
  ? false
  : 'kube-harness binary not built (run scripts/build-harness.sh; needs Go) - SubjectAccessReview agreement test SKIPPED';
if (skip) console.error(`\n*** ${skip} ***\n`);

const QUESTIONS = Number(process.env.TETHER_SAR_QUESTIONS ?? 4000);
const CONCURRENCY = 32;
const SEED = Number(process.env.TETHER_SAR_SEED ?? 20240601);

// A small deterministic PRNG (test/support/seeded.ts), so a failure can be replayed with TETHER_SAR_SEED.
const rnd = prng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
const some = <T>(xs: readonly T[], max = 3): T[] => [
  ...new Set(Array.from({ length: 1 + Math.floor(rnd() * max) }, () => pick(xs))),
];

const NAMESPACES = ['t0', 't1', 't2', 't3', 't4'];
const USERS = [
  'u0',
  'u1',
  'u2',
  'u3',
  'alice@example.com',
  'system:kube-scheduler',
  'system:kube-controller-manager',
  'system:anonymous',
];
const GROUPS = [
  'g0',
  'g1',
  'g2',
  'sre',
  'system:authenticated',
  'system:unauthenticated',
  'system:serviceaccounts',
  'system:serviceaccounts:t1',
  'system:nodes',
];
const SA_NAMES = ['s0', 's1', 's2', 'default'];
const VERBS = [
  'get',
  'list',
  'watch',
  'create',
  'update',
  'patch',
  'delete',
  'deletecollection',
  'impersonate',
  'bind',
  'escalate',
  'use',
];
const API_GROUPS = ['', 'apps', 'batch', 'rbac.authorization.k8s.io', 'example.com'];
const RESOURCES = [
  'pods',
  'pods/log',
  'pods/exec',
  'secrets',
  'configmaps',
  'deployments',
  'deployments/scale',
  'jobs',
  'roles',
  'rolebindings',
  'widgets',
  'widgets/status',
  'serviceaccounts',
  'serviceaccounts/token',
  'nodes',
  'nodes/proxy',
];
const RULE_RESOURCES = [...RESOURCES, '*', '*/log', '*/scale', '*/status'];
const NAMES = ['a', 'b', 'web', 'db', ''];
const URLS = [
  '/healthz',
  '/healthz/etcd',
  '/version',
  '/api',
  '/api/v1',
  '/apis/apps',
  '/metrics',
  '/logs/x',
  '/debug/pprof',
];

function randomRule(namespaced = false): Record<string, unknown> {
  // The API server refuses non-resource URLs in namespaced Roles.
  if (!namespaced && rnd() < 0.12)
    return {
      verbs: some(['get', 'post', 'put', '*'], 2),
      nonResourceURLs: some(['/healthz', '/metrics', '/api/*', '/logs*', '*', '/debug/**'], 2),
    };
  const rule: Record<string, unknown> = {
    verbs: rnd() < 0.08 ? ['*'] : some(VERBS),
    apiGroups: rnd() < 0.1 ? ['*'] : some(API_GROUPS, 2),
    resources: some(RULE_RESOURCES),
  };
  // The authorizer compares names as strings, the empty name included.
  if (rnd() < 0.3) rule.resourceNames = some(NAMES, 2);
  return rule;
}

function randomSubject(bindingNs: string | undefined): Record<string, unknown> {
  const r = rnd();
  if (r < 0.3) return { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: pick(USERS) };
  if (r < 0.55) return { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: pick(GROUPS) };
  const sa: Record<string, unknown> = { kind: 'ServiceAccount', name: pick(SA_NAMES) };
  if (!bindingNs || rnd() < 0.6) sa.namespace = pick(NAMESPACES);
  return sa;
}

function syntheticPolicy(): KubeObject[] {
  const objects: KubeObject[] = [];
  const rbac = 'rbac.authorization.k8s.io/v1';
  for (let i = 0; i < 40; i++) {
    const labels: Record<string, string> = {};
    if (rnd() < 0.3) labels['tether.test/aggregate-to-a'] = 'true';
    if (rnd() < 0.2) labels['tether.test/tier'] = pick(['gold', 'silver']);
    objects.push({
      apiVersion: rbac,
      kind: 'ClusterRole',
      metadata: { name: `tc-${i}`, labels },
      rules: Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => randomRule()),
    });
  }
  objects.push({
    apiVersion: rbac,
    kind: 'ClusterRole',
    metadata: { name: 'tc-agg-a', labels: { 'tether.test/tier': 'gold' } },
    aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'tether.test/aggregate-to-a': 'true' } }] },
  });
  objects.push({
    apiVersion: rbac,
    kind: 'ClusterRole',
    metadata: { name: 'tc-agg-gold' },
    aggregationRule: {
      clusterRoleSelectors: [{ matchExpressions: [{ key: 'tether.test/tier', operator: 'In', values: ['gold'] }] }],
    },
  });
  const clusterRoleNames = [
    ...objects.map((o) => o.metadata?.name as string),
    'view',
    'edit',
    'admin',
    'cluster-admin',
    'tc-missing',
  ];
  for (let i = 0; i < 40; i++) {
    objects.push({
      apiVersion: rbac,
      kind: 'Role',
      metadata: { name: `tr-${i % 8}`, namespace: NAMESPACES[i % NAMESPACES.length] },
      rules: Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => randomRule(true)),
    });
  }
  for (let i = 0; i < 50; i++) {
    objects.push({
      apiVersion: rbac,
      kind: 'ClusterRoleBinding',
      metadata: { name: `tcb-${i}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: pick(clusterRoleNames) },
      subjects: Array.from({ length: 1 + Math.floor(rnd() * 2) }, () => randomSubject(undefined)),
    });
  }
  for (let i = 0; i < 150; i++) {
    const ns = pick(NAMESPACES);
    const toRole = rnd() < 0.5;
    objects.push({
      apiVersion: rbac,
      kind: 'RoleBinding',
      metadata: { name: `trb-${i}`, namespace: ns },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: toRole ? 'Role' : 'ClusterRole',
        name: toRole ? `tr-${Math.floor(rnd() * 9)}` : pick(clusterRoleNames),
      },
      subjects: Array.from({ length: 1 + Math.floor(rnd() * 2) }, () => randomSubject(ns)),
    });
  }
  return objects;
}

const PLURAL: Record<string, string> = {
  ClusterRole: 'clusterroles',
  ClusterRoleBinding: 'clusterrolebindings',
  Role: 'roles',
  RoleBinding: 'rolebindings',
};

async function apply(client: KubeClient, o: KubeObject): Promise<void> {
  const md = o.metadata ?? {};
  const { creationTimestamp: _c, ...metadata } = md as Record<string, unknown>;
  const ns = md.namespace ? `namespaces/${md.namespace}/` : '';
  const path = `/apis/rbac.authorization.k8s.io/v1/${ns}${PLURAL[o.kind as string]}/${encodeURIComponent(md.name as string)}?fieldManager=tether-test&force=true`;
  await client.request(
    'PATCH',
    path,
    { ...o, apiVersion: 'rbac.authorization.k8s.io/v1', metadata },
    'application/apply-patch+yaml',
  );
}

async function pool<T>(items: readonly T[], n: number, fn: (t: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i] as T, i);
      }
    }),
  );
}

interface Question {
  user: string;
  groups: string[];
  q: AccessQuestion;
}

function randomIdentity(): { user: string; groups: string[] } {
  const r = rnd();
  if (r < 0.45) {
    const ns = pick(NAMESPACES);
    const extra = rnd() < 0.2 ? [pick(GROUPS)] : [];
    return {
      user: `system:serviceaccount:${ns}:${pick(SA_NAMES)}`,
      groups: [
        ...new Set(['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated', ...extra]),
      ],
    };
  }
  const user = pick(USERS);
  if (user === 'system:anonymous') return { user, groups: ['system:unauthenticated'] };
  const groups =
    rnd() < 0.6
      ? some(
          GROUPS.filter((g) => g !== 'system:unauthenticated'),
          2,
        )
      : [];
  if (rnd() < 0.01) groups.push('system:masters');
  return { user, groups: [...new Set([...groups, 'system:authenticated'])] };
}

function randomQuestion(model: AccessModel): AccessQuestion {
  if (rnd() < 0.1) return { verb: pick(['get', 'post', 'put', 'head']), path: pick(URLS) };
  // Half the questions are aimed at a real rule, so both answers are well represented.
  const grants = model.index.grants;
  if (rnd() < 0.5 && grants.length) {
    const g = pick(grants);
    const r = g.rules.length ? pick(g.rules).rule : undefined;
    if (r?.resources?.length) {
      const verb = r.verbs.includes('*') || rnd() < 0.15 ? pick(VERBS) : pick(r.verbs);
      const group = (r.apiGroups ?? []).includes('*') || !r.apiGroups?.length ? pick(API_GROUPS) : pick(r.apiGroups);
      let res = pick(r.resources);
      if (res === '*') res = pick(RESOURCES);
      else if (res.startsWith('*/')) res = `${pick(['pods', 'deployments', 'widgets'])}${res.slice(1)}`;
      const [resource, subresource] = res.split('/') as [string, string | undefined];
      const name = r.resourceNames?.length && rnd() < 0.7 ? pick(r.resourceNames) : pick([...NAMES, undefined]);
      const namespace = g.namespace ?? (rnd() < 0.3 ? '' : pick(NAMESPACES));
      return { verb, group, resource, subresource, namespace: namespace || undefined, name: name || undefined };
    }
  }
  const [resource, subresource] = pick(RESOURCES).split('/') as [string, string | undefined];
  const name = pick([...NAMES, undefined]);
  return {
    verb: pick(VERBS),
    group: pick(API_GROUPS),
    resource,
    subresource,
    namespace: rnd() < 0.25 ? undefined : pick(NAMESPACES),
    name: name || undefined,
  };
}

async function subjectAccessReview(client: KubeClient, { user, groups, q }: Question): Promise<boolean> {
  const spec: Record<string, unknown> = { user, groups };
  if ('path' in q) spec.nonResourceAttributes = { path: q.path, verb: q.verb };
  else
    spec.resourceAttributes = {
      verb: q.verb,
      group: q.group,
      resource: q.resource,
      subresource: q.subresource ?? '',
      namespace: q.namespace ?? '',
      name: q.name ?? '',
    };
  const r = (await client.request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec,
  })) as { status?: { allowed?: boolean } };
  return r.status?.allowed === true;
}

/**
 * The RBAC authorizer reads through informers, which trail the writes by a moment. Each informer
 * delivers its kind's events in order, so once a sentinel written last of each kind is visible to
 * SubjectAccessReview, every earlier write of that kind is too.
 */
async function waitForAuthorizer(client: KubeClient): Promise<void> {
  const rbac = 'rbac.authorization.k8s.io/v1';
  const ref = (kind: string) => ({ apiGroup: 'rbac.authorization.k8s.io', kind, name: 'tether-sentinel' });
  const subjects = [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'tether-sentinel' }];
  const sentinels: KubeObject[] = [
    {
      apiVersion: rbac,
      kind: 'ClusterRole',
      metadata: { name: 'tether-sentinel' },
      rules: [{ verbs: ['get'], nonResourceURLs: ['/tether-sentinel'] }],
    },
    {
      apiVersion: rbac,
      kind: 'ClusterRoleBinding',
      metadata: { name: 'tether-sentinel' },
      roleRef: ref('ClusterRole'),
      subjects,
    },
    {
      apiVersion: rbac,
      kind: 'Role',
      metadata: { name: 'tether-sentinel', namespace: 't0' },
      rules: [{ verbs: ['get'], apiGroups: [''], resources: ['tether-sentinels'] }],
    },
    {
      apiVersion: rbac,
      kind: 'RoleBinding',
      metadata: { name: 'tether-sentinel', namespace: 't0' },
      roleRef: ref('Role'),
      subjects,
    },
  ];
  for (const o of sentinels) await apply(client, o);
  const probes: Question[] = [
    { user: 'tether-sentinel', groups: [], q: { verb: 'get', path: '/tether-sentinel' } },
    {
      user: 'tether-sentinel',
      groups: [],
      q: { verb: 'get', group: '', resource: 'tether-sentinels', namespace: 't0' },
    },
  ];
  const deadline = Date.now() + 30_000;
  for (const p of probes) {
    while (!(await subjectAccessReview(client, p))) {
      if (Date.now() > deadline) throw new Error('the RBAC authorizer did not see the sentinel objects within 30 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * The harness runs the real clusterrole-aggregation controller. Wait until every aggregated
 * ClusterRole holds what our emulation computes from the roles it selects; if it never does, the
 * emulation and the controller disagree, which is a failure of its own.
 */
async function waitForAggregation(client: KubeClient): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const live = await listClusterObjects(
      client,
      ACCESS_RESOURCES.filter((r) => r.kind === 'ClusterRole'),
    );
    const differs = emulateAggregation(buildInventory(live.objects).clusterRoles).problems.filter(
      (p) => p.code === 'aggregation-differs',
    );
    const empty = [...buildInventory(live.objects).clusterRoles.values()].filter(
      (r) => r.aggregationRule && r.rules.length === 0 && r.name.startsWith('tc-agg'),
    );
    if (differs.length === 0 && empty.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `the aggregation controller and our emulation still disagree after 60 s:\n${differs.map((p) => `${p.object}: ${p.message}`).join('\n')}${empty.map((r) => `\n${r.name} is still empty`).join('')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

let h: KubeHarness;
let client: KubeClient;

before(async () => {
  if (skip) return;
  h = await startKubeHarness();
  client = kubeClient(loadKubeConfig(h.kubeconfig('admin')));
  await pool(NAMESPACES, NAMESPACES.length, async (ns) => {
    await client.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  });
  const fixture = readObjectDump(requireBootstrap()).objects.map((o) => o.object);
  const objects = [...fixture, ...syntheticPolicy()];
  const rejected: string[] = [];
  await pool(objects, 16, async (o) => {
    try {
      await apply(client, o);
    } catch (e) {
      rejected.push(`${o.kind} ${o.metadata?.name}: ${(e as Error).message}`);
    }
  });
  assert.deepEqual(rejected, [], 'the API server accepted every object');
  await waitForAggregation(client);
  await waitForAuthorizer(client);
});

after(async () => {
  await h?.stop();
});

test(`${QUESTIONS} random questions: the analyzer agrees with SubjectAccessReview every time`, {
  skip,
  timeout: 600_000,
}, async () => {
  const listing = await listClusterObjects(
    client,
    ACCESS_RESOURCES.filter((r) => r.group === 'rbac.authorization.k8s.io'),
  );
  assert.deepEqual(listing.problems, []);
  const stored = buildAccessModel(inputsFromObjects(listing.objects), { aggregation: 'stored' });
  const emulated = buildAccessModel(inputsFromObjects(listing.objects), { aggregation: 'emulate' });
  assert.deepEqual(
    emulated.problems.filter((p) => p.code === 'aggregation-differs'),
    [],
    'the stored aggregated rules are what our emulation computes',
  );
  assert.ok(stored.index.grants.length > 200, `${stored.index.grants.length} grants read back`);

  const questions: Question[] = Array.from({ length: QUESTIONS }, () => ({
    ...randomIdentity(),
    q: randomQuestion(stored),
  }));
  const answers: boolean[] = new Array(questions.length);
  const started = Date.now();
  await pool(questions, CONCURRENCY, async (q, i) => {
    for (let attempt = 0; ; attempt++) {
      try {
        answers[i] = await subjectAccessReview(client, q);
        return;
      } catch (e) {
        // Only a throttled server is retried; anything else is a real failure.
        if (!(e instanceof ApiError && e.status === 429) || attempt > 5) throw e;
        await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
      }
    }
  });
  const elapsed = Date.now() - started;
  const mismatches: string[] = [];
  let allowed = 0;
  questions.forEach(({ user, groups, q }, i) => {
    const server = answers[i] as boolean;
    if (server) allowed++;
    for (const m of [stored, emulated]) {
      const answer = can(m.index, userPrincipal(user, groups, false), q);
      if (answer.allowed !== server) {
        const via = answer.witness ? ` via ${describeGrant(answer.witness)}` : '';
        mismatches.push(
          `${m === stored ? 'stored' : 'emulated'}: ${user} [${groups.join(',')}] ${JSON.stringify(q)}: server ${server}, analyzer ${answer.allowed}${via}`,
        );
      }
    }
  });
  console.log(
    `SubjectAccessReview agreement: ${questions.length} questions (${allowed} allowed, ${questions.length - allowed} denied) in ${elapsed} ms, seed ${SEED}, ${mismatches.length} mismatches`,
  );
  assert.deepEqual(mismatches.slice(0, 20), [], `${mismatches.length} disagreements (seed ${SEED})`);
  assert.ok(
    allowed > questions.length * 0.15 && allowed < questions.length * 0.85,
    `a useful mix of answers: ${allowed} allowed`,
  );
});
