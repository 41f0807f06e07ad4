// The full analysis: for every agent, what it reaches (identities, escalations) and every excess
// over its boundary as a finding. Pure: reads the model, returns a report.
import { describeTarget } from './escalation.ts';
import { type AgentFindings, type Finding, findingsFor } from './findings.ts';
import { toolReach } from './gateway-grants.ts';
import type { AgentInput } from './graph.ts';
import type { AccessProblem } from './inventory.ts';
import type { AccessModel } from './model.ts';
import { type AgentReach, reachOf } from './reach.ts';
import { SEVERITIES, type Severity } from './severity.ts';

export interface ReachedEscalation {
  readonly from: string;
  readonly label: string;
  readonly to: string;
  readonly target: string;
}

export interface AgentReport {
  readonly name: string;
  readonly authorityClass?: string;
  readonly boundary: { readonly namespaces: readonly string[]; readonly rules: number };
  readonly identities: readonly string[];
  readonly tools: readonly {
    readonly server: string;
    readonly tool: string;
    readonly rbac: string;
    readonly runsAs?: string;
  }[];
  readonly invokes: readonly string[];
  readonly reach: {
    readonly nodes: number;
    /** Kubernetes identities it can act as, its own included. */
    readonly identities: number;
    readonly serviceAccounts: number;
    readonly rules: number;
    readonly escalations: readonly ReachedEscalation[];
    readonly escalationsTotal: number;
  };
  readonly findings: readonly Finding[];
  readonly totalFindings: number;
  readonly counts: Record<Severity, number>;
}

export interface AccessReport {
  readonly summary: {
    readonly agents: number;
    readonly findings: number;
    readonly bySeverity: Record<Severity, number>;
    readonly objects: Record<string, number>;
  };
  readonly agents: readonly AgentReport[];
  readonly problems: readonly AccessProblem[];
  readonly blindSpots: readonly string[];
}

export interface AnalyzeOptions {
  /** Only these agents (default: all). */
  readonly agents?: readonly string[];
  /** Findings kept per agent, most severe first (default 200; the counts cover all). */
  readonly maxFindingsPerAgent?: number;
  /** Escalations listed per agent (default 50). */
  readonly maxEscalations?: number;
}

export function escalationsIn(
  model: AccessModel,
  reach: AgentReach,
  max: number,
): { list: ReachedEscalation[]; total: number } {
  const list: ReachedEscalation[] = [];
  let total = 0;
  const { graph } = model;
  for (const n of reach.order) {
    const count = graph.escalationCount(n);
    if (count === 0) continue;
    total += count;
    if (list.length >= max) continue;
    for (const e of graph.edgesAt(n)) {
      if (e.kind === 'escalation' && list.length < max)
        list.push({ from: graph.nodeAt(n).label, label: e.label, to: describeTarget(e.to), target: e.to });
    }
  }
  return { list, total };
}

export function reportAgent(model: AccessModel, agent: AgentInput, opts: AnalyzeOptions = {}): AgentReport {
  const { graph } = model;
  const reach = reachOf(graph, agent.name);
  const f: AgentFindings = findingsFor(graph, agent, reach, { max: opts.maxFindingsPerAgent ?? 200 });
  let identities = 0;
  let serviceAccounts = 0;
  for (const i of reach.order) {
    const k = graph.identityKind(i);
    if (k === 0) continue;
    identities++;
    if (k === 2) serviceAccounts++;
  }
  const esc = escalationsIn(model, reach, opts.maxEscalations ?? 50);
  const tools = graph.toolsOf(agent.name).map(({ server, tool }) => {
    const node = graph.node(`tool:${server}/${tool}`);
    const runtime = node.tool ? graph.runtimeNode(node.tool.server) : undefined;
    return {
      server,
      tool,
      rbac: node.tool ? toolReach(node.tool.tool).kind : 'unknown',
      runsAs: runtime
        ? graph.node(runtime).label
        : node.tool?.server.runAs?.callerIdentity
          ? 'the calling agent'
          : undefined,
    };
  });
  return {
    name: agent.name,
    authorityClass: agent.spec.authorityClass,
    boundary: { namespaces: agent.spec.boundary?.namespaces ?? [], rules: agent.spec.boundary?.rules?.length ?? 0 },
    identities: graph
      .edges(`agent:${agent.name}`)
      .filter((e) => e.kind === 'identity')
      .map((e) => graph.node(e.to).label),
    tools,
    invokes: graph
      .edges(`agent:${agent.name}`)
      .filter((e) => e.kind === 'invoke')
      .map((e) => e.to.slice('agent:'.length)),
    reach: {
      nodes: reach.size,
      identities,
      serviceAccounts,
      rules: reach.rules.length,
      escalations: esc.list,
      escalationsTotal: esc.total,
    },
    findings: f.findings,
    totalFindings: f.total,
    counts: f.counts,
  };
}

export function analyzeAccess(model: AccessModel, opts: AnalyzeOptions = {}): AccessReport {
  const wanted = opts.agents ? new Set(opts.agents) : undefined;
  const agents = [...model.graph.agents.values()]
    .filter((a) => !wanted || wanted.has(a.name))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const reports = agents.map((a) => reportAgent(model, a, opts));
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const r of reports) for (const s of SEVERITIES) bySeverity[s] += r.counts[s];
  const inv = model.inputs.inventory;
  return {
    summary: {
      agents: reports.length,
      findings: reports.reduce((n, r) => n + r.totalFindings, 0),
      bySeverity,
      objects: Object.fromEntries(inv.seen),
    },
    agents: reports,
    problems: model.problems,
    blindSpots: model.blindSpots,
  };
}
