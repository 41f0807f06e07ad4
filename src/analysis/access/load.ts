// Gathers the analysis inputs: cluster objects from files or a live cluster, Agents from policy
// files (or from the same dump), and the gateway grants. Nothing here throws on bad input: every
// problem is collected with where it was found.
import type { ApiResource } from '../../kube/cluster-objects.ts';
import type { LocatedObject } from '../../kube/object-dump.ts';
import { readObjectDump } from '../../kube/object-dump.ts';
import { classifyObject, parsePolicyDir } from '../../policy/load.ts';
import type { PolicyProblem } from '../../policy/errors.ts';
import { API_GROUP } from '../../policy/schema.ts';
import { EMPTY_GATEWAY, type GatewayConfig, readGatewayConfig } from './gateway-grants.ts';
import type { AgentInput } from './graph.ts';
import { type AccessProblem, type AnalysedKind, buildInventory } from './inventory.ts';
import type { AccessInputs } from './model.ts';

export const ACCESS_RESOURCES: readonly ApiResource[] = [
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterroles', kind: 'ClusterRole' },
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterrolebindings', kind: 'ClusterRoleBinding' },
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'roles', kind: 'Role' },
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'rolebindings', kind: 'RoleBinding' },
  { group: '', version: 'v1', resource: 'serviceaccounts', kind: 'ServiceAccount' },
  { group: '', version: 'v1', resource: 'pods', kind: 'Pod' },
  { group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace' },
  // Only legacy token Secrets matter, and their data is dropped by the lister.
  {
    group: '',
    version: 'v1',
    resource: 'secrets',
    kind: 'Secret',
    fieldSelector: 'type=kubernetes.io/service-account-token',
  },
  {
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    resource: 'mutatingwebhookconfigurations',
    kind: 'MutatingWebhookConfiguration',
  },
  {
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    resource: 'validatingwebhookconfigurations',
    kind: 'ValidatingWebhookConfiguration',
  },
];
const AGENTS_RESOURCE: ApiResource = { group: API_GROUP, version: 'v1alpha1', resource: 'agents', kind: 'Agent' };

export interface LoadOptions {
  /** Files or directories of cluster objects (and optionally Agents). */
  readonly files?: readonly string[];
  /** Read the live cluster with this kubeconfig ('' = the default kubeconfig). */
  readonly kubeconfig?: string;
  readonly context?: string;
  /** Files or directories of Tether policy (Agents). */
  readonly policy?: readonly string[];
  /** The gateway grants file. */
  readonly gateway?: string;
}

const fromPolicyProblem = (p: PolicyProblem): AccessProblem => ({
  source: { origin: p.file, document: p.document },
  severity: p.severity,
  code: p.code ?? 'policy',
  message: `${p.path ? `${p.path}: ` : ''}${p.message}`,
});

/** Splits Tether Agents out of a list of objects; the rest are cluster objects. */
export function splitAgents(objects: readonly LocatedObject[]): {
  agents: AgentInput[];
  cluster: LocatedObject[];
  problems: AccessProblem[];
} {
  const agents: AgentInput[] = [];
  const cluster: LocatedObject[] = [];
  const problems: AccessProblem[] = [];
  for (const lo of objects) {
    if (!lo.object.apiVersion?.startsWith(`${API_GROUP}/`)) {
      cluster.push(lo);
      continue;
    }
    const r = classifyObject(lo.object, lo.source.origin, lo.source.document ?? 0);
    for (const p of r.problems) problems.push({ ...fromPolicyProblem(p), source: lo.source });
    if (r.agent) agents.push({ name: r.agent.doc.metadata.name, spec: r.agent.doc.spec, source: lo.source });
  }
  return { agents, cluster, problems };
}

export function inputsFromObjects(
  objects: readonly LocatedObject[],
  opts: {
    agents?: readonly AgentInput[];
    gateway?: GatewayConfig;
    problems?: readonly AccessProblem[];
    listedKinds?: ReadonlySet<AnalysedKind>;
  } = {},
): AccessInputs {
  const split = splitAgents(objects);
  const inventory = buildInventory(split.cluster);
  const byName = new Map<string, AgentInput>();
  const problems: AccessProblem[] = [...(opts.problems ?? []), ...split.problems];
  for (const a of [...split.agents, ...(opts.agents ?? [])]) {
    const prev = byName.get(a.name);
    if (prev)
      problems.push({
        source: a.source,
        severity: 'warning',
        code: 'duplicate-agent',
        object: `Agent ${a.name}`,
        message: `also defined at ${prev.source.origin}; this later definition is used`,
      });
    byName.set(a.name, a);
  }
  return {
    inventory,
    agents: [...byName.values()],
    gateway: opts.gateway ?? EMPTY_GATEWAY,
    problems,
    listedKinds: opts.listedKinds,
  };
}

export async function loadAccessInputs(opts: LoadOptions): Promise<AccessInputs> {
  const problems: AccessProblem[] = [];
  const objects: LocatedObject[] = [];
  const listedKinds = new Set<AnalysedKind>();
  if (opts.files?.length) {
    const dump = readObjectDump(opts.files);
    for (const o of dump.objects) objects.push(o);
    problems.push(...dump.problems);
  }
  if (opts.kubeconfig !== undefined) {
    // The Kubernetes client takes longer to load than a whole offline answer: only for a live cluster.
    const { listClusterObjects, loadKubeConfig } = await import('../../kube/cluster-objects.ts');
    const kc = loadKubeConfig(opts.kubeconfig || undefined, opts.context);
    const listing = await listClusterObjects(kc, ACCESS_RESOURCES);
    for (const o of listing.objects) objects.push(o);
    problems.push(...listing.problems);
    for (const r of listing.listed) listedKinds.add(r.kind as AnalysedKind);
    const agents = await listClusterObjects(kc, [AGENTS_RESOURCE]);
    for (const o of agents.objects) objects.push(o);
    // Without Tether's CRD there are simply no Agents in the cluster.
    for (const p of agents.problems) problems.push(p.code === 'not-served' ? { ...p, severity: 'info' } : p);
  }
  const agents: AgentInput[] = [];
  for (const dir of opts.policy ?? []) {
    const parsed = parsePolicyDir(dir);
    problems.push(...parsed.problems.map(fromPolicyProblem));
    for (const a of parsed.agents)
      agents.push({ name: a.doc.metadata.name, spec: a.doc.spec, source: { origin: a.file, document: a.document } });
  }
  let gateway: GatewayConfig = EMPTY_GATEWAY;
  if (opts.gateway) {
    const g = readGatewayConfig(opts.gateway);
    gateway = g.config;
    problems.push(...g.problems);
  }
  return inputsFromObjects(objects, { agents, gateway, problems, listedKinds });
}
