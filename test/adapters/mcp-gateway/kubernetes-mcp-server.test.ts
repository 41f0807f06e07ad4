// kubernetes-mcp-server (the real binary from npm) behind the gateway: its tools' RBAC metadata
// becomes Kubernetes Actions the engine decides. Listing needs no cluster; the calls that reach
// one run against the real kube-apiserver of test/e2e/harness.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { harnessBinary, type KubeHarness, kubectl, startKubeHarness } from '../../e2e/harness.ts';
import { startTestGateway, type TestGateway, tempDir, unreachableKubeconfig } from './support/gateway-harness.ts';
import { kubernetesMcpServerBinary } from './support/upstreams.ts';

const binary = kubernetesMcpServerBinary();
const noBinary = binary
  ? false
  : 'kubernetes-mcp-server-linux-amd64 is not installed (npm ci installs it on Linux x64) - SKIPPED';
const noHarness =
  noBinary ||
  (harnessBinary()
    ? false
    : 'kube-harness binary not built (scripts/build-harness.sh; needs Go) - cluster calls SKIPPED');
if (noBinary) console.error(`\n*** ${noBinary} ***\n`);
else if (noHarness) console.error(`\n*** ${noHarness} ***\n`);

const TOKENS = { watcher: 'watcher-token-0123456789', fixer: 'fixer-token-0123456789' };

const POLICY = `
apiVersion: tether.dev/v1alpha1
kind: Agent
metadata: { name: watcher }
spec:
  owner: { id: carol@example.com }
  authorityClass: advisory
  identities: [{ kind: MCPClient, clientId: watcher }]
  boundary:
    namespaces: [shop]
    rules: [{ apiGroups: [""], resources: [pods, pods/log, events, configmaps], verbs: [get, list] }]
---
apiVersion: tether.dev/v1alpha1
kind: Agent
metadata: { name: fixer }
spec:
  owner: { id: carol@example.com }
  authorityClass: autonomous
  identities: [{ kind: MCPClient, clientId: fixer }]
  boundary:
    namespaces: [shop]
    rules:
      - { apiGroups: [""], resources: [configmaps], verbs: [get, list, create, patch, update, delete] }
      - { apiGroups: [""], resources: [pods], verbs: [get, list, delete] }
    conditions:
      - name: no-debug-flags
        match: { resources: [configmaps] }
        expression: "!has(object.data) || !('debug' in object.data)"
        message: configmaps may not switch on debug
`;

const gatewayConfig = (kubeconfig: string) => ({
  auth: { keys: Object.entries(TOKENS).map(([clientId, token]) => ({ clientId, token })) },
  servers: [
    {
      name: 'kubernetes',
      stdio: { command: binary, args: ['--kubeconfig', kubeconfig, '--disable-multi-cluster'] },
      defaultNamespace: 'default',
      tools: {
        // The server declares services and OpenShift routes too (a conservative upper bound); narrowed here.
        pods_delete: {
          requirements: [
            {
              verbs: ['delete'],
              target: { resource: { resource: 'pods' } },
              namespace: { argument: 'namespace' },
              resourceName: { argument: 'name' },
            },
          ],
        },
      },
    },
  ],
});

const text = (r: unknown) => (r as CallToolResult).content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

