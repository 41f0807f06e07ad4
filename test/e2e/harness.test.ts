// Proves the kube-harness is a real API server: tokens, RBAC, CRDs, SubjectAccessReview.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { harnessBinary, type KubeHarness, kubectl, startKubeHarness } from './harness.ts';

const skip = harnessBinary()
  ? false
  : 'kube-harness binary not built (run scripts/build-harness.sh; needs Go) - e2e harness test SKIPPED';
if (skip) console.error(`\n*** ${skip} ***\n`);

const agentUser = 'system:serviceaccount:agents:scaler-bot';
const agentGroup = 'tether:agents';

let h: KubeHarness;

before(async () => {
  if (skip) return;
  h = await startKubeHarness({
    identities: {
      scaler: { username: agentUser, groups: [agentGroup, 'system:serviceaccounts'] },
      alice: { username: 'alice@example.com' },
    },
  });
  const bound = await kubectl(h.kubeconfig('admin'), [
    'create',
    'rolebinding',
    'agents-view',
    '--clusterrole=view',
    `--group=${agentGroup}`,
    '-n',
    'default',
  ]);
  assert.equal(bound.code, 0, bound.stderr);
});

after(async () => {
  await h?.stop();
});

test('admin can list namespaces', { skip }, async () => {
  const r = await kubectl(h.kubeconfig('admin'), ['get', 'ns', '-o', 'name']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /namespace\/kube-system/);
});

test('identities authenticate as their usernames and groups', { skip }, async () => {
  const r = await kubectl(h.kubeconfig('scaler'), ['auth', 'whoami', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse(r.stdout).status.userInfo;
  assert.equal(info.username, agentUser);
  assert.ok(info.groups.includes(agentGroup), JSON.stringify(info.groups));
});

test('RBAC forbids the agent to list secrets', { skip }, async () => {
  const r = await kubectl(h.kubeconfig('scaler'), ['get', 'secrets', '-n', 'default']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /forbidden/i);
  assert.ok(r.stderr.includes(agentUser), r.stderr);
});

test('RBAC grants the agent what a RoleBinding gives its group', { skip }, async () => {
  const r = await kubectl(h.kubeconfig('scaler'), ['get', 'configmaps', '-n', 'default']);
  assert.equal(r.code, 0, r.stderr);
  const other = await kubectl(h.kubeconfig('alice'), ['get', 'configmaps', '-n', 'default']);
  assert.notEqual(other.code, 0);
});

test('a CRD is applied and becomes Established', { skip }, async () => {
  const admin = h.kubeconfig('admin');
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.harness.tether.dev' },
    spec: {
      group: 'harness.tether.dev',
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } },
            },
          },
        },
      ],
    },
  };
  const applied = await kubectl(admin, ['apply', '-f', '-'], { input: JSON.stringify(crd) });
  assert.equal(applied.code, 0, applied.stderr);
  const wait = await kubectl(admin, [
    'wait',
    '--for=condition=Established',
    '--timeout=30s',
    'crd/widgets.harness.tether.dev',
  ]);
  assert.equal(wait.code, 0, wait.stderr);
  const widget = {
    apiVersion: 'harness.tether.dev/v1',
    kind: 'Widget',
    metadata: { name: 'w1', namespace: 'default' },
    spec: { size: 3 },
  };
  // Discovery of a new group can lag a moment behind Established.
  let created = await kubectl(admin, ['apply', '-f', '-'], { input: JSON.stringify(widget) });
  for (let i = 0; i < 20 && created.code !== 0; i++) {
    await new Promise((r) => setTimeout(r, 250));
    created = await kubectl(admin, ['apply', '-f', '-'], { input: JSON.stringify(widget) });
  }
  assert.equal(created.code, 0, created.stderr);
  const got = await kubectl(admin, ['get', 'widget', 'w1', '-n', 'default', '-o', 'jsonpath={.spec.size}']);
  assert.equal(got.stdout, '3');
});

test('a SubjectAccessReview by admin answers as RBAC decides', { skip }, async () => {
  const admin = h.kubeconfig('admin');
  const review = async (verb: string, resource: string) => {
    const sar = {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: { user: agentUser, groups: [agentGroup], resourceAttributes: { namespace: 'default', verb, resource } },
    };
    const r = await kubectl(admin, ['create', '-f', '-', '-o', 'json'], { input: JSON.stringify(sar) });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout).status;
  };
  assert.equal((await review('list', 'secrets')).allowed, false);
  const cm = await review('list', 'configmaps');
  assert.equal(cm.allowed, true);
  assert.match(cm.reason, /RBAC/);
});
