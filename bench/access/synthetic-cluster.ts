// A large synthetic cluster shaped like a real multi-team one: per team namespace a few service
// accounts, pods, Roles and RoleBindings; cluster-wide roles and bindings; MCP tool servers bound
// to edit in some namespaces (two of them far more widely); agents with narrow boundaries, gateway
// tools and chains. Deterministic for a given seed.
import type {
  GatewayConfig,
  GatewayServer,
  GatewayTool,
  RbacRequirement,
} from '../../src/analysis/access/gateway-grants.ts';
import { RBAC_META_KEY } from '../../src/analysis/access/gateway-grants.ts';
import type { AgentInput } from '../../src/analysis/access/graph.ts';
import type { KubeObject } from '../../src/kube/object-dump.ts';
import { seededRandom as prng } from '../../test/support/seeded.ts';

export interface SyntheticSize {
  readonly namespaces: number;
  readonly pods: number;
  readonly roles: number;
  readonly bindings: number;
  readonly agents: number;
  readonly servers: number;
}

export const ISSUE_SIZE: SyntheticSize = {
  namespaces: 5_000,
  pods: 30_000,
  roles: 10_000,
  bindings: 20_000,
  agents: 200,
  servers: 10,
};

const RBAC = 'rbac.authorization.k8s.io/v1';
const ref = (kind: 'Role' | 'ClusterRole', name: string) => ({ apiGroup: 'rbac.authorization.k8s.io', kind, name });

// Rules teams really write, from harmless to dangerous.
const RULES = [
  { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['apps'], resources: ['deployments', 'deployments/scale'], verbs: ['get', 'list', 'patch', 'update'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['app-config'] },
  { apiGroups: ['batch'], resources: ['jobs'], verbs: ['create', 'delete', 'get', 'list'] },
  { apiGroups: [''], resources: ['services', 'endpoints'], verbs: ['get', 'list'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['create', 'delete'] },
  { apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] },
  { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] },
];
const SAFE = 8; // RULES[0..7] grant no escalation

function tool(name: string, rbac: unknown): GatewayTool {
  return { name, _meta: rbac === undefined ? undefined : { [RBAC_META_KEY]: rbac } };
}
const bounded = (...requirements: RbacRequirement[]) => ({ version: 'v1alpha1', bounded: { requirements } });
const inNs = (verbs: string[], resource: string, subresource?: string, group = ''): RbacRequirement => ({
  verbs,
  target: { resource: { apiGroup: group, resource, subresource } },
  namespace: { argument: 'namespace' },
});

/** The tools of a kubernetes-mcp-server-like server. */
function serverTools(): GatewayTool[] {
  return [
    tool('pods_list', bounded(inNs(['list'], 'pods'))),
    tool('pods_get', bounded(inNs(['get'], 'pods'))),
    tool('pods_log', bounded(inNs(['get'], 'pods', 'log'))),
    tool('pods_run', bounded(inNs(['create'], 'pods'))),
    tool('pods_exec', bounded(inNs(['create'], 'pods', 'exec'), inNs(['get'], 'pods'))),
    tool(
      'resources_scale',
      bounded({
        verbs: ['get', 'update'],
        target: { gvk: { apiVersionArgument: 'apiVersion', kindArgument: 'kind', subresource: 'scale' } },
        namespace: { argument: 'namespace' },
      }),
    ),
    tool('resources_apply', bounded({ verbs: ['create', 'patch'], target: { manifest: { argument: 'resource' } } })),
    tool('events_list', bounded(inNs(['list'], 'events'))),
    tool('helm_install', { version: 'v1alpha1', unbounded: { reason: 'depends on the chart' } }),
    tool('configuration_view', { version: 'v1alpha1', none: {} }),
  ];
}

export interface SyntheticCluster {
  readonly objects: KubeObject[];
  readonly agents: AgentInput[];
  readonly gateway: GatewayConfig;
}

