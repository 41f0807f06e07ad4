// The smallest change that removes a finding. Candidate cuts lie along the witness path; a cut
// counts only if every path from the agent to the rule's holder crosses it (dominators of the reach
// graph decide that, cycles included) and the rule has no other holder. Among valid cuts the one
// touching the fewest others wins: the agent's own tool grant or mayInvoke entry; then a binding or
// role change that only the agent's own identities feel; then the tool server's identity; then a
// change felt by other identities. When several routes lead to the same permission and no one cut
// covers them, each gets its own.
import type { SubjectLike } from '../../kube/rbac-match.ts';
import { type PermissionSet, describePermission } from './boundary.ts';
import { describeSubject } from './can.ts';
import { bitOf } from './escalation.ts';
import { triggersOf } from './escalation.ts';
import type { AccessGraph, GraphEdge } from './graph.ts';
import { type GrantedRule, roleId } from './rbac-index.ts';
import type { AgentReach, ReachedRule } from './reach.ts';
import { bindingRef, holderOf, roleRef, subjectOf } from './witness.ts';

export type FixChange =
  | { readonly kind: 'revoke-tool'; readonly agent: string; readonly server: string; readonly tool: string }
  | { readonly kind: 'remove-invoke'; readonly agent: string; readonly invokes: string }
  | { readonly kind: 'narrow-runtime-identity'; readonly server: string; readonly identity: string }
  | { readonly kind: 'remove-subject'; readonly binding: string; readonly subject: SubjectLike }
  | {
      readonly kind: 'narrow-rule';
      readonly role: string;
      readonly ruleIndex: number;
      readonly remove: readonly PermissionSet[];
    };

export interface Fix {
  readonly summary: string;
  readonly changes: readonly FixChange[];
  /** Who else the change touches. */
  readonly affects: string;
}

interface Cut {
  readonly rank: number;
  readonly changes: FixChange[];
  readonly affects: string;
}

export function describeChange(c: FixChange): string {
  switch (c.kind) {
    case 'revoke-tool':
      return `revoke tool ${c.server}/${c.tool} from agent ${c.agent} in the gateway grants`;
    case 'remove-invoke':
      return `remove ${c.invokes} from spec.boundary.chain.mayInvoke of Agent ${c.agent}`;
    case 'narrow-runtime-identity':
      return `run MCP server ${c.server} as an identity narrower than ${c.identity}`;
    case 'remove-subject':
      return `remove subject ${c.subject.kind} ${c.subject.namespace ? `${c.subject.namespace}/` : ''}${c.subject.name} from ${c.binding}`;
    case 'narrow-rule':
      return `in ${c.role} rule ${c.ruleIndex}, drop ${c.remove.map(describePermission).join('; ')}`;
  }
}

const AGENT_ONLY = 1;
const TOOL_SERVER = 2;
const OTHERS = 3;

function subjectNode(s: SubjectLike, bindingNamespace: string): string {
  if (s.kind === 'ServiceAccount') return `sa:${s.namespace || bindingNamespace}/${s.name}`;
  if (s.kind === 'User') {
    const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(s.name);
    return sa ? `sa:${sa[1]}/${sa[2]}` : `user:${s.name}`;
  }
  return `group:${s.name}`;
}

const owned = new WeakMap<AgentReach, Set<string>>();
/** The agent's own identities: changes felt only by them are the agent's business alone. */
function ownIdentities(graph: AccessGraph, reach: AgentReach): Set<string> {
  let s = owned.get(reach);
  if (!s) {
    s = new Set(
      graph
        .edges(`agent:${reach.agent}`)
        .filter((e) => e.kind === 'identity')
        .map((e) => e.to),
    );
    owned.set(reach, s);
  }
  return s;
}