describe('kubernetes-mcp-server: tools/list', { skip: noBinary }, () => {
  let gw: TestGateway;
  before(async () => {
    const dir = tempDir('k8s-list');
    gw = await startTestGateway({ dir, policy: POLICY, gateway: gatewayConfig(unreachableKubeconfig(dir)) });
  });
  after(async () => gw?.close());

  test('an advisory agent sees the read-only tools its boundary could allow; nothing cluster-wide, nothing that mutates', async () => {
    const names = (await (await gw.connect(TOKENS.watcher)).listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(names, [
      'events_list',
      'pods_get',
      'pods_list_in_namespace',
      'pods_log',
      'resources_get',
      'resources_list',
    ]);
  });

  test('an autonomous agent also sees the mutating tools its boundary could allow, each offering an intent argument', async () => {
    const tools = (await (await gw.connect(TOKENS.fixer)).listTools()).tools;
    const names = tools.map((t) => t.name).sort();
    for (const n of ['pods_delete', 'resources_create_or_update', 'resources_delete', 'resources_get'])
      assert.ok(names.includes(n), n);
    for (const n of ['pods_exec', 'pods_run', 'nodes_log', 'namespaces_list', 'resources_scale'])
      assert.ok(!names.includes(n), `${n} is hidden`);
    const del = tools.find((t) => t.name === 'pods_delete');
    assert.ok(del && 'intent' in (del.inputSchema.properties ?? {}));
  });

  test('a call outside the boundary is refused with the engine’s message before it reaches the server', async () => {
    const r = await (await gw.connect(TOKENS.fixer)).callTool({
      name: 'pods_delete',
      arguments: { namespace: 'kube-system', name: 'etcd-0', intent: 'restart etcd' },
    });
    assert.equal(r.isError, true);
    assert.match(
      text(r),
      /fixer may not delete pods etcd-0 in namespace kube-system: namespace kube-system is outside its boundary \(shop\)\. To ask for more, propose a wider spec\.boundary on Agent fixer.*\[boundary\/namespace\]/,
    );
  });
});

describe('kubernetes-mcp-server: calls that reach a real API server', { skip: noHarness }, () => {
  let h: KubeHarness;
  let gw: TestGateway;
  let admin: string;
  before(async () => {
    h = await startKubeHarness();
    admin = h.kubeconfig('admin');
    const ns = await kubectl(admin, ['create', 'namespace', 'shop']);
    assert.equal(ns.code, 0, ns.stderr);
    gw = await startTestGateway({ policy: POLICY, gateway: gatewayConfig(admin) });
  });
  after(async () => {
    await gw?.close();
    await h?.stop();
  });

  const configMap = (namespace: string, data: Record<string, string>) =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ${namespace}\ndata:\n${Object.entries(
      data,
    )
      .map(([k, v]) => `  ${k}: "${v}"`)
      .join('\n')}\n`;

  test('an allowed manifest is applied; the same kind outside the boundary, or breaking a CEL condition, is not', async () => {
    const client = await gw.connect(TOKENS.fixer);
    const ok = await client.callTool({
      name: 'resources_create_or_update',
      arguments: { resource: configMap('shop', { mode: 'fast' }), intent: 'tune the shop' },
    });
    assert.ok(!ok.isError, text(ok));
    const got = await kubectl(admin, ['get', 'configmap', 'settings', '-n', 'shop', '-o', 'jsonpath={.data.mode}']);
    assert.equal(got.stdout, 'fast');

    const outside = await client.callTool({
      name: 'resources_create_or_update',
      arguments: { resource: configMap('kube-system', { mode: 'fast' }), intent: 'tune the system' },
    });
    assert.equal(outside.isError, true);
    assert.match(text(outside), /namespace kube-system is outside its boundary/);
    assert.notEqual(
      (await kubectl(admin, ['get', 'configmap', 'settings', '-n', 'kube-system'])).code,
      0,
      'nothing reached the cluster',
    );

    const debug = await client.callTool({
      name: 'resources_create_or_update',
      arguments: { resource: configMap('shop', { debug: 'on' }), intent: 'debug the shop' },
    });
    assert.equal(debug.isError, true);
    assert.match(text(debug), /condition no-debug-flags failed \(configmaps may not switch on debug\)/);
    assert.equal(
      (await kubectl(admin, ['get', 'configmap', 'settings', '-n', 'shop', '-o', 'jsonpath={.data.debug}'])).stdout,
      '',
    );
  });

  test('a read by GVK goes through and returns the server’s answer; a delete without intent does not', async () => {
    const client = await gw.connect(TOKENS.fixer);
    const got = await client.callTool({
      name: 'resources_get',
      arguments: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'settings' },
    });
    assert.ok(!got.isError, text(got));
    assert.match(text(got), /name: settings/);
    const del = await client.callTool({
      name: 'resources_delete',
      arguments: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'settings' },
    });
    assert.equal(del.isError, true);
    assert.match(
      text(del),
      /fixer must say why before it may delete configmaps settings in namespace shop.*\[intent\/missing\]/,
    );
    assert.equal((await kubectl(admin, ['get', 'configmap', 'settings', '-n', 'shop'])).code, 0, 'still there');

    await new Promise((r) => setTimeout(r, 100));
    const decisions = (await gw.store.queryLedger({ agent: 'fixer', kind: 'decision' })).map(
      (e) =>
        `${e.leaf.decision} ${e.leaf.verb} ${e.leaf.target?.resource} ${e.leaf.target?.namespace}/${e.leaf.target?.name}`,
    );
    assert.ok(decisions.includes('allow get configmaps shop/settings'));
    assert.ok(decisions.includes('deny delete configmaps shop/settings'));
  });
});
