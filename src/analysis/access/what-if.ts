// What a proposed change does to reach: an RBAC object, an Agent's new spec (a boundary
// expansion), or a gateway tool grant. It rebuilds the model with the change and compares, per
// affected agent, the identities it can act as, the escalations it can use, the escalations its
// boundary now sanctions (the agent may itself do the triggering request), and its findings.
// `reviewBoundaryExpansion` is what an approver of a boundary expansion is shown.
import { boundaryAllows, boundaryRuleFor } from '../../engine/boundary-scope.ts';
import { isKnownClusterScoped } from '../../kube/well-known-resources.ts';
import type { KubeObject } from '../../kube/object-dump.ts';
import type { AgentSpec, Boundary } from '../../policy/schema.ts';
import { escalationsIn, type ReachedEscalation } from './analyze.ts';
import { describeTarget, type EscalationEdge } from './escalation.ts';
import { type Finding, findingsFor } from './findings.ts';
import type { GatewayConfig, GatewayGrant } from './gateway-grants.ts';
import type { AgentInput } from './graph.ts';
import { type AccessInventory, type AccessProblem, buildInventory } from './inventory.ts';
import { type AccessInputs, type AccessModel, buildAccessModel, type ModelOptions } from './model.ts';
import { reachOf } from './reach.ts';

export type ProposedChange =
  /** RBAC (or any analysed) objects to create or replace, and objects to delete. */
  | {
      readonly kind: 'objects';
      readonly apply?: readonly KubeObject[];
      readonly remove?: readonly { kind: string; namespace?: string; name: string }[];
    }
  /** An Agent's new spec: a boundary, identities or mayInvoke change. */
  | { readonly kind: 'agent'; readonly agent: AgentInput }
  /** A gateway grant to add (or revoke). */
  | { readonly kind: 'gateway-grant'; readonly grant: GatewayGrant; readonly revoke?: boolean }
  /** A whole new gateway configuration. */
  | { readonly kind: 'gateway'; readonly gateway: GatewayConfig }
  /** Several of the above, applied in order and judged together. */
  | { readonly kind: 'several'; readonly changes: readonly ProposedChange[] };

export interface SanctionedEscalation {
  /** The identity or tool that would do the triggering request. */
  readonly actor: string;
  readonly label: string;
  readonly target: string;
  readonly targetLabel: string;
  /** Who the target stands for (first few), and how many. */
  readonly members: readonly string[];
  readonly memberCount: number;
}

export interface AgentDelta {
  readonly agent: string;
  readonly identitiesAdded: readonly string[];
  readonly identitiesRemoved: readonly string[];
  readonly escalationsAdded: readonly ReachedEscalation[];
  readonly escalationsRemoved: readonly ReachedEscalation[];
  readonly sanctionedAdded: readonly SanctionedEscalation[];
  readonly sanctionedRemoved: readonly SanctionedEscalation[];
  readonly findingsAdded: readonly Finding[];
  readonly findingsRemoved: readonly Finding[];
}

export interface ReachDelta {
  readonly change: string;
  readonly agents: readonly AgentDelta[];
  /** Plain sentences for an approver, most important first. */
  readonly lines: readonly string[];
  /** Problems the change itself brings (a binding to a missing role, an unknown tool). */
  readonly problems: readonly AccessProblem[];
  readonly after: AccessModel;
}

function cloneInventory(inv: AccessInventory): AccessInventory {
  const webhooks = new Map([...inv.webhooks].map(([k, v]) => [k, [...v]]));
  return {
    clusterRoles: new Map(inv.clusterRoles),
    roles: new Map(inv.roles),
    clusterRoleBindings: new Map(inv.clusterRoleBindings),
    roleBindings: new Map(inv.roleBindings),
    serviceAccounts: new Map(inv.serviceAccounts),
    pods: new Map(inv.pods),
    namespaces: new Map(inv.namespaces),
    webhooks,
    tokenSecrets: new Map(inv.tokenSecrets),
    seen: new Map(inv.seen),
    problems: [],
  };
}

