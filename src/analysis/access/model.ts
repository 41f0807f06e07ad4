// Inputs in, one model out: the RBAC index and the reach graph built once over the inventory,
// agents and gateway grants, shared by `can`, the analysis and what-if.
import type { AgentInput } from './graph.ts';
import { AccessGraph } from './graph.ts';
import { EMPTY_GATEWAY, type GatewayConfig } from './gateway-grants.ts';
import {
  type AccessInventory,
  type AccessProblem,
  ANALYSED_KINDS,
  type AnalysedKind,
  BLIND_SPOT,
  emptyInventory,
} from './inventory.ts';
import { type AggregationMode, buildRbacIndex, type RbacIndex } from './rbac-index.ts';

export interface AccessInputs {
  readonly inventory: AccessInventory;
  readonly agents: readonly AgentInput[];
  readonly gateway: GatewayConfig;
  /** Problems met while reading inputs (files, cluster, policy, gateway); the inventory keeps its own. */
  readonly problems: readonly AccessProblem[];
  /** Kinds listed completely from a live cluster: absent objects of these kinds really are absent. */
  readonly listedKinds?: ReadonlySet<AnalysedKind>;
}

export interface AccessModel {
  readonly inputs: AccessInputs;
  readonly index: RbacIndex;
  readonly graph: AccessGraph;
  /** Every problem: reading, inventory, index (missing roles, aggregation) and cross-references. */
  readonly problems: readonly AccessProblem[];
  /** What the analysis could not see, in words. */
  readonly blindSpots: readonly string[];
  readonly options: ModelOptions;
}

export interface ModelOptions {
  /** 'emulate' (default): aggregated ClusterRoles hold what their selectors pick, as the controller keeps them. 'stored': as stored. */
  readonly aggregation?: AggregationMode;
}

export function emptyInputs(): AccessInputs {
  return { inventory: emptyInventory(), agents: [], gateway: EMPTY_GATEWAY, problems: [] };
}

function crossReferences(inputs: AccessInputs): AccessProblem[] {
  const problems: AccessProblem[] = [];
  const names = new Set(inputs.agents.map((a) => a.name));
  for (const g of inputs.gateway.grants) {
    if (!names.has(g.agent))
      problems.push({
        source: { origin: 'gateway' },
        severity: 'warning',
        code: 'unknown-agent',
        object: `grant ${g.agent} → ${g.server}`,
        message: `no Agent ${g.agent} is defined; the grant is not analysed`,
      });
  }
  for (const a of inputs.agents) {
    for (const other of a.spec.boundary?.chain?.mayInvoke ?? []) {
      if (!names.has(other))
        problems.push({
          source: a.source,
          severity: 'warning',
          code: 'unknown-agent',
          object: `Agent ${a.name}`,
          message: `spec.boundary.chain.mayInvoke names ${other}, which is not defined; its reach is unknown`,
        });
    }
  }
  return problems;
}

function blindSpotsOf(inputs: AccessInputs, problems: readonly AccessProblem[]): string[] {
  const out: string[] = [];
  for (const kind of ANALYSED_KINDS) {
    if ((inputs.inventory.seen.get(kind) ?? 0) > 0 || inputs.listedKinds?.has(kind)) continue;
    out.push(`no ${kind} objects in the input: ${BLIND_SPOT[kind]}`);
  }
  const unreadable = problems.filter(
    (p) =>
      p.severity === 'error' &&
      [
        'yaml',
        'json',
        'read',
        'not-an-object',
        'no-kind',
        'no-name',
        'forbidden',
        'list-failed',
        'not-served',
      ].includes(p.code),
  );
  if (unreadable.length)
    out.push(
      `${unreadable.length} document(s) or listing(s) could not be read (see problems); what they hold is missing`,
    );
  const missing = problems.filter((p) => p.code === 'missing-role').length;
  if (missing) out.push(`${missing} binding(s) refer to roles not in the input; they are taken to grant nothing`);
  for (const s of inputs.gateway.servers) {
    if (!s.runAs) out.push(`MCP server ${s.name} declares no runtime identity: what its tools reach is unknown`);
  }
  return out;
}

export function buildAccessModel(inputs: AccessInputs, opts: ModelOptions = {}): AccessModel {
  const index = buildRbacIndex(inputs.inventory, { aggregation: opts.aggregation });
  const graph = new AccessGraph(index, inputs.inventory, inputs.agents, inputs.gateway);
  const problems = [...inputs.problems, ...inputs.inventory.problems, ...index.problems, ...crossReferences(inputs)];
  return { inputs, index, graph, problems, blindSpots: blindSpotsOf(inputs, problems), options: opts };
}
