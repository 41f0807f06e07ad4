// Apply semantics, one rule at a time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareObjects } from '../../../src/analysis/drift/compare.ts';

const deployment = (containers: unknown[], extra: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: { ...extra, template: { spec: { containers } } },
});

test("fields Git does not set are the cluster's business", () => {
  const git = deployment([{ name: 'app', image: 'a:1' }]);
  const live = deployment(
    [{ name: 'app', image: 'a:1', imagePullPolicy: 'IfNotPresent', terminationMessagePath: '/dev/termination-log' }],
    {
      replicas: 7,
      revisionHistoryLimit: 10,
    },
  );
  assert.deepEqual(compareObjects(git, live), []);
});

test("a field Git sets must hold Git's value, even when Git sets a default explicitly", () => {
  const git = deployment([{ name: 'app', image: 'a:1', imagePullPolicy: 'Always' }]);
  const live = deployment([{ name: 'app', image: 'a:1', imagePullPolicy: 'IfNotPresent' }]);
  const [d, ...rest] = compareObjects(git, live);
  assert.equal(rest.length, 0);
  assert.equal(d?.display, 'spec.template.spec.containers[name=app].imagePullPolicy');
  assert.equal(d?.pointer, '/spec/template/spec/containers/0/imagePullPolicy');
  assert.equal(d?.kind, 'changed');
});

test('keyed lists merge by key: order noise and server defaults inside items are not drift', () => {
  const git = deployment([
    {
      name: 'a',
      ports: [{ containerPort: 80 }],
      env: [
        { name: 'X', value: '1' },
        { name: 'Y', value: '2' },
      ],
    },
    { name: 'b', image: 'b:1' },
  ]);
  const live = deployment([
    { name: 'b', image: 'b:1' },
    {
      name: 'a',
      ports: [{ containerPort: 80, protocol: 'TCP' }],
      env: [
        { name: 'Y', value: '2' },
        { name: 'X', value: '1' },
      ],
    },
    { name: 'istio-proxy', image: 'proxy' },
  ]);
  assert.deepEqual(compareObjects(git, live), []);
});

test('a keyed item Git declares but the cluster lacks is one missing drift, named by its key', () => {
  const git = deployment([{ name: 'a', env: [{ name: 'X', value: '1' }] }]);
  const live = deployment([{ name: 'a', env: [] }]);
  const drifts = compareObjects(git, live);
  assert.deepEqual(
    drifts.map((d) => [d.display, d.kind]),
    [['spec.template.spec.containers[name=a].env[name=X]', 'missing']],
  );
});

test('container ports and service ports are keyed with protocol defaulting to TCP', () => {
  const svcGit = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 's' },
    spec: {
      ports: [
        { port: 80, targetPort: 8080 },
        { port: 53, protocol: 'UDP' },
      ],
    },
  };
  const svcLive = {
    ...svcGit,
    spec: {
      ports: [
        { port: 53, protocol: 'UDP', targetPort: 53 },
        { port: 80, protocol: 'TCP', targetPort: 8081 },
      ],
    },
  };
  assert.deepEqual(
    compareObjects(svcGit, svcLive).map((d) => d.display),
    ['spec.ports[port=80,protocol=TCP].targetPort'],
  );
});

test('quantities compare by value where quantities live, and only there', () => {
  const git = deployment([
    { name: 'a', resources: { requests: { cpu: 0.5, memory: '1024Mi' }, limits: { cpu: '1000m' } }, args: ['1000m'] },
  ]);
  const live = deployment([
    { name: 'a', resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '1' } }, args: ['1'] },
  ]);
  assert.deepEqual(
    compareObjects(git, live).map((d) => d.display),
    ['spec.template.spec.containers[name=a].args'],
  );
});

test('atomic lists: length must match, items compare with apply semantics', () => {
  const np = (ports: unknown[]) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'n' },
    spec: { ingress: [{ ports }] },
  });
  assert.deepEqual(compareObjects(np([{ port: 80 }]), np([{ port: 80, protocol: 'TCP' }])), []);
  const grown = compareObjects(
    np([{ port: 80 }]),
    np([
      { port: 80, protocol: 'TCP' },
      { port: 443, protocol: 'TCP' },
    ]),
  );
  assert.equal(grown.length, 1);
  assert.equal(grown[0]?.display, 'spec.ingress[0].ports');
  const args = compareObjects(
    deployment([{ name: 'a', args: ['x', 'y'] }]),
    deployment([{ name: 'a', args: ['y', 'x'] }]),
  );
  assert.deepEqual(
    args.map((d) => d.display),
    ['spec.template.spec.containers[name=a].args'],
  );
});

test('empty values in Git equal absent ones; null in Git means the field must be absent', () => {
  const git = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'c', annotations: {}, creationTimestamp: null },
    data: { a: '1', gone: null },
  };
  assert.deepEqual(
    compareObjects(git, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } }),
    [],
  );
  const back = compareObjects(git, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'c' },
    data: { a: '1', gone: 'x' },
  });
  assert.deepEqual(
    back.map((d) => [d.display, d.kind]),
    [['data.gone', 'unexpected']],
  );
});

test('a whole missing subtree is one drift, not one per leaf', () => {
  const git = deployment([{ name: 'a', resources: { limits: { cpu: '1', memory: '1Gi' } } }]);
  const live = deployment([{ name: 'a' }]);
  assert.deepEqual(
    compareObjects(git, live).map((d) => [d.display, d.kind]),
    [['spec.template.spec.containers[name=a].resources', 'missing']],
  );
});

test('finalizers are a set; unknown named lists merge by name', () => {
  const git = {
    apiVersion: 'x/v1',
    kind: 'Thing',
    metadata: { name: 't', finalizers: ['a'] },
    spec: { rules: [{ name: 'r1', v: 1 }] },
  };
  const live = {
    apiVersion: 'x/v1',
    kind: 'Thing',
    metadata: { name: 't', finalizers: ['z', 'a'] },
    spec: {
      rules: [
        { name: 'r0', v: 0 },
        { name: 'r1', v: 1 },
      ],
    },
  };
  assert.deepEqual(compareObjects(git, live), []);
  const lost = compareObjects(git, { ...live, metadata: { name: 't', finalizers: ['z'] } });
  assert.deepEqual(
    lost.map((d) => d.display),
    ['metadata.finalizers[="a"]'],
  );
});

test('odd field names are quoted in displays and escaped in pointers', () => {
  const git = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', annotations: { 'example.com/a~b': 'x' } } };
  const live = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'c', annotations: { 'example.com/a~b': 'y' } },
  };
  const [d] = compareObjects(git, live);
  assert.equal(d?.display, 'metadata.annotations["example.com/a~b"]');
  assert.equal(d?.pointer, '/metadata/annotations/example.com~1a~0b');
});