function removeObject(inv: AccessInventory, ref: { kind: string; namespace?: string; name: string }): boolean {
  const nsKey = `${ref.namespace ?? ''}/${ref.name}`;
  switch (ref.kind) {
    case 'ClusterRole':
      return inv.clusterRoles.delete(ref.name);
    case 'Role':
      return inv.roles.delete(nsKey);
    case 'ClusterRoleBinding':
      return inv.clusterRoleBindings.delete(ref.name);
    case 'RoleBinding':
      return inv.roleBindings.delete(nsKey);
    case 'ServiceAccount':
      return inv.serviceAccounts.delete(nsKey);
    case 'Pod':
      return inv.pods.delete(nsKey);
    case 'Namespace':
      return inv.namespaces.delete(ref.name);
    case 'Secret':
      return inv.tokenSecrets.delete(nsKey);
    case 'MutatingWebhookConfiguration':
    case 'ValidatingWebhookConfiguration':
      return inv.webhooks.delete(`${ref.kind}/${ref.name}`);
    default:
      return false;
  }
}

export function applyChange(
  inputs: AccessInputs,
  change: ProposedChange,
): { inputs: AccessInputs; problems: AccessProblem[] } {
  const problems: AccessProblem[] = [];
  switch (change.kind) {
    case 'objects': {
      const inv = cloneInventory(inputs.inventory);
      for (const ref of change.remove ?? []) {
        if (!removeObject(inv, ref))
          problems.push({
            source: { origin: 'proposed change' },
            severity: 'warning',
            code: 'not-found',
            object: `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`,
            message: 'to be removed, but not in the input',
          });
      }
      buildInventory(
        (change.apply ?? []).map((object, item) => ({ object, source: { origin: 'proposed change', item } })),
        inv,
      );
      problems.push(...inv.problems);
      return {
        inputs: { ...inputs, inventory: { ...inv, problems: [...inputs.inventory.problems, ...inv.problems] } },
        problems,
      };
    }
    case 'agent': {
      const agents = inputs.agents.filter((a) => a.name !== change.agent.name);
      agents.push(change.agent);
      return { inputs: { ...inputs, agents }, problems };
    }
    case 'gateway-grant': {
      const g = change.grant;
      const grants = change.revoke
        ? inputs.gateway.grants
            .flatMap((x) =>
              x.agent === g.agent && x.server === g.server
                ? [{ ...x, tools: x.tools.filter((t) => !g.tools.includes(t)) }]
                : [x],
            )
            .filter((x) => x.tools.length > 0)
        : [...inputs.gateway.grants, g];
      if (!inputs.gateway.servers.some((s) => s.name === g.server))
        problems.push({
          source: { origin: 'proposed change' },
          severity: 'error',
          code: 'unknown-server',
          message: `server ${g.server} is not defined`,
        });
      return { inputs: { ...inputs, gateway: { ...inputs.gateway, grants } }, problems };
    }
    case 'gateway':
      return { inputs: { ...inputs, gateway: change.gateway }, problems };
    case 'several': {
      let current = inputs;
      for (const c of change.changes) {
        const r = applyChange(current, c);
        current = r.inputs;
        problems.push(...r.problems);
      }
      return { inputs: current, problems };
    }
  }
}

function describeChange(change: ProposedChange): string {
  switch (change.kind) {
    case 'objects':
      return `apply ${(change.apply ?? []).map((o) => `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`).join(', ') || 'nothing'}${change.remove?.length ? `; remove ${change.remove.map((r) => `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`).join(', ')}` : ''}`;
    case 'agent':
      return `new spec for Agent ${change.agent.name}`;
    case 'gateway-grant':
      return `${change.revoke ? 'revoke' : 'grant'} ${change.grant.server}/${change.grant.tools.join(',')} ${change.revoke ? 'from' : 'to'} agent ${change.grant.agent}`;
    case 'gateway':
      return 'new gateway configuration';
    case 'several':
      return change.changes.map(describeChange).join('; ');
  }
}

/** Whether the boundary lets the agent itself make the triggering request, and where (the engine's definition). */
function sanctionedScopes(boundary: Boundary | undefined, e: EscalationEdge): (string | undefined)[] {
  const q = e.trigger;
  const req = { verbs: [q.verb], group: q.group, resource: q.resource, subresource: q.subresource, name: e.names?.[0] };
  if (isKnownClusterScoped(q.group, q.resource)) return boundaryRuleFor(boundary, req) ? [undefined] : [];
  if (e.namespace !== undefined)
    return boundaryAllows(boundary, { ...req, namespace: e.namespace }) ? [e.namespace] : [];
  const nsList = boundary?.namespaces ?? [];
  // Any namespace stands for "a namespace": whether it is in the boundary is answered by the list below.
  if (!boundaryRuleFor(boundary, { ...req, namespace: nsList[0] === '*' ? 'any' : (nsList[0] ?? 'any') })) return [];
  return nsList.includes('*') ? [undefined] : nsList;
}

