// The gateway's translation parts on their own: RBAC metadata → operations, chains, intent,
// visibility and the config's error messages.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { readIncomingChain, forwardedChainMeta } from '../../../src/adapters/mcp-gateway/chain-propagation.ts';
import { GatewayConfigError, parseGatewayConfig } from '../../../src/adapters/mcp-gateway/config.ts';
import { takeIntent, withIntentProperty } from '../../../src/adapters/mcp-gateway/intent-argument.ts';
import { newTraceId, parseTraceParent } from '../../../src/adapters/mcp-gateway/trace-context.ts';
import { guessPlural, KindResolver } from '../../../src/adapters/mcp-gateway/kinds.ts';
import { readRbacMetadata } from '../../../src/adapters/mcp-gateway/rbac-declaration.ts';
import { operationsFor } from '../../../src/adapters/mcp-gateway/tool-actions.ts';
import { buildCatalog } from '../../../src/adapters/mcp-gateway/tool-catalog.ts';
import { isMutatingEffect, toolEffect } from '../../../src/adapters/mcp-gateway/tool-effect.ts';
import { audienceFor, visibleTo } from '../../../src/adapters/mcp-gateway/tool-visibility.ts';
import { DecodeError } from '../../../src/adapters/shared/decode-error.ts';
import { compileTestPolicy } from './support/gateway-harness.ts';

const kinds = new KindResolver([
  { apiVersion: 'example.com/v1', kind: 'Widget', resource: 'widgets', namespaced: true },
]);
const rbac = (declaration: unknown) => ({ 'io.kubernetes-mcp-server/rbac': declaration });

// Shapes as kubernetes-mcp-server v0.0.67 publishes them.
const podsDelete = {
  name: 'pods_delete',
  annotations: { readOnlyHint: false, destructiveHint: true },
  _meta: rbac({
    version: 'v1alpha1',
    bounded: {
      requirements: [
        {
          verbs: ['get', 'delete'],
          target: { resource: { resource: 'pods' } },
          namespace: { argument: 'namespace' },
          resourceName: { argument: 'name' },
        },
      ],
    },
  }),
};
const resourcesCreateOrUpdate = {
  name: 'resources_create_or_update',
  _meta: rbac({
    version: 'v1alpha1',
    bounded: { requirements: [{ verbs: ['create', 'patch'], target: { manifest: { argument: 'resource' } } }] },
  }),
};
const resourcesScale = {
  name: 'resources_scale',
  _meta: rbac({
    version: 'v1alpha1',
    bounded: {
      requirements: [
        {
          verbs: ['get', 'update'],
          target: { gvk: { apiVersionArgument: 'apiVersion', kindArgument: 'kind', subresource: 'scale' } },
          namespace: { argument: 'namespace' },
          resourceName: { argument: 'name' },
        },
      ],
    },
  }),
};

const ctx = { server: 'k8s', tool: 't', kinds };

