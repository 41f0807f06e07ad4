// What approving a boundary expansion would add: the widening itself (always, from the specs),
// a small graph of the requested boundary with what is new marked, and, when the server holds a
// view of the cluster, the effective reach `tether expansion-review` computes from a dump.
import type { AccessInputs } from '../analysis/access/model.ts';
import { inputsFromObjects } from '../analysis/access/load.ts';
import { buildAccessModel } from '../analysis/access/model.ts';
import type { KubeObject } from '../kube/object-dump.ts';
import { reviewBoundaryExpansion } from '../analysis/access/what-if.ts';
import { ruleTuples, tupleCovered } from '../kube/rule-coverage.ts';
import { wideningChanges } from '../policy/boundary-diff.ts';
import type { CompiledPolicy } from '../policy/compile.ts';
import type { AgentSpec, ResourceRule } from '../policy/schema.ts';
import type { ExpansionRequest, Store } from '../store/store.ts';

/** The server's current picture of the cluster's RBAC, when it keeps one (undefined: it has none). */
export type ClusterView = () => Promise<AccessInputs | undefined>;

/**
 * A ClusterView over the objects the server keeps of the cluster (RBAC, service accounts, pods:
 * informers in `tether serve`), with the Agents as they are enforced. `objects` returns undefined
 * until it holds a complete picture (every kind listed once).
 */
export function clusterViewFrom(
  objects: () => readonly KubeObject[] | undefined,
  policy: () => CompiledPolicy,
): ClusterView {
  return async () => {
    const objs = objects();
    if (!objs) return undefined;
    const agents = [...policy().agents.values()].map((a) => ({
      name: a.name,
      spec: a.spec,
      source: { origin: 'enforced policy' },
    }));
    return inputsFromObjects(
      objs.map((object) => ({ object, source: { origin: 'cluster view' } })),
      { agents },
    );
  };
}

export interface BoundaryGraph {
  readonly nodes: readonly {
    readonly id: string;
    readonly label: string;
    readonly kind: 'agent' | 'namespace' | 'capability';
    readonly added: boolean;
  }[];
  readonly edges: readonly { readonly from: string; readonly to: string }[];
}

export interface ExpansionDetail {
  readonly expansion: ExpansionRequest;
  /** Every way the requested spec is wider than the enforced one, in words. */
  readonly widening: readonly string[];
  readonly graph: BoundaryGraph;
  readonly reach:
    | { readonly clusterView: true; readonly lines: readonly string[]; readonly problems: readonly string[] }
    | { readonly clusterView: false; readonly message: string };
}

const NO_CLUSTER_VIEW =
  'no cluster view: this server keeps no picture of the cluster’s RBAC, so what the new boundary reaches through service accounts, bindings and tools is not computed here. Run tether expansion-review <id> -f <RBAC dump> -p <policy dir>.';

function ruleLabel(r: ResourceRule): string {
  const groups = r.apiGroups.map((g) => g || 'core').join(',');
  return `${r.verbs.join(',')} ${r.resources.join(',')} (${groups})${r.clusterScope ? ' cluster-wide' : ''}`;
}

const covered = (r: ResourceRule, old: readonly ResourceRule[]) =>
  ruleTuples(r).every((t) =>
    old.some((o) => (o.clusterScope ?? false) === (r.clusterScope ?? false) && tupleCovered(o, t)),
  );

export function boundaryGraph(agent: string, enforced: AgentSpec, requested: AgentSpec): BoundaryGraph {
  const oldNs = enforced.boundary?.namespaces ?? [];
  const oldRules = enforced.boundary?.rules ?? [];
  const nodes: BoundaryGraph['nodes'][number][] = [{ id: 'agent', label: agent, kind: 'agent', added: false }];
  const edges: { from: string; to: string }[] = [];
  const namespaces = requested.boundary?.namespaces ?? [];
  namespaces.forEach((ns, i) => {
    nodes.push({ id: `ns${i}`, label: ns, kind: 'namespace', added: !oldNs.includes(ns) && !oldNs.includes('*') });
    edges.push({ from: 'agent', to: `ns${i}` });
  });
  (requested.boundary?.rules ?? []).forEach((r, i) => {
    nodes.push({ id: `cap${i}`, label: ruleLabel(r), kind: 'capability', added: !covered(r, oldRules) });
    if (r.clusterScope || namespaces.length === 0) edges.push({ from: 'agent', to: `cap${i}` });
    else for (let n = 0; n < namespaces.length; n++) edges.push({ from: `ns${n}`, to: `cap${i}` });
  });
  return { nodes, edges };
}

async function reachOf(
  clusterView: ClusterView | undefined,
  agent: string,
  enforced: AgentSpec,
  requested: AgentSpec,
): Promise<ExpansionDetail['reach']> {
  const inputs = clusterView ? await clusterView() : undefined;
  if (!inputs) return { clusterView: false, message: NO_CLUSTER_VIEW };
  // The comparison starts from what the server enforces, as the CLI's does.
  const withEnforced = {
    ...inputs,
    agents: inputs.agents.map((a) => (a.name === agent ? { ...a, spec: enforced } : a)),
  };
  const delta = reviewBoundaryExpansion(buildAccessModel(withEnforced), agent, requested);
  return { clusterView: true, lines: delta.lines, problems: delta.problems.map((p) => p.message) };
}

export async function expansionDetail(
  store: Store,
  policy: CompiledPolicy,
  id: string,
  clusterView?: ClusterView,
): Promise<ExpansionDetail | undefined> {
  const expansion = await store.expansion(id);
  if (!expansion) return undefined;
  const requested = expansion.requestedSpec as AgentSpec;
  const enforced = ((await store.enforcedAgent(expansion.agent))?.spec ??
    policy.agents.get(expansion.agent)?.spec ?? { owner: requested.owner }) as AgentSpec;
  return {
    expansion,
    widening: wideningChanges(enforced, requested),
    graph: boundaryGraph(expansion.agent, enforced, requested),
    reach: await reachOf(clusterView, expansion.agent, enforced, requested),
  };
}