function narrowTarget(target: string, ns: string | undefined): string {
  if (ns === undefined) return target;
  return target.replace(/^(pool:(?:sa|running|tokens)):\*$/, `$1:${ns}`).replace(/^rbac:full:\*$/, `rbac:full:${ns}`);
}

export function sanctionedEscalations(model: AccessModel, agentName: string, spec: AgentSpec): SanctionedEscalation[] {
  const { graph } = model;
  const out: SanctionedEscalation[] = [];
  const seen = new Set<string>();
  const actors: string[] = [];
  for (const e of graph.edges(`agent:${agentName}`)) {
    if (e.kind === 'identity') actors.push(e.to);
    if (e.kind === 'tool') {
      const runsAs = graph.edges(e.to).find((x) => x.kind === 'runs-as');
      actors.push(runsAs ? runsAs.to : e.to);
    }
  }
  for (const actor of actors) {
    for (const edge of graph.edges(actor)) {
      const e = edge.escalation;
      if (edge.kind !== 'escalation' || !e) continue;
      for (const ns of sanctionedScopes(spec.boundary, e)) {
        const target = narrowTarget(edge.to, ns);
        const label =
          e.namespace === undefined && ns !== undefined ? e.label.replace(/in every namespace/, `in ${ns}`) : e.label;
        const key = `${actor}|${label}|${target}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const members = expand(model, target);
        out.push({
          actor: graph.node(actor).label,
          label,
          target,
          targetLabel: describeTarget(target),
          members: members.slice(0, 10),
          memberCount: members.length,
        });
      }
    }
  }
  return out;
}

/** The identities a target stands for (pools expanded, two levels for '*' pools). */
function expand(model: AccessModel, target: string): string[] {
  const { graph } = model;
  const n = graph.node(target);
  if (n.principal) return [n.label];
  if (n.kind !== 'pool') return [];
  const out: string[] = [];
  for (const e of graph.edges(target)) {
    const m = graph.node(e.to);
    if (m.principal)
      out.push(m.principal.kind === 'ServiceAccount' ? `${m.principal.namespace}/${m.principal.name}` : m.label);
    else if (m.kind === 'pool') for (const e2 of graph.edges(e.to)) out.push(graph.node(e2.to).label);
  }
  return out;
}

function focusOf(change: ProposedChange): string[] | undefined {
  if (change.kind === 'agent') return [change.agent.name];
  if (change.kind === 'gateway-grant') return [change.grant.agent];
  if (change.kind === 'several') {
    const parts = change.changes.map(focusOf);
    return parts.some((p) => p === undefined) ? undefined : [...new Set(parts.flat() as string[])];
  }
  return undefined;
}

function agentsAffected(before: AccessModel, change: ProposedChange): string[] {
  const all = [...before.graph.agents.keys()];
  const focus = focusOf(change);
  if (focus === undefined) return all.sort();
  // Agents that may invoke a changed one reach what it reaches.
  const out = all.filter((a) => focus.includes(a) || focus.some((f) => reachOf(before.graph, a).has(`agent:${f}`)));
  for (const f of focus) if (!out.includes(f)) out.push(f);
  return out.sort();
}

const escKey = (e: ReachedEscalation) => `${e.from}|${e.label}|${e.target}`;
const sanKey = (e: SanctionedEscalation) => `${e.actor}|${e.label}|${e.target}`;

function diff<T>(before: readonly T[], after: readonly T[], key: (t: T) => string): { added: T[]; removed: T[] } {
  const b = new Set(before.map(key));
  const a = new Set(after.map(key));
  return { added: after.filter((x) => !b.has(key(x))), removed: before.filter((x) => !a.has(key(x))) };
}

function agentDelta(before: AccessModel, after: AccessModel, name: string): AgentDelta {
  const side = (m: AccessModel) => {
    const agent = m.graph.agents.get(name);
    if (!agent)
      return {
        identities: [] as string[],
        escalations: [] as ReachedEscalation[],
        sanctioned: [] as SanctionedEscalation[],
        findings: [] as Finding[],
      };
    const reach = reachOf(m.graph, name);
    const identities = reach
      .nodeIds()
      .filter((id) => m.graph.node(id).principal)
      .map((id) => m.graph.node(id).label);
    return {
      identities,
      escalations: escalationsIn(m, reach, Number.POSITIVE_INFINITY).list,
      sanctioned: sanctionedEscalations(m, name, agent.spec),
      findings: findingsFor(m.graph, agent, reach).findings,
    };
  };
  const b = side(before);
  const a = side(after);
  const ids = diff(b.identities, a.identities, (x) => x);
  const esc = diff(b.escalations, a.escalations, escKey);
  const san = diff(b.sanctioned, a.sanctioned, sanKey);
  const fin = diff(b.findings, a.findings, (f) => f.id);
  return {
    agent: name,
    identitiesAdded: ids.added,
    identitiesRemoved: ids.removed,
    escalationsAdded: esc.added,
    escalationsRemoved: esc.removed,
    sanctionedAdded: san.added,
    sanctionedRemoved: san.removed,
    findingsAdded: fin.added,
    findingsRemoved: fin.removed,
  };
}

const some = (xs: readonly string[], n = 8) =>
  xs.length > n ? `${xs.slice(0, n).join(', ')} and ${xs.length - n} more` : xs.join(', ');

function sentences(d: AgentDelta): string[] {
  const out: string[] = [];
  for (const s of d.sanctionedAdded) {
    const pool = s.target.startsWith('pool:') || s.target.startsWith('webhook:');
    out.push(
      `${d.agent}: approving this adds: ${s.label} → ${s.targetLabel}${pool && s.memberCount ? ` (${s.memberCount}: ${some(s.members)})` : ''}`,
    );
  }
  if (d.identitiesAdded.length)
    out.push(
      `${d.agent}: can now act as ${d.identitiesAdded.length} more identit${d.identitiesAdded.length === 1 ? 'y' : 'ies'}: ${some(d.identitiesAdded)}`,
    );
  for (const e of d.escalationsAdded.slice(0, 10))
    out.push(`${d.agent}: new escalation: ${e.from} —${e.label}→ ${e.to}`);
  if (d.escalationsAdded.length > 10) out.push(`${d.agent}: … and ${d.escalationsAdded.length - 10} more escalations`);
  const crit = d.findingsAdded.filter((f) => f.severity === 'critical' || f.severity === 'high');
  if (d.findingsAdded.length)
    out.push(
      `${d.agent}: ${d.findingsAdded.length} new permission(s) beyond its boundary${crit.length ? `, ${crit.length} critical or high` : ''}`,
    );
  for (const f of d.findingsAdded.slice(0, 5)) out.push(`${d.agent}:   ${f.severity}: ${f.summary}`);
  if (d.identitiesRemoved.length) out.push(`${d.agent}: can no longer act as ${some(d.identitiesRemoved)}`);
  for (const s of d.sanctionedRemoved) out.push(`${d.agent}: no longer sanctioned: ${s.label} → ${s.targetLabel}`);
  if (d.findingsRemoved.length) out.push(`${d.agent}: ${d.findingsRemoved.length} finding(s) resolved`);
  return out;
}

export function whatIf(before: AccessModel, change: ProposedChange, opts: ModelOptions = before.options): ReachDelta {
  const applied = applyChange(before.inputs, change);
  const after = buildAccessModel(applied.inputs, opts);
  const agents = agentsAffected(before, change)
    .map((a) => agentDelta(before, after, a))
    .filter(
      (d) =>
        d.identitiesAdded.length +
          d.identitiesRemoved.length +
          d.escalationsAdded.length +
          d.escalationsRemoved.length +
          d.sanctionedAdded.length +
          d.sanctionedRemoved.length +
          d.findingsAdded.length +
          d.findingsRemoved.length >
        0,
    );
  const lines = agents.flatMap(sentences);
  return {
    change: describeChange(change),
    agents,
    lines: lines.length ? lines : ['no change in reach'],
    problems: applied.problems,
    after,
  };
}

/** For approvers of a boundary expansion: what approving the proposed spec would let the agent reach. */
export function reviewBoundaryExpansion(model: AccessModel, agent: string, proposed: AgentSpec): ReachDelta {
  const current = model.graph.agents.get(agent);
  return whatIf(model, {
    kind: 'agent',
    agent: { name: agent, spec: proposed, source: current?.source ?? { origin: 'proposed change' } },
  });
}