describe('RBAC metadata → operations', () => {
  test('a resource requirement takes namespace and name from the arguments, one operation per verb', () => {
    const ops = operationsFor(
      toolEffect(podsDelete, { trustAnnotations: true }),
      { namespace: 'shop', name: 'web-1' },
      ctx,
    );
    assert.deepEqual(ops, [
      { verb: 'get', target: { group: '', version: '', resource: 'pods', namespace: 'shop', name: 'web-1' } },
      { verb: 'delete', target: { group: '', version: '', resource: 'pods', namespace: 'shop', name: 'web-1' } },
    ]);
  });

  test('a namespace argument left out falls back to the server default, else to all namespaces', () => {
    const effect = toolEffect(podsDelete, { trustAnnotations: true });
    assert.equal(
      operationsFor(effect, { name: 'x' }, { ...ctx, defaultNamespace: 'default' })[0]?.target.namespace,
      'default',
    );
    assert.equal(operationsFor(effect, { name: 'x' }, ctx)[0]?.target.namespace, undefined);
  });

  test('a GVK target resolves through the built-in kinds, the config, or the API server’s plural guess', () => {
    const effect = toolEffect(resourcesScale, { trustAnnotations: true });
    const ops = operationsFor(
      effect,
      { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' },
      ctx,
    );
    assert.deepEqual(ops[1], {
      verb: 'update',
      target: {
        group: 'apps',
        version: 'v1',
        resource: 'deployments',
        subresource: 'scale',
        namespace: 'shop',
        name: 'web',
      },
    });
    assert.equal(
      operationsFor(effect, { apiVersion: 'example.com/v1', kind: 'Widget', namespace: 'shop', name: 'w' }, ctx)[0]
        ?.target.resource,
      'widgets',
    );
    assert.equal(guessPlural('NetworkPolicy'), 'networkpolicies');
    assert.equal(guessPlural('Ingress'), 'ingresses');
    assert.equal(guessPlural('Endpoints'), 'endpoints');
    assert.throws(
      () => operationsFor(effect, { kind: 'Deployment' }, ctx),
      (e: unknown) => e instanceof DecodeError && /apiVersion.*is required/.test(e.message),
    );
  });

  test('a manifest target yields one operation per object and verb, with the object for CEL conditions; cluster-scoped kinds lose the namespace', () => {
    const manifest = [
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings, namespace: shop }\ndata: { a: "1" }',
      'apiVersion: v1\nkind: Namespace\nmetadata: { name: shop, namespace: ignored }',
    ].join('\n---\n');
    const ops = operationsFor(
      toolEffect(resourcesCreateOrUpdate, { trustAnnotations: true }),
      { resource: manifest },
      ctx,
    );
    assert.deepEqual(
      ops.map((o) => `${o.verb} ${o.target.resource} ${o.target.namespace ?? '-'} ${o.target.name}`),
      [
        'create configmaps shop settings',
        'patch configmaps shop settings',
        'create namespaces - shop',
        'patch namespaces - shop',
      ],
    );
    assert.deepEqual((ops[0]?.object as { data?: unknown } | undefined)?.data, { a: '1' });
    assert.throws(
      () =>
        operationsFor(toolEffect(resourcesCreateOrUpdate, { trustAnnotations: true }), { resource: 'kind: [' }, ctx),
      DecodeError,
    );
  });

  test('no declaration: the tool itself is the target, verb from trusted annotations; untrusted or unknown → a mutation', () => {
    const echo = { name: 'echo', annotations: { readOnlyHint: true } };
    assert.deepEqual(
      operationsFor(toolEffect(echo, { trustAnnotations: true }), {}, { ...ctx, server: 'everything', tool: 'echo' }),
      [
        {
          verb: 'get',
          target: { group: 'mcp.tether.dev', version: 'v1alpha1', resource: 'tools', name: 'everything/echo' },
        },
      ],
    );
    assert.ok(isMutatingEffect(toolEffect(echo, { trustAnnotations: false })));
    assert.ok(isMutatingEffect(toolEffect({ name: 'mystery' }, { trustAnnotations: true })));
    const destructive = toolEffect(
      { name: 'wipe', annotations: { destructiveHint: true } },
      { trustAnnotations: true },
    );
    assert.deepEqual(destructive, { kind: 'tool', verb: 'delete', why: 'nothing declares what it touches' });
  });

  test('the gateway config’s mapping wins over the server’s metadata', () => {
    const e = toolEffect(podsDelete, {
      trustAnnotations: true,
      mapping: {
        requirements: [
          { verbs: ['delete'], target: { resource: { resource: 'pods' } }, namespace: { argument: 'namespace' } },
        ],
      },
    });
    assert.deepEqual(e.kind === 'kubernetes' && e.source, 'config');
  });

  test('unreadable metadata is reported and the tool is governed as itself', () => {
    const problems: string[] = [];
    const e = toolEffect(
      { name: 'odd', _meta: rbac({ version: 'v9', none: {} }) },
      { trustAnnotations: true, onProblem: (m) => problems.push(m) },
    );
    assert.equal(e.kind, 'tool');
    assert.match(problems[0] ?? '', /unsupported version "v9"/);
    assert.match(
      readRbacMetadata(rbac({ version: 'v1alpha1', none: {}, unbounded: { reason: 'x' } })).problem ?? '',
      /exactly one of none, bounded, unbounded/,
    );
    assert.match(
      readRbacMetadata(rbac({ version: 'v1alpha1', bounded: { requirements: [{ verbs: ['get'], target: {} }] } }))
        .problem ?? '',
      /bounded.requirements\[0\].target: give exactly one of resource, gvk, manifest/,
    );
  });
});

