// The gateway grants input: tools' RBAC metadata as kubernetes-mcp-server publishes it, runtime
// identities, grants; and every malformed piece reported.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGatewayConfig, RBAC_META_KEY, toolReach } from '../../../src/analysis/access/gateway-grants.ts';

const meta = (v: unknown) => ({ name: 't', _meta: { [RBAC_META_KEY]: v } });

test('tool RBAC metadata: none, bounded, unbounded, and absent meaning undeclared', () => {
  assert.equal(toolReach(meta({ version: 'v1alpha1', none: {} })).kind, 'none');
  assert.equal(toolReach(meta({ version: 'v1alpha1', unbounded: { reason: 'helm' } })).kind, 'unbounded');
  const b = toolReach(
    meta({
      version: 'v1alpha1',
      bounded: {
        requirements: [
          {
            verbs: ['get'],
            target: { resource: { resource: 'pods', subresource: 'log' } },
            namespace: { argument: 'namespace' },
            resourceName: { argument: 'name' },
          },
        ],
      },
    }),
  );
  assert.equal(b.kind, 'bounded');
  assert.deepEqual(toolReach({ name: 't' }), { kind: 'undeclared' });
});

test('malformed metadata is undeclared, with the reason', () => {
  const cases: [unknown, RegExp][] = [
    [{ version: 'v2', none: {} }, /unsupported version/],
    [{ version: 'v1alpha1', none: {}, unbounded: { reason: 'x' } }, /exactly one of none, bounded, unbounded/],
    [{ version: 'v1alpha1', bounded: { requirements: [] } }, /no requirement/],
    [
      { version: 'v1alpha1', bounded: { requirements: [{ verbs: ['get'], target: {} }] } },
      /exactly one of resource, gvk, manifest/,
    ],
    [
      { version: 'v1alpha1', bounded: { requirements: [{ verbs: [], target: { manifest: { argument: 'm' } } }] } },
      /verbs/,
    ],
  ];
  for (const [v, re] of cases) {
    const r = toolReach(meta(v));
    assert.equal(r.kind, 'undeclared');
    assert.match((r as { problem?: string }).problem ?? '', re, JSON.stringify(v));
  }
});

test('a gateway file: wrapped in a document or bare, with cross-reference problems', () => {
  const { config, problems } = parseGatewayConfig(
    `apiVersion: tether.dev/v1alpha1
kind: MCPGateway
metadata: { name: g }
spec:
  servers:
  - name: k8s
    runAs: { serviceAccount: { namespace: mcp, name: k } }
    tools: [{ name: a }, { name: b, _meta: { ${RBAC_META_KEY}: { version: v9 } } }]
  - name: anon
    tools: []
  grants:
  - { agent: x, server: k8s, tools: [a, zz] }
  - { agent: x, server: nowhere, tools: ["*"] }
`,
    'gw.yaml',
  );
  assert.equal(config.servers.length, 2);
  assert.deepEqual(problems.map((p) => p.code).sort(), [
    'invalid-tool-rbac',
    'no-runtime-identity',
    'unknown-server',
    'unknown-tool',
  ]);
  const bare = parseGatewayConfig('servers: []\ngrants: []\n', 'bare.yaml');
  assert.deepEqual(bare.problems, []);
});

test('schema errors name the field; broken YAML is reported', () => {
  const r = parseGatewayConfig(
    'servers: [{ name: s, runAs: { serviceAccount: { name: x } }, tools: [] }]\ngrants: []\n',
    'g.yaml',
  );
  assert.ok(
    r.problems.some((p) => p.code === 'invalid-gateway' && /servers\[0\]\.runAs\.serviceAccount/.test(p.message)),
    JSON.stringify(r.problems),
  );
  const y = parseGatewayConfig('servers: [oops', 'g.yaml');
  assert.equal(y.problems[0]?.code, 'yaml');
});
