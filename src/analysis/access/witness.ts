// Witness paths in words: agent → tool → service account → binding → role → rule, each step with
// how it was reached, so a reader can check every hop against the cluster.
import type { SubjectLike } from '../../kube/rbac-match.ts';
import { describeRule, describeSubject } from './can.ts';
import type { AccessGraph, NodeKind } from './graph.ts';
import { subjectKeys } from './identity.ts';
import { matchedSubject, type GrantedRule } from './rbac-index.ts';
import type { AgentReach } from './reach.ts';

export interface PathStep {
  readonly kind: NodeKind | 'binding' | 'role' | 'rule';
  readonly label: string;
  /** How this step follows from the previous one. */
  readonly via?: string;
  /** Graph node id, or `Kind namespace/name` for binding and role steps. */
  readonly ref: string;
}

/** The principal whose bindings a rule came through: the owner itself, or the runtime identity of a tool. */
export function holderOf(graph: AccessGraph, owner: string): string | undefined {
  const n = graph.node(owner);
  if (n.principal) return owner;
  if (n.kind === 'tool' && n.tool) return graph.runtimeNode(n.tool.server);
  return undefined;
}

export function bindingRef(gr: GrantedRule): string | undefined {
  const b = gr.grant?.binding;
  return b ? `${b.kind} ${b.namespace ? `${b.namespace}/` : ''}${b.name}` : undefined;
}

export function roleRef(gr: GrantedRule): string | undefined {
  const g = gr.grant;
  if (!g) return undefined;
  const r = g.binding.roleRef;
  return r.kind === 'ClusterRole' ? `ClusterRole ${r.name}` : `Role ${g.binding.namespace}/${r.name}`;
}

/** The binding subject through which the holder got the rule. */
export function subjectOf(graph: AccessGraph, gr: GrantedRule, holder: string | undefined): SubjectLike | undefined {
  if (!gr.grant || !holder) return undefined;
  const p = graph.node(holder).principal;
  return p ? matchedSubject(gr.grant, subjectKeys(p)) : undefined;
}

export function witnessPath(graph: AccessGraph, reach: AgentReach, gr: GrantedRule, owner: string): PathStep[] {
  const steps: PathStep[] = [];
  const root = `agent:${reach.agent}`;
  steps.push({ kind: 'agent', label: graph.node(root).label, ref: root });
  for (const { edge } of reach.pathTo(owner)) {
    const n = graph.node(edge.to);
    steps.push({ kind: n.kind, label: n.label, via: edge.label, ref: edge.to });
  }
  const holder = holderOf(graph, owner);
  if (gr.restrictedBy && holder) {
    const n = graph.node(holder);
    steps.push({ kind: 'principal', label: n.label, via: 'runs as', ref: holder });
  }
  if (!gr.grant) {
    steps.push({
      kind: 'rule',
      label: `${gr.synthetic ?? 'synthetic'}: ${describeRule(gr.rule)}`,
      via: 'holds',
      ref: `synthetic:${gr.id}`,
    });
    return steps;
  }
  const b = gr.grant.binding;
  const subject = subjectOf(graph, gr, holder);
  steps.push({
    kind: 'binding',
    label: bindingRef(gr) as string,
    via: subject ? `bound as ${describeSubject(subject, b.namespace)}` : 'bound',
    ref: bindingRef(gr) as string,
  });
  const role = gr.grant.role;
  steps.push({
    kind: 'role',
    label: `${roleRef(gr)}${role?.aggregated ? ' (aggregated)' : ''}`,
    via: 'grants',
    ref: roleRef(gr) as string,
  });
  const base = gr.base ?? gr;
  const used = gr.restrictedBy
    ? ` — used by ${gr.restrictedBy.server}/${gr.restrictedBy.tool} as ${describeRule(gr.rule)}`
    : '';
  steps.push({
    kind: 'rule',
    label: `rule ${gr.ruleIndex}: ${describeRule(base.rule)}${used}`,
    via: 'rule',
    ref: `${roleRef(gr)}#${gr.ruleIndex}`,
  });
  return steps;
}

export function formatPath(steps: readonly PathStep[]): string {
  return steps.map((s, i) => (i === 0 ? s.label : `—${s.via ?? ''}→ ${s.label}`)).join(' ');
}