/** Cut at the rule itself: narrow the role if only this binding uses it, else take the holder out of the binding. */
function grantCut(
  graph: AccessGraph,
  reach: AgentReach,
  gr: GrantedRule,
  holder: string | undefined,
  remove: readonly PermissionSet[],
  heldOnce: boolean,
): Cut | undefined {
  const base = gr.base ?? gr;
  const grant = base.grant;
  if (!grant) return undefined;
  const b = grant.binding;
  const own = ownIdentities(graph, reach);
  const rid = roleId(b.roleRef.kind, b.namespace, b.roleRef.name);
  const bindings = graph.index.grantsByRole.get(rid) ?? [grant];
  // Who feels a change: stop at the first subject that is neither the agent's nor the tool server's.
  const feltBy = (subjects: Iterable<{ s: SubjectLike; ns: string }>) => {
    let onlyHolder = gr.restrictedBy !== undefined;
    let onlyOwn = true;
    for (const { s, ns } of subjects) {
      const node = subjectNode(s, ns);
      if (node !== holder) onlyHolder = false;
      if (!own.has(node)) onlyOwn = false;
      if (!onlyHolder && !onlyOwn) return OTHERS;
    }
    return onlyHolder ? TOOL_SERVER : onlyOwn ? AGENT_ONLY : OTHERS;
  };
  function* subjectsOf(gs: typeof bindings) {
    for (const g of gs) for (const s of g.binding.subjects) yield { s, ns: g.binding.namespace };
  }
  const narrow: Cut = {
    rank: feltBy(subjectsOf(bindings)),
    changes: [{ kind: 'narrow-rule', role: roleRef(base) as string, ruleIndex: base.ruleIndex, remove }],
    affects:
      bindings.length > 1
        ? `every subject of the ${bindings.length} bindings of ${roleRef(base)}`
        : `only the subjects of ${bindingRef(base)}`,
  };
  const subject = subjectOf(graph, base, holder);
  if ((bindings.length === 1 && b.subjects.length === 1) || !subject || !heldOnce) return narrow;
  const remove1: Cut = {
    rank: feltBy([{ s: subject, ns: b.namespace }]),
    changes: [{ kind: 'remove-subject', binding: bindingRef(base) as string, subject }],
    affects: `${describeSubject(subject, b.namespace)} loses everything ${bindingRef(base)} gives it${subject.kind === 'Group' ? ' (every member of the group does)' : ''}`,
  };
  return remove1.rank <= narrow.rank ? remove1 : narrow;
}

function triggerRemoval(gr: GrantedRule, edge: GraphEdge): PermissionSet[] {
  const q = edge.escalation?.trigger;
  if (!q) return [{ verbs: gr.rule.verbs, apiGroups: gr.rule.apiGroups, resources: gr.rule.resources }];
  return [
    {
      verbs: [q.verb],
      apiGroups: [q.group],
      resources: [q.subresource ? `${q.resource}/${q.subresource}` : q.resource],
    },
  ];
}

/** Cut an escalation edge: remove the trigger from every rule of the holder that produces it. */
function escalationCut(graph: AccessGraph, reach: AgentReach, from: string, edge: GraphEdge): Cut | undefined {
  const e = edge.escalation;
  if (!e) return undefined;
  const bit = bitOf(e.kind);
  const producers = graph
    .rules(from)
    .filter((r) => (triggersOf(r) & bit) !== 0 && (r.namespace === undefined || r.namespace === e.namespace));
  const holder = holderOf(graph, from);
  const changes: FixChange[] = [];
  const affects: string[] = [];
  let worst = 0;
  for (const r of producers.length ? producers : [e.witness[0] as GrantedRule]) {
    if (!r.grant && !r.base) {
      // A synthetic holder: cut where the agent got it.
      const p = reach.parentOf(from);
      const up = p ? escalationCut(graph, reach, p.from, p.edge) : undefined;
      if (!up) return undefined;
      changes.push(...up.changes);
      affects.push(up.affects);
      worst = Math.max(worst, up.rank);
      continue;
    }
    const c = grantCut(graph, reach, r, holder, triggerRemoval(r, edge), !reach.ruleHits.has(r.id));
    if (!c) return undefined;
    changes.push(...c.changes);
    affects.push(c.affects);
    worst = Math.max(worst, c.rank);
  }
  return { rank: worst, changes, affects: [...new Set(affects)].join('; ') };
}

