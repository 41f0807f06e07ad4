// Reading cluster objects from files: List dumps, multi-document YAML, JSON, directories; and bad
// input reported precisely (file, document, item, object) while the analysis goes on.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { can } from '../../../src/analysis/access/can.ts';
import { userPrincipal } from '../../../src/analysis/access/identity.ts';
import { loadAccessInputs } from '../../../src/analysis/access/load.ts';
import { buildAccessModel } from '../../../src/analysis/access/model.ts';
import { parseObjectDump, readObjectDump } from '../../../src/kube/object-dump.ts';
import { requireBootstrap } from './support/build.ts';

const dir = mkdtempSync(join(tmpdir(), 'tether-access-load-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const role = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: reader }
rules: [{ apiGroups: [""], resources: [pods], verbs: [get] }]`;
const binding = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: alice-reader }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader }
subjects: [{ kind: User, name: alice }]`;

describe('reading dumps', () => {
  test('a kubectl List dump, multi-document YAML and JSON all load, with their positions', () => {
    const list = parseObjectDump(
      `apiVersion: v1\nkind: List\nitems:\n- ${role.replaceAll('\n', '\n  ')}\n- ${binding.replaceAll('\n', '\n  ')}\n`,
      'dump.yaml',
    );
    assert.deepEqual(list.problems, []);
    assert.deepEqual(
      list.objects.map((o) => o.source),
      [
        { origin: 'dump.yaml', document: 0, item: 0 },
        { origin: 'dump.yaml', document: 0, item: 1 },
      ],
    );
    const multi = parseObjectDump(`${role}\n---\n${binding}\n`, 'multi.yaml');
    assert.deepEqual(
      multi.objects.map((o) => o.source.document),
      [0, 1],
    );
    const json = parseObjectDump(
      JSON.stringify({
        kind: 'ClusterRoleList',
        apiVersion: 'rbac.authorization.k8s.io/v1',
        items: [{ metadata: { name: 'x' }, rules: [] }],
      }),
      'list.json',
    );
    assert.equal(json.objects[0]?.object.kind, 'ClusterRole', 'items of a typed List inherit its kind');
    assert.equal(json.objects[0]?.object.apiVersion, 'rbac.authorization.k8s.io/v1');
  });
  test('directories are walked in order; dot-files are skipped; a missing path is a problem', () => {
    mkdirSync(join(dir, 'd', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'd', 'b.yaml'), binding);
    writeFileSync(join(dir, 'd', 'sub', 'a.yml'), role);
    writeFileSync(join(dir, 'd', '.hidden.yaml'), 'kind: [broken');
    writeFileSync(join(dir, 'd', 'notes.txt'), 'not a manifest');
    const r = readObjectDump([join(dir, 'd'), join(dir, 'nope')]);
    assert.deepEqual(r.files, [join(dir, 'd', 'b.yaml'), join(dir, 'd', 'sub', 'a.yml')]);
    assert.equal(r.objects.length, 2);
    assert.deepEqual(
      r.problems.map((p) => [p.source.origin, p.code]),
      [[join(dir, 'nope'), 'read']],
    );
  });
});

describe('bad input is reported precisely and the analysis continues', () => {
  const bad = `${role}
---
kind: ClusterRoleBinding
metadata: { name: [oops
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: ghost, namespace: shop }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: missing }
subjects: [{ kind: User, name: alice }]
---
- 42
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: no-ref }
subjects: [{ kind: User, name: alice }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: loose }
rules: [{ apiGroups: [""], resources: [pods] }]
---
apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata: { name: t, namespace: shop, annotations: { kubernetes.io/service-account.name: builder } }
data: { token: c2VjcmV0 }
---
${binding}
`;
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, bad);

  test('each problem names the file, the document (and item), the object and what happened', async () => {
    const inputs = await loadAccessInputs({ files: [file] });
    const model = buildAccessModel(inputs);
    const by = (code: string) => model.problems.filter((p) => p.code === code);
    const yaml = by('yaml');
    assert.equal(yaml.length >= 1, true);
    assert.deepEqual(yaml[0]?.source, { origin: file, document: 1 });
    assert.match(yaml[0]?.message ?? '', /line \d+ column \d+/);
    assert.deepEqual(
      by('unknown-kind').map((p) => [p.source.document, p.object]),
      [[2, 'Deployment shop/web']],
    );
    assert.deepEqual(
      by('missing-role').map((p) => [p.source.document, p.object]),
      [[3, 'RoleBinding shop/ghost']],
    );
    assert.deepEqual(
      by('not-an-object').map((p) => p.source),
      [{ origin: file, document: 4, item: 0 }],
    );
    assert.deepEqual(
      by('invalid-binding').map((p) => p.object),
      ['ClusterRoleBinding no-ref'],
    );
    assert.deepEqual(
      by('invalid-rule').map((p) => p.object),
      ['Role loose'],
    );
    assert.deepEqual(
      by('no-namespace').map((p) => p.object),
      ['Role loose'],
    );
    // …and the good objects around them still count.
    assert.equal(
      can(model.index, userPrincipal('alice'), { verb: 'get', group: '', resource: 'pods', namespace: 'x' }).allowed,
      true,
    );
    assert.ok(
      model.blindSpots.some((b) => /could not be read/.test(b)),
      model.blindSpots.join('\n'),
    );
    assert.ok(model.blindSpots.some((b) => /refer to roles not in the input/.test(b)));
    assert.ok(model.blindSpots.some((b) => /no Pod objects/.test(b)));
  });
  test('a token Secret keeps its identity and never its data', async () => {
    const inputs = await loadAccessInputs({ files: [file] });
    const s = inputs.inventory.tokenSecrets.get('shop/t');
    assert.deepEqual(Object.keys(s ?? {}).sort(), ['name', 'namespace', 'serviceAccountName', 'source']);
    assert.ok(!JSON.stringify(inputs.inventory).includes('c2VjcmV0'));
  });
  test('broken JSON in a .json file is one problem, not a crash', () => {
    const r = parseObjectDump('{"kind": "List", "items": [', 'x.json');
    assert.equal(r.objects.length, 0);
    assert.equal(r.problems[0]?.code, 'json');
  });
  test('a later duplicate replaces the earlier one, with a warning naming both places', async () => {
    const f1 = join(dir, 'one.yaml');
    const f2 = join(dir, 'two.yaml');
    writeFileSync(f1, role);
    writeFileSync(f2, role.replace('verbs: [get]', 'verbs: [get, list]'));
    const model = buildAccessModel(await loadAccessInputs({ files: [f1, f2] }));
    const d = model.problems.find((p) => p.code === 'duplicate-object');
    assert.ok(d);
    assert.equal(d.source.origin, f2);
    assert.match(d.message, /one\.yaml#0/);
    assert.deepEqual(model.index.clusterRoles.get('reader')?.rules[0]?.verbs, ['get', 'list']);
  });
  test('the two alternative bootstrap role files overlap: every duplicate is named', async () => {
    const files = requireBootstrap();
    const all = [...files, files[0]?.replace('cluster-roles.yaml', 'cluster-roles-featuregates.yaml') as string];
    const model = buildAccessModel(await loadAccessInputs({ files: all }));
    const dups = model.problems.filter((p) => p.code === 'duplicate-object');
    assert.ok(dups.length > 20, String(dups.length));
    assert.ok(dups.every((p) => p.object?.startsWith('ClusterRole ')));
  });
  test('Agents in the same dump are read as Agents; an invalid Agent is a problem', async () => {
    const f = join(dir, 'agents.yaml');
    writeFileSync(
      f,
      `apiVersion: tether.dev/v1alpha1
kind: Agent
metadata: { name: ok }
spec: { owner: { id: a }, identities: [{ kind: User, name: alice }] }
---
apiVersion: tether.dev/v1alpha1
kind: Agent
metadata: { name: broken }
spec: { identities: [] }
`,
    );
    const inputs = await loadAccessInputs({ files: [f] });
    assert.deepEqual(
      inputs.agents.map((a) => a.name),
      ['ok'],
    );
    assert.ok(inputs.problems.some((p) => p.source.document === 1 && p.severity === 'error'));
  });
});
