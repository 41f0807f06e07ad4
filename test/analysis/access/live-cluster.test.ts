// Reading a live cluster through a kubeconfig: what an identity may list is loaded, what it may
// not becomes a precise problem and a blind spot, Secret payloads never arrive.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { can } from '../../../src/analysis/access/can.ts';
import { serviceAccountPrincipal } from '../../../src/analysis/access/identity.ts';
import { loadAccessInputs } from '../../../src/analysis/access/load.ts';
import { buildAccessModel } from '../../../src/analysis/access/model.ts';
import { harnessBinary, type KubeHarness, kubectl, startKubeHarness } from '../../e2e/harness.ts';
import { repoRoot } from './support/build.ts';

const skip = harnessBinary()
  ? false
  : 'kube-harness binary not built (run scripts/build-harness.sh; needs Go) - live-cluster loading test SKIPPED';
if (skip) console.error(`\n*** ${skip} ***\n`);

let h: KubeHarness;

before(async () => {
  if (skip) return;
  h = await startKubeHarness({
    identities: { nobody: { username: 'nobody@example.com' } },
    apiserverArgs: ['--disable-admission-plugins=ServiceAccount'],
  });
  const admin = h.kubeconfig('admin');
  const manifest = `apiVersion: v1
kind: Namespace
metadata: { name: shop }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: deployer, namespace: shop }
---
apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata: { name: deployer-token, namespace: shop, annotations: { kubernetes.io/service-account.name: deployer } }
---
apiVersion: v1
kind: Secret
type: Opaque
metadata: { name: unrelated, namespace: shop }
stringData: { password: hunter2 }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: deployer-edit, namespace: shop }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit }
subjects: [{ kind: ServiceAccount, name: deployer, namespace: shop }]
---
apiVersion: v1
kind: Pod
metadata: { name: web, namespace: shop }
spec: { serviceAccountName: deployer, containers: [{ name: c, image: nginx }] }
`;
  const r = await kubectl(admin, ['apply', '-f', '-'], { input: manifest });
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  await h?.stop();
});

test('the admin kubeconfig loads every analysed kind; aggregated roles are live; no Secret payload arrives', {
  skip,
}, async () => {
  const inputs = await loadAccessInputs({ kubeconfig: h.kubeconfig('admin') });
  const model = buildAccessModel(inputs);
  assert.deepEqual(
    model.problems.filter((p) => p.severity === 'error'),
    [],
  );
  assert.ok(inputs.inventory.pods.has('shop/web'));
  assert.deepEqual([...inputs.inventory.tokenSecrets.keys()], ['shop/deployer-token'], 'only token Secrets are listed');
  assert.ok(!JSON.stringify(inputs.inventory).includes('hunter2'));
  assert.deepEqual(model.blindSpots, [], 'every kind was listed, even the empty ones');
  assert.equal(
    can(model.index, serviceAccountPrincipal('shop', 'deployer'), {
      verb: 'create',
      group: '',
      resource: 'pods',
      namespace: 'shop',
    }).allowed,
    true,
  );
  assert.ok(
    model.graph.edges('sa:shop/deployer').some((e) => e.to === 'pool:running:shop'),
    'exec into the live pod',
  );
});

test('an identity that may list nothing gets a precise problem per kind, and the analysis says what it could not see', {
  skip,
}, async () => {
  const inputs = await loadAccessInputs({ kubeconfig: h.kubeconfig('nobody') });
  const model = buildAccessModel(inputs);
  const forbidden = model.problems.filter((p) => p.code === 'forbidden');
  // The ten analysed kinds, and Tether's own Agents.
  assert.equal(forbidden.length, 11, JSON.stringify(model.problems, null, 1));
  assert.ok(forbidden.every((p) => /could not list \w+ objects: GET .* 403/.test(p.message)));
  assert.ok(model.blindSpots.some((b) => /no ClusterRoleBinding objects/.test(b)));
  assert.ok(model.blindSpots.some((b) => /could not be read/.test(b)));
});

test('tether access can --kubeconfig answers from the live cluster', { skip }, () => {
  const driver = join(repoRoot, 'test', 'analysis', 'access', 'support', 'tether-access.ts');
  const r = spawnSync(
    process.execPath,
    [
      driver,
      'access',
      'can',
      'system:serviceaccount:shop:deployer',
      'get',
      'secrets',
      '-n',
      'shop',
      '--kubeconfig',
      h.kubeconfig('admin'),
    ],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /RoleBinding shop\/deployer-edit .* ClusterRole edit \(aggregated\)/);
});