function edgeCut(graph: AccessGraph, reach: AgentReach, from: string, edge: GraphEdge): Cut | undefined {
  switch (edge.kind) {
    case 'tool': {
      const [server, tool] = edge.to.slice('tool:'.length).split(/\/(.*)/s) as [string, string];
      return {
        rank: 0,
        changes: [{ kind: 'revoke-tool', agent: from.slice('agent:'.length), server, tool }],
        affects: `only agent ${from.slice('agent:'.length)}`,
      };
    }
    case 'invoke':
      return {
        rank: 0,
        changes: [
          { kind: 'remove-invoke', agent: from.slice('agent:'.length), invokes: edge.to.slice('agent:'.length) },
        ],
        affects: `only agent ${from.slice('agent:'.length)}`,
      };
    case 'runs-as': {
      const server = graph.node(from).tool?.server.name ?? from;
      return {
        rank: TOOL_SERVER,
        changes: [{ kind: 'narrow-runtime-identity', server, identity: graph.node(edge.to).label }],
        affects: `every agent calling tools of ${server}`,
      };
    }
    case 'escalation':
      return escalationCut(graph, reach, from, edge);
    default:
      return undefined;
  }
}

function summarize(cut: Cut, routes: number): Fix {
  const text = cut.changes.map(describeChange).join('; and ');
  return {
    summary: routes > 1 ? `${routes} routes lead here; cut each: ${text}` : text,
    changes: cut.changes,
    affects: cut.affects,
  };
}

export interface FixInput {
  /** A sample of the rules behind the finding, the most directly reached first. */
  readonly witnesses: readonly ReachedRule[];
  /** How many rules are behind it, and how many (rule, holder) routes. */
  readonly rules: number;
  readonly routes: number;
  /** Every rule is held by a single reached node (else taking one subject out of a binding may not be enough). */
  readonly heldOnce: boolean;
  /** The nearest node that every route to every holder of every rule passes. */
  readonly dominator: string;
  readonly remove: readonly PermissionSet[];
}

export function smallestFix(graph: AccessGraph, reach: AgentReach, input: FixInput): Fix {
  const first = input.witnesses[0];
  if (!first) return { summary: 'nothing to change', changes: [], affects: 'nobody' };
  {
    let best: Cut | undefined;
    if (input.rules === 1)
      best = grantCut(graph, reach, first.rule, holderOf(graph, first.owner), input.remove, input.heldOnce);
    // A cut on the first witness's path counts if every holder of every rule lies behind it.
    for (const step of reach.pathTo(first.owner)) {
      if (!reach.edgeSeparates(step.from, step.edge.to, input.dominator)) continue;
      const c = edgeCut(graph, reach, step.from, step.edge);
      if (c && (!best || c.rank < best.rank)) best = c;
    }
    if (best) return summarize(best, input.rules > 1 ? input.routes : 1);
  }
  // No single cut: cut each route at its rule (or, for stand-ins, at the escalation that made them).
  const changes: FixChange[] = [];
  const affects: string[] = [];
  const seen = new Set<string>();
  for (const w of input.witnesses) {
    let c: Cut | undefined;
    if (w.rule.grant || w.rule.base)
      c = grantCut(graph, reach, w.rule, holderOf(graph, w.owner), input.remove, !reach.ruleHits.has(w.rule.id));
    else {
      const p = reach.parentOf(w.owner);
      c = p ? edgeCut(graph, reach, p.from, p.edge) : undefined;
    }
    if (!c) continue;
    for (const ch of c.changes) {
      const k = JSON.stringify(ch);
      if (seen.has(k)) continue;
      seen.add(k);
      changes.push(ch);
    }
    affects.push(c.affects);
  }
  const fix = summarize({ rank: 9, changes, affects: [...new Set(affects)].join('; ') }, input.routes);
  const more = input.rules - input.witnesses.length;
  return more > 0
    ? { ...fix, summary: `${fix.summary}; and the same for ${more} more rule(s) like them (see the JSON paths)` }
    : fix;
}
