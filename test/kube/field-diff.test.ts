// What policy lint calls a `fields` entry that can never match (namesOnlyServerManaged) must be what the
// engine ignores when it diffs an update (firstChangeOutside): one owner, src/kube/field-diff.ts. Each
// case changes one path of an object and asks both.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { firstChangeOutside, namesBelowAMapKey, namesOnlyServerManaged } from '../../src/kube/field-diff.ts';

type Obj = Record<string, unknown>;
const deployment = (metadata: Obj, status: Obj = {}, spec: Obj = { replicas: 2 }): Obj => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop', ...metadata },
  spec,
  status,
});
const annotated = (key: string, value: string) => deployment({ annotations: { [key]: value } });

const cases: { path: string; before: Obj; after: Obj; managed: boolean }[] = [
  {
    path: 'status.readyReplicas',
    before: deployment({}, { readyReplicas: 1 }),
    after: deployment({}, { readyReplicas: 2 }),
    managed: true,
  },
  {
    path: 'metadata.resourceVersion',
    before: deployment({ resourceVersion: '1' }),
    after: deployment({ resourceVersion: '2' }),
    managed: true,
  },
  {
    path: 'metadata.selfLink',
    before: deployment({ selfLink: '/a' }),
    after: deployment({ selfLink: '/b' }),
    managed: true,
  },
  {
    path: 'metadata.annotations.kubectl.kubernetes.io/last-applied-configuration',
    before: annotated('kubectl.kubernetes.io/last-applied-configuration', '{}'),
    after: annotated('kubectl.kubernetes.io/last-applied-configuration', '{"a":1}'),
    managed: true,
  },
  {
    path: 'metadata.annotations.tether.dev/intent',
    before: annotated('tether.dev/intent', 'a'),
    after: annotated('tether.dev/intent', 'b'),
    managed: true,
  },
  {
    path: 'metadata.labels.app',
    before: deployment({ labels: { app: 'a' } }),
    after: deployment({ labels: { app: 'b' } }),
    managed: false,
  },
  {
    path: 'metadata.annotations.example.com/owner',
    before: annotated('example.com/owner', 'a'),
    after: annotated('example.com/owner', 'b'),
    managed: false,
  },
  { path: 'spec.replicas', before: deployment({}), after: deployment({}, {}, { replicas: 3 }), managed: false },
];

describe('fields that can never match: lint and the engine agree', () => {
  for (const c of cases)
    test(`${c.path}: ${c.managed ? 'ignored by the engine, so lint warns' : 'a change the engine sees, so lint does not warn'}`, () => {
      assert.equal(namesOnlyServerManaged(c.path), c.managed);
      // With no fields allowed, a change the engine sees is reported; a server-managed one is not.
      const seen = firstChangeOutside(c.before, c.after, []);
      assert.equal(seen === undefined, c.managed, `reported: ${seen}`);
    });

  test('names that only start like a managed path are not managed', () => {
    for (const p of ['statuses.x', 'metadata.uidx', 'metadata.annotations.tether.devx/a', 'spec.status'])
      assert.equal(namesOnlyServerManaged(p), false, p);
    for (const p of ['status', 'status[0]', 'status.conditions[0].type', 'metadata.managedFields[0].manager'])
      assert.equal(namesOnlyServerManaged(p), true, p);
  });

  test('a label key with dots cannot be named: lint says so, and the engine indeed never matches it', () => {
    const before = deployment({ labels: { 'app.kubernetes.io/name': 'web' } });
    const after = deployment({ labels: { 'app.kubernetes.io/name': 'shop' } });
    assert.equal(namesBelowAMapKey('metadata.labels.app.kubernetes.io/name'), true);
    assert.equal(
      firstChangeOutside(before, after, ['metadata.labels.app.kubernetes.io/name']),
      'metadata.labels.app.kubernetes.io/name',
    );
    // What lint offers instead covers it.
    assert.equal(namesBelowAMapKey('metadata.labels.*'), false);
    assert.equal(firstChangeOutside(before, after, ['metadata.labels.*']), undefined);
    for (const p of ['metadata.labels.app', 'metadata.annotations', 'spec.template.metadata.labels.a.b', 'spec.a.b.c'])
      assert.equal(namesBelowAMapKey(p), false, p);
    assert.equal(namesBelowAMapKey('metadata.annotations.example.com/owner'), true);
  });
});