describe('chains', () => {
  test('an explicit tether.dev/chain is the call’s chain; what goes upstream is one hop deeper with the caller appended', () => {
    const incoming = readIncomingChain({
      'tether.dev/chain': { id: 'c1', depth: 1, path: ['a'] },
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      baggage: 'tenant=acme,tether.chain.id=ignored',
    });
    assert.deepEqual(incoming.chain, { id: 'c1', depth: 1, path: ['a'], parentActionId: undefined });
    const out = forwardedChainMeta(incoming, 'b');
    assert.deepEqual(out['tether.dev/chain'], {
      id: 'c1',
      depth: 2,
      path: ['a', 'b'],
      parentActionId: 'b7ad6b7169203331',
    });
    const tp = String(out.traceparent);
    assert.match(tp, /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    assert.ok(!tp.includes('b7ad6b7169203331'), 'a new span id');
    assert.equal(
      out.baggage,
      'tenant=acme,tether.chain.id=c1,tether.chain.depth=2,tether.chain.path=a%2Cb,tether.chain.parent=b7ad6b7169203331',
    );
  });

  test('baggage alone carries the chain; a bare traceparent starts one named by its trace id; nothing starts a fresh one', () => {
    const fromBaggage = readIncomingChain({
      baggage: 'tether.chain.id=c2,tether.chain.depth=3,tether.chain.path=x%2Cy',
    }).chain;
    assert.deepEqual(fromBaggage, { id: 'c2', depth: 3, path: ['x', 'y'], parentActionId: undefined });
    assert.equal(
      readIncomingChain({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }).chain.id,
      '0af7651916cd43dd8448eb211c80319c',
    );
    const fresh = readIncomingChain(undefined).chain;
    assert.match(fresh.id, /^[0-9a-f]{32}$/);
    assert.equal(fresh.depth, 0);
    assert.throws(() => readIncomingChain({ 'tether.dev/chain': { depth: 1 } }), DecodeError);
  });

  test('fresh chain ids sort by time (filed keys append) and stay random in their last 10 bytes', () => {
    const ids = [1_700_000_000_000, 1_700_000_000_001, 1_800_000_000_000].map((t) => newTraceId(t));
    assert.deepEqual([...ids].sort(), ids);
    assert.equal(ids[0]?.slice(0, 12), (1_700_000_000_000).toString(16).padStart(12, '0'));
    const same = new Set(Array.from({ length: 1000 }, () => newTraceId(1_700_000_000_000).slice(12)));
    assert.equal(same.size, 1000);
    assert.ok(parseTraceParent(`00-${newTraceId()}-b7ad6b7169203331-01`), 'a valid W3C trace id');
  });
});

describe('intent', () => {
  test('mutating tools get an optional intent argument; it is stripped, and _meta wins', () => {
    const { schema, added } = withIntentProperty({
      type: 'object',
      properties: { name: { type: 'string' } },
      required: ['name'],
    });
    assert.ok(added);
    assert.deepEqual(Object.keys((schema as { properties: object }).properties), ['name', 'intent']);
    assert.deepEqual((schema as { required: string[] }).required, ['name']);
    const a = takeIntent({ name: 'x', intent: 'free disk space' }, undefined, false);
    assert.deepEqual(a, { intent: { summary: 'free disk space' }, args: { name: 'x' } });
    const b = takeIntent(
      { name: 'x', intent: 'from argument' },
      { 'tether.dev/intent': { summary: 'from meta', trigger: 'INC-1' } },
      false,
    );
    assert.equal(b.intent?.summary, 'from meta');
    assert.deepEqual(b.args, { name: 'x' });
    assert.deepEqual(
      takeIntent({ intent: 'theirs' }, undefined, true).args,
      { intent: 'theirs' },
      'a tool with its own intent argument keeps it',
    );
  });
});

describe('tools/list visibility', () => {
  const policy = compileTestPolicy(`
apiVersion: tether.dev/v1alpha1
kind: Agent
metadata: { name: watcher }
spec:
  owner: { id: carol@example.com }
  authorityClass: advisory
  identities: [{ kind: MCPClient, clientId: watcher }]
  boundary:
    namespaces: [shop]
    rules: [{ apiGroups: [""], resources: [pods, pods/log], verbs: [get, list, delete] }]
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
      - { apiGroups: [""], resources: [pods], verbs: [get, list, delete] }
      - { apiGroups: [mcp.tether.dev], resources: [tools], verbs: [get], resourceNames: [everything/echo], clusterScope: true }
`);
  const nodesList = {
    name: 'nodes_list',
    _meta: rbac({
      version: 'v1alpha1',
      bounded: { requirements: [{ verbs: ['list'], target: { resource: { resource: 'nodes' } } }] },
    }),
  };
  const podsInNamespace = {
    name: 'pods_list_in_namespace',
    _meta: rbac({
      version: 'v1alpha1',
      bounded: {
        requirements: [
          { verbs: ['list'], target: { resource: { resource: 'pods' } }, namespace: { argument: 'namespace' } },
        ],
      },
    }),
  };
  const catalog = buildCatalog(
    [
      {
        config: {
          name: 'k8s',
          trustAnnotations: true,
          tools: new Map(),
          transport: { kind: 'http', url: 'http://x', headers: {} },
        },
        tools: [podsDelete, nodesList, podsInNamespace].map((t) => ({
          ...t,
          inputSchema: { type: 'object' as const },
        })),
      },
      {
        config: {
          name: 'everything',
          trustAnnotations: true,
          tools: new Map(),
          transport: { kind: 'http', url: 'http://y', headers: {} },
        },
        tools: [
          { name: 'echo', annotations: { readOnlyHint: true }, inputSchema: { type: 'object' as const } },
          { name: 'get-sum', annotations: { readOnlyHint: true }, inputSchema: { type: 'object' as const } },
        ],
      },
    ],
    () => undefined,
  );
  const visible = (clientId: string) =>
    catalog.entries
      .filter((e) =>
        visibleTo(
          audienceFor({ username: `mcp:${clientId}`, groups: [], mcpClientId: clientId }, policy),
          e.effect,
          e.server,
          e.upstreamName,
          kinds,
        ),
      )
      .map((e) => e.exposedName);

  test('advisory agents see read-only tools only; the boundary hides what it can never allow', () => {
    assert.deepEqual(
      visible('watcher'),
      ['pods_list_in_namespace'],
      'pods_delete mutates; nodes are cluster-scoped and outside; tools.mcp.tether.dev is not in its rules',
    );
    assert.deepEqual(visible('fixer'), ['pods_delete', 'pods_list_in_namespace', 'echo']);
    assert.deepEqual(visible('stranger'), [], 'an MCP client no Agent claims is refused everything, so sees nothing');
  });

  test('mutating tools carry the intent argument in their listed schema', () => {
    const listed = catalog.get('pods_delete')?.listed.inputSchema as { properties: Record<string, unknown> };
    assert.ok('intent' in listed.properties);
    assert.ok(
      !(
        'intent' in ((catalog.get('echo')?.listed.inputSchema as { properties?: object } | undefined)?.properties ?? {})
      ),
    );
  });
});

describe('gateway config', () => {
  test('mistakes come back with their path', () => {
    const bad = `
auth:
  keys:
    - { clientId: a, token: short }
    - { clientId: b }
servers:
  - name: Bad_Name
    stdio: { command: x }
  - name: both
    stdio: { command: x }
    http: { url: "http://127.0.0.1:1/mcp" }
    tools:
      t: { requirements: [{ verbs: [get], target: { resource: { resource: pods }, gvk: { apiVersionArgument: a, kindArgument: k } } }] }
`;
    const messages = (() => {
      try {
        parseGatewayConfig(bad, 'gw.yaml');
      } catch (e) {
        assert.ok(e instanceof GatewayConfigError);
        return e.message;
      }
      return '';
    })();
    assert.match(messages, /gw\.yaml: auth\.keys\[0\]\.token: /);
    assert.match(messages, /gw\.yaml: servers\[0\]\.name: /);
    const second = (() => {
      try {
        parseGatewayConfig(
          bad.replace('token: short', 'token: long-enough-token-123').replace('Bad_Name', 'good'),
          'gw.yaml',
        );
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    assert.match(second, /auth\.keys\[1\]: give exactly one of token, tokenFile, sha256/);
    assert.match(second, /servers\[1\]: give exactly one of stdio, http/);
    assert.match(
      second,
      /servers\[1\]\.tools\["t"\]\.requirements\[0\]\.target: give exactly one of resource, gvk, manifest/,
    );
  });

  test('the example config is valid', () => {
    const file = new URL('../../../deploy/examples/gateway/gateway.yaml', import.meta.url).pathname;
    const c = parseGatewayConfig(
      readFileSync(file, 'utf8'),
      file,
      new URL('../../../deploy/examples/gateway/', import.meta.url).pathname,
    );
    assert.ok(c.servers.length >= 2);
  });
});
