// Bad input never hides the rest: a broken document, a wrong kustomization entry or a missing
// chart tool is named precisely, and everything else is still rendered and compared.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadDesiredState } from '../../../src/analysis/drift/desired.ts';
import { detectDrift } from '../../../src/analysis/drift/detect.ts';
import { DriftInputError } from '../../../src/analysis/drift/errors.ts';
import { which } from '../../../src/analysis/drift/exec.ts';
import { loadLiveFromDump } from '../../../src/analysis/drift/live.ts';
import { ApiServerStandIn } from './apiserver-standin.ts';
import { FIXTURE, type FixtureRepo, fixtureRepo, gitIn, makeWritable } from './support.ts';

const repos: FixtureRepo[] = [];
after(() => {
  for (const r of repos) r.cleanup();
});

function repoWith(edits: Record<string, string | ((old: string) => string)>): FixtureRepo {
  const r = fixtureRepo();
  repos.push(r);
  for (const [file, edit] of Object.entries(edits)) {
    const path = join(r.dir, file);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, typeof edit === 'string' ? edit : edit(readFileSync(path, 'utf8')));
  }
  gitIn(r.dir, ['add', '-A']);
  gitIn(r.dir, ['commit', '-q', '-m', 'edits']);
  return r;
}

async function rejects(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DriftInputError, `expected DriftInputError, got ${e}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test('a missing revision is named, with the branches that do exist', async () => {
  const r = fixtureRepo();
  repos.push(r);
  await rejects(
    loadDesiredState({ repo: r.dir, revision: 'release-9.9', path: 'kustomize' }),
    /^revision 'release-9\.9' does not exist in .*tether-drift-repo-.* \(branches and tags: main\); fetch it first/,
  );
  await rejects(loadDesiredState({ repo: r.dir, revision: '--upload-pack=touch /tmp/x' }), /is not a revision name/);
});

test('a missing path, repository or working copy is named', async () => {
  const r = fixtureRepo();
  repos.push(r);
  await rejects(
    loadDesiredState({ repo: r.dir, path: 'overlays/prod' }),
    new RegExp(`^path 'overlays/prod' does not exist at revision HEAD \\(${r.commit.slice(0, 12)}\\)`),
  );
  await rejects(loadDesiredState({ repo: join(r.dir, 'nope') }), /repository directory .*nope does not exist/);
  const plain = mkdtempSync(join(tmpdir(), 'tether-drift-plain-'));
  try {
    await rejects(
      loadDesiredState({ repo: plain, revision: 'main' }),
      /is not a Git working copy, so revision 'main' cannot be read/,
    );
  } finally {
    rmSync(plain, { recursive: true, force: true });
  }
});

test('an unparsable document in a kustomize base is named by file, document and line; the rest is compared', async () => {
  // Break the Service (document 2) of adservice.yaml: the Deployment and ServiceAccount beside it survive.
  const r = repoWith({
    'kustomize/base/adservice.yaml': (old) =>
      old.replace(
        '  type: ClusterIP\n  selector:\n    app: adservice',
        '  type: ClusterIP\n  selector: [app: adservice\n    oops: {',
      ),
  });
  const desired = await loadDesiredState({ repo: r.dir, path: 'kustomize' });
  assert.equal(desired.objects.length, 34);
  assert.ok(desired.objects.some((o) => o.id.kind === 'Deployment' && o.id.name === 'adservice'));
  assert.ok(!desired.objects.some((o) => o.id.kind === 'Service' && o.id.name === 'adservice'));
  assert.equal(desired.problems.length, 1);
  const p = desired.problems[0];
  assert.equal(p?.where, 'kustomize/base/adservice.yaml');
  assert.match(
    p?.message ?? '',
    /^document 2 line \d+ column \d+: invalid YAML: .*; left out, the rest is still compared$/,
  );

  // The rest is compared; the problem is carried into the report.
  const api = new ApiServerStandIn();
  const original = await loadDesiredState({ repo: r.dir, revision: `${r.commit}`, path: 'kustomize' });
  for (const d of original.objects) api.applyClientSide(d.object);
  const report = await detectDrift({ desired: desired.objects, live: api.list(), problems: desired.problems });
  assert.equal(report.compared, 34);
  assert.equal(report.inSync, 34);
  assert.deepEqual(report.problems, desired.problems);
});

test('a document without a name, and a kustomization entry that does not exist, are named', async () => {
  const r = repoWith({
    'kustomize/base/emailservice.yaml': (old) =>
      `${old}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {app: email}\ndata: {a: "1"}\n`,
    'kustomize/base/kustomization.yaml': (old) =>
      old.replace('- shippingservice.yaml', '- shippingservice.yaml\n- paymentservice-v2.yaml'),
  });
  const desired = await loadDesiredState({ repo: r.dir, path: 'kustomize' });
  assert.equal(desired.objects.length, 35);
  const messages = desired.problems.map((p) => `${p.where}: ${p.message}`).sort();
  assert.equal(messages.length, 2);
  assert.match(
    messages[0] ?? '',
    /^kustomize\/base\/emailservice\.yaml: document 4 \(line \d+\): ConfigMap: metadata\.name is missing; left out, the rest is still compared$/,
  );
  assert.equal(
    messages[1],
    "kustomize/base/kustomization.yaml: kustomize/base/kustomization.yaml lists 'paymentservice-v2.yaml', which does not exist; left out, the rest is still compared",
  );
});

test('a kustomization that cannot be repaired fails alone; other units in the tree are still rendered', async () => {
  const r = repoWith({
    'kustomize/kustomization.yaml':
      'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- base\npatches:\n- path: missing-patch.yaml\n',
  });
  const desired = await loadDesiredState({ repo: r.dir });
  assert.equal(desired.objects.length, 33, 'kubernetes-manifests/ still renders');
  assert.equal(desired.problems.length, 1);
  assert.equal(desired.problems[0]?.where, 'kustomize/kustomization.yaml');
  assert.match(
    desired.problems[0]?.message ?? '',
    /^kustomize build failed: .*missing-patch\.yaml.*; none of this kustomization's objects are compared$/,
  );
});

test("the without-loadgenerator component alone fails with kustomize's reason", async () => {
  const r = fixtureRepo();
  repos.push(r);
  const desired = await loadDesiredState({ repo: r.dir, path: 'kustomize/components/without-loadgenerator' });
  assert.deepEqual(desired.objects, []);
  assert.match(desired.problems[0]?.message ?? '', /kustomize build failed: .*loadgenerator/);
});

test('plain manifests: a broken file is named, the others are compared; non-Kubernetes YAML is skipped quietly', async () => {
  const r = repoWith({
    'plain/app.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  a: "1"\n',
    'plain/broken.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\n data: x\n',
    'plain/values.yaml': 'replicaCount: 2\nimage: {tag: v1}\n',
    'plain/list.json': JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'from-list' } }, { kind: 'ConfigMap' }],
    }),
  });
  const desired = await loadDesiredState({ repo: r.dir, path: 'plain' });
  assert.deepEqual(desired.objects.map((o) => o.id.name).sort(), ['app', 'from-list']);
  assert.deepEqual(desired.objects.find((o) => o.id.name === 'app')?.source, {
    file: 'plain/app.yaml',
    doc: 0,
    renderer: 'plain',
  });
  const messages = desired.problems.map((p) => `${p.where}: ${p.message}`).sort();
  assert.match(messages[0] ?? '', /^plain\/broken\.yaml: document 1 line 5 column \d+: invalid YAML: /);
  assert.equal(messages[1], 'plain/list.json: document 1 (line 1), item 2: apiVersion is missing');
});

test('a Helm chart is rendered with helm template, or said clearly to be skipped when helm is absent', async () => {
  const r = repoWith({
    'charts/shop/Chart.yaml': 'apiVersion: v2\nname: shop\nversion: 0.1.0\n',
    'charts/shop/templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\n',
  });
  const desired = await loadDesiredState({ repo: r.dir, path: 'charts' });
  if (which('helm')) {
    assert.deepEqual(
      desired.objects.map((o) => o.id.name),
      ['shop-cm'],
    );
  } else {
    assert.deepEqual(desired.objects, []);
    assert.deepEqual(desired.problems, [
      {
        where: 'charts/shop',
        message:
          'helm is not installed (no helm binary on PATH): this chart was not rendered and its objects are not compared',
        severity: 'error',
      },
    ]);
  }
});

test('the same object defined twice is named, and the first definition is compared', async () => {
  const r = fixtureRepo();
  repos.push(r);
  const desired = await loadDesiredState({ repo: r.dir, path: '.' });
  // kubernetes-manifests/ and kustomize/ declare the same Online Boutique objects.
  assert.equal(desired.objects.length, 35);
  assert.equal(desired.problems.length, 33);
  assert.match(
    desired.problems[0]?.message ?? '',
    /^(apps\/Deployment|Service|ServiceAccount) default\/\S+ is also defined in kubernetes-manifests\/\S+\.yaml; the first definition is compared$/,
  );
});

test('unreadable or empty live dumps are refused with the reason', async () => {
  await rejects(
    loadLiveFromDump('/nonexistent/dump.yaml'),
    /^cannot read live state dump \/nonexistent\/dump\.yaml: ENOENT$/,
  );
  const dir = mkdtempSync(join(tmpdir(), 'tether-drift-dump-'));
  try {
    writeFileSync(join(dir, 'bad.yaml'), 'items: [\n');
    await rejects(
      loadLiveFromDump(join(dir, 'bad.yaml')),
      /holds no readable object: document 1 line \d+ column \d+: invalid YAML/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('extra objects are flagged as uncertain when part of the desired state could not be rendered', async () => {
  const api = new ApiServerStandIn();
  api.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'orphan', namespace: 'default', labels: { 'argocd.argoproj.io/instance': 'shop' } },
  });
  const report = await detectDrift({
    desired: [],
    live: api.list(),
    problems: [{ where: 'x.yaml', message: 'bad', severity: 'error' }],
  });
  assert.equal(report.findings[0]?.state, 'extra');
  assert.match(report.findings[0]?.note ?? '', /desired state is incomplete/);
});

test('a directory outside Git is read as it is and never written to', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-drift-nogit-'));
  try {
    cpSync(FIXTURE, dir, { recursive: true });
    const before = readFileSync(join(dir, 'kustomize', 'kustomization.yaml'), 'utf8');
    const desired = await loadDesiredState({ repo: dir, path: 'kustomize' });
    assert.equal(desired.objects.length, 35);
    assert.equal(desired.revision, undefined);
    assert.match(desired.notes[0] ?? '', /is not a Git working copy: its files were read as they are/);
    assert.equal(readFileSync(join(dir, 'kustomize', 'kustomization.yaml'), 'utf8'), before);
  } finally {
    makeWritable(dir);
    rmSync(dir, { recursive: true, force: true });
  }
});