/** `worstCase`: every agent may call a tool of the server bound to cluster-admin, so every agent reaches the whole cluster. */
export function syntheticCluster(
  size: SyntheticSize = ISSUE_SIZE,
  seed = 42,
  opts: { worstCase?: boolean } = {},
): SyntheticCluster {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const objects: KubeObject[] = [];
  const ns = (i: number) => `team-${i}`;
  const nsCount = size.namespaces;

  // Namespaces, service accounts, pods, a few legacy token Secrets.
  for (let i = 0; i < nsCount; i++) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns(i), labels: { team: ns(i), tier: i % 10 === 0 ? 'gold' : 'standard' } },
    });
    for (const sa of ['default', 'app', 'worker'])
      objects.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: ns(i) } });
    if (i % 10 === 0) {
      objects.push({
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/service-account-token',
        metadata: { name: 'app-token', namespace: ns(i), annotations: { 'kubernetes.io/service-account.name': 'app' } },
      });
    }
  }
  for (let p = 0; p < size.pods; p++) {
    const i = p % nsCount;
    objects.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `pod-${p}`, namespace: ns(i) },
      spec: {
        serviceAccountName: ['app', 'worker', 'default'][p % 3],
        nodeName: `node-${p % 300}`,
        automountServiceAccountToken: p % 17 === 0 ? false : undefined,
        containers: [{ name: 'c', image: 'img' }],
      },
      status: { phase: p % 23 === 0 ? 'Succeeded' : 'Running' },
    });
  }

  // Cluster-wide roles (the bootstrap-like ones, aggregated, plus many team-made ones).
  const clusterRoles = Math.max(10, Math.floor(size.roles * 0.05));
  objects.push(
    {
      apiVersion: RBAC,
      kind: 'ClusterRole',
      metadata: { name: 'view' },
      aggregationRule: {
        clusterRoleSelectors: [{ matchLabels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } }],
      },
    },
    {
      apiVersion: RBAC,
      kind: 'ClusterRole',
      metadata: { name: 'edit', labels: { 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' } },
      aggregationRule: {
        clusterRoleSelectors: [{ matchLabels: { 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' } }],
      },
    },
    {
      apiVersion: RBAC,
      kind: 'ClusterRole',
      metadata: {
        name: 'view-rules',
        labels: {
          'rbac.authorization.k8s.io/aggregate-to-view': 'true',
          'rbac.authorization.k8s.io/aggregate-to-edit': 'true',
        },
      },
      rules: RULES.slice(0, 2).concat([RULES[5] as (typeof RULES)[0]]),
    },
    {
      apiVersion: RBAC,
      kind: 'ClusterRole',
      metadata: { name: 'edit-rules', labels: { 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' } },
      rules: [
        RULES[2],
        RULES[4],
        RULES[8],
        RULES[9],
        RULES[11],
        { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'] },
      ],
    },
    {
      apiVersion: RBAC,
      kind: 'ClusterRole',
      metadata: { name: 'cluster-admin' },
      rules: [
        { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
        { nonResourceURLs: ['*'], verbs: ['*'] },
      ],
    },
    {
      apiVersion: RBAC,
      kind: 'ClusterRole',
      metadata: { name: 'node-reader' },
      rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list'] }],
    },
  );
  for (let c = 0; c < clusterRoles - 6; c++) {
    const rules = Array.from({ length: 1 + int(3) }, () => RULES[int(c % 25 === 0 ? RULES.length : SAFE)]);
    objects.push({
      apiVersion: RBAC,
      kind: 'ClusterRole',
      metadata: {
        name: `cr-${c}`,
        labels: c % 50 === 0 ? { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } : {},
      },
      rules,
    });
  }
  // Namespaced Roles, spread over the team namespaces.
  const roles = size.roles - clusterRoles;
  for (let r = 0; r < roles; r++) {
    const rules = Array.from({ length: 1 + int(3) }, () => RULES[int(r % 20 === 0 ? RULES.length : SAFE)]);
    objects.push({
      apiVersion: RBAC,
      kind: 'Role',
      metadata: { name: `role-${Math.floor(r / nsCount)}`, namespace: ns(r % nsCount) },
      rules,
    });
  }

  // Bindings: most are RoleBindings of a team's accounts and people; a few are cluster-wide.
  const servers = size.servers;
  const serverSa = (k: number) => ({ kind: 'ServiceAccount', name: `mcp-${k}`, namespace: 'mcp' });
  for (let k = 0; k < servers; k++)
    objects.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: `mcp-${k}`, namespace: 'mcp' } });
  const crbs = Math.max(4, Math.floor(size.bindings * 0.05));
  objects.push(
    // Two tool servers are far too powerful: a classic mistake.
    {
      apiVersion: RBAC,
      kind: 'ClusterRoleBinding',
      metadata: { name: 'mcp-0-admin' },
      roleRef: ref('ClusterRole', 'cluster-admin'),
      subjects: [serverSa(0)],
    },
    {
      apiVersion: RBAC,
      kind: 'ClusterRoleBinding',
      metadata: { name: 'mcp-1-edit' },
      roleRef: ref('ClusterRole', 'edit'),
      subjects: [serverSa(1)],
    },
  );
  for (let b = 0; b < crbs - 2; b++) {
    const subject =
      b % 3 === 0
        ? { kind: 'Group', name: `group-${b % 40}` }
        : b % 3 === 1
          ? { kind: 'User', name: `user-${b}@example.com` }
          : { kind: 'ServiceAccount', name: 'worker', namespace: ns(int(nsCount)) };
    objects.push({
      apiVersion: RBAC,
      kind: 'ClusterRoleBinding',
      metadata: { name: `crb-${b}` },
      roleRef: ref('ClusterRole', b % 7 === 0 ? 'node-reader' : `cr-${int(clusterRoles - 6)}`),
      subjects: [subject],
    });
  }
  let rbs = size.bindings - crbs;
  // Tool servers 2+ hold edit in a handful of namespaces each.
  for (let k = 2; k < servers && rbs > 0; k++) {
    for (let j = 0; j < 20 && rbs > 0; j++, rbs--) {
      objects.push({
        apiVersion: RBAC,
        kind: 'RoleBinding',
        metadata: { name: `mcp-${k}-edit`, namespace: ns((k * 97 + j * 13) % nsCount) },
        roleRef: ref('ClusterRole', 'edit'),
        subjects: [serverSa(k)],
      });
    }
  }
  // Agents' own accounts: view in their boundary namespaces.
  const agentNs = (a: number, j: number) => ns((a * 31 + j * 7) % nsCount);
  for (let a = 0; a < size.agents; a++)
    objects.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: `agent-${a}`, namespace: 'agents' } });
  for (let a = 0; a < size.agents && rbs > 0; a++) {
    for (let j = 0; j < 3 && rbs > 0; j++, rbs--) {
      objects.push({
        apiVersion: RBAC,
        kind: 'RoleBinding',
        metadata: { name: `agent-${a}-view`, namespace: agentNs(a, j) },
        roleRef: ref('ClusterRole', 'view'),
        subjects: [{ kind: 'ServiceAccount', name: `agent-${a}`, namespace: 'agents' }],
      });
    }
  }
  for (let b = 0; rbs > 0; b++, rbs--) {
    const i = b % nsCount;
    const kind = b % 4;
    const subject =
      kind === 0
        ? { kind: 'ServiceAccount', name: 'app' }
        : kind === 1
          ? { kind: 'ServiceAccount', name: 'worker' }
          : kind === 2
            ? { kind: 'Group', name: `group-${b % 40}` }
            : { kind: 'User', name: `user-${b % 500}@example.com` };
    const roleRef =
      kind < 2
        ? ref('Role', `role-${int(Math.max(1, Math.floor(roles / nsCount)))}`)
        : ref('ClusterRole', kind === 2 ? 'view' : 'edit');
    objects.push({
      apiVersion: RBAC,
      kind: 'RoleBinding',
      metadata: { name: `rb-${b}`, namespace: ns(i) },
      roleRef,
      subjects: [subject],
    });
  }

  // Pod-mutating webhooks served from a few team namespaces.
  for (let w = 0; w < 5; w++) {
    objects.push({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: `injector-${w}` },
      webhooks: [
        {
          name: `inject-${w}.example.com`,
          clientConfig: { service: { namespace: ns(w * 1000), name: 'injector' } },
          namespaceSelector: { matchLabels: { tier: 'gold' } },
          rules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], operations: ['CREATE'] }],
        },
      ],
    });
  }

  // The gateway and the agents.
  const gatewayServers: GatewayServer[] = Array.from({ length: servers }, (_, k) => ({
    name: `mcp-${k}`,
    runAs: { serviceAccount: { namespace: 'mcp', name: `mcp-${k}` } },
    tools: serverTools(),
  }));
  const toolNames = serverTools().map((t) => t.name);
  const grants: GatewayConfig['grants'] = [];
  const agents: AgentInput[] = [];
  for (let a = 0; a < size.agents; a++) {
    // Most agents use a narrowly bound server; one in ten reaches one of the two over-powered ones.
    const server = opts.worstCase
      ? 'mcp-0'
      : a % 10 === 0
        ? `mcp-${a % 20 === 0 ? 0 : 1}`
        : `mcp-${2 + (a % Math.max(1, servers - 2))}`;
    const tools = [
      ...new Set([
        ...(opts.worstCase ? ['pods_run'] : []),
        ...Array.from({ length: 3 + int(6) }, () => toolNames[int(toolNames.length)] as string),
      ]),
    ];
    grants.push({ agent: `agent-${a}`, server, tools });
    const namespaces = [0, 1, 2].map((j) => agentNs(a, j));
    agents.push({
      name: `agent-${a}`,
      source: { origin: 'synthetic' },
      spec: {
        owner: { id: `owner-${a % 40}@example.com` },
        authorityClass: (['advisory', 'supervised', 'autonomous'] as const)[a % 3],
        identities: [{ kind: 'ServiceAccount', namespace: 'agents', name: `agent-${a}` }],
        boundary: {
          namespaces,
          rules: [
            {
              apiGroups: [''],
              resources: ['pods', 'pods/log', 'events', 'configmaps', 'services', 'endpoints'],
              verbs: ['get', 'list', 'watch'],
            },
            {
              apiGroups: ['apps'],
              resources: ['deployments', 'deployments/scale'],
              verbs: ['get', 'list', 'watch', 'patch', 'update'],
            },
          ],
          chain: { mayInvoke: a % 5 === 0 ? [`agent-${(a + 1) % size.agents}`, `agent-${(a + 7) % size.agents}`] : [] },
        },
      },
    });
  }
  return { objects, agents, gateway: { servers: gatewayServers, grants } };
}
