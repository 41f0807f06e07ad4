// managedFields as a real kube-apiserver (1.34, via test/e2e/harness.ts) wrote them after:
// kubectl apply; kubectl scale --replicas=3; kubectl set image; kubectl patch (cpu limit).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeEntry, managersUnder, ownersOf } from '../../../src/analysis/drift/managed-fields.ts';
import type { FieldPath, ManagedFieldsEntry } from '../../../src/analysis/drift/model.ts';

const entries: ManagedFieldsEntry[] = [
  {
    apiVersion: 'apps/v1',
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:spec': { 'f:replicas': {} } },
    manager: 'kubectl',
    operation: 'Update',
    subresource: 'scale',
  },
  {
    apiVersion: 'apps/v1',
    fieldsType: 'FieldsV1',
    manager: 'kubectl-client-side-apply',
    operation: 'Update',
    time: '2026-11-25T20:09:16Z',
    fieldsV1: {
      'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
      'f:spec': {
        'f:selector': {},
        'f:template': {
          'f:spec': {
            'f:containers': {
              'k:{"name":"server"}': {
                '.': {},
                'f:env': { '.': {}, 'k:{"name":"PORT"}': { '.': {}, 'f:name': {}, 'f:value': {} } },
                'f:ports': {
                  '.': {},
                  'k:{"containerPort":8080,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {}, 'f:protocol': {} },
                },
                'f:resources': { '.': {}, 'f:limits': { '.': {}, 'f:memory': {} } },
                'f:securityContext': { 'f:capabilities': { '.': {}, 'f:drop': {} } },
              },
            },
          },
        },
      },
    },
  },
  {
    apiVersion: 'apps/v1',
    fieldsType: 'FieldsV1',
    manager: 'kubectl-patch',
    operation: 'Update',
    time: '2026-11-25T20:09:16Z',
    fieldsV1: {
      'f:spec': {
        'f:template': {
          'f:spec': { 'f:containers': { 'k:{"name":"server"}': { 'f:resources': { 'f:limits': { 'f:cpu': {} } } } } },
        },
      },
    },
  },
  {
    apiVersion: 'apps/v1',
    fieldsType: 'FieldsV1',
    manager: 'kubectl-set',
    operation: 'Update',
    time: '2026-11-25T20:09:16Z',
    fieldsV1: {
      'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"server"}': { 'f:image': {} } } } } },
    },
  },
];

const live = {
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: 'frontend' } },
    template: {
      spec: {
        containers: [
          {
            name: 'server',
            image: 'nginx:1',
            env: [{ name: 'PORT', value: '8080' }],
            ports: [{ containerPort: 8080, protocol: 'TCP' }],
            resources: { limits: { cpu: '300m', memory: '128Mi' } },
            securityContext: { capabilities: { drop: ['ALL'] } },
          },
        ],
      },
    },
  },
};

const container = [
  { field: 'spec' },
  { field: 'template' },
  { field: 'spec' },
  { field: 'containers' },
  { key: { name: 'server' } },
] as const;
const managers = (path: FieldPath) =>
  ownersOf(entries, path, live).map((o) => `${o.entry.manager}${o.exact ? '' : ' (ancestor)'}`);

test('the last writer of a field owns it: scale, set image, patch', () => {
  assert.deepEqual(managers([{ field: 'spec' }, { field: 'replicas' }]), ['kubectl']);
  assert.deepEqual(managers([...container, { field: 'image' }]), ['kubectl-set']);
  assert.deepEqual(managers([...container, { field: 'resources' }, { field: 'limits' }, { field: 'cpu' }]), [
    'kubectl-patch',
  ]);
  assert.deepEqual(managers([...container, { field: 'resources' }, { field: 'limits' }, { field: 'memory' }]), [
    'kubectl-client-side-apply',
  ]);
});

test('keyed items match k: keys, including the defaulted protocol', () => {
  assert.deepEqual(
    managers([
      ...container,
      { field: 'ports' },
      { key: { containerPort: 8080, protocol: 'TCP' } },
      { field: 'containerPort' },
    ]),
    ['kubectl-client-side-apply'],
  );
  assert.deepEqual(managers([...container, { field: 'env' }, { key: { name: 'PORT' } }, { field: 'value' }]), [
    'kubectl-client-side-apply',
  ]);
});

test('atomic values are owned whole by an ancestor leaf', () => {
  assert.deepEqual(managers([{ field: 'spec' }, { field: 'selector' }, { field: 'matchLabels' }, { field: 'app' }]), [
    'kubectl-client-side-apply (ancestor)',
  ]);
  assert.deepEqual(
    managers([...container, { field: 'securityContext' }, { field: 'capabilities' }, { field: 'drop' }]),
    ['kubectl-client-side-apply'],
  );
});

test('a path nobody owns has no owner; managersUnder finds writers around a removed field', () => {
  assert.deepEqual(managers([...container, { field: 'env' }, { key: { name: 'GONE' } }]), []);
  assert.deepEqual(
    managersUnder(entries, [...container, { field: 'resources' }, { field: 'limits' }], live).map((e) => e.manager),
    ['kubectl-client-side-apply', 'kubectl-patch'],
  );
});

test('entries read like the API server wrote them', () => {
  assert.equal(describeEntry(entries[0] as ManagedFieldsEntry), 'kubectl (Update, subresource scale)');
  assert.equal(describeEntry(entries[3] as ManagedFieldsEntry), 'kubectl-set (Update, 2026-11-25T20:09:16Z)');
});
