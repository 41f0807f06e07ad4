// Findings for one agent: every permission it reaches that its boundary does not cover. Rules
// with the same content and the same place class (a namespace inside the boundary, one outside,
// cluster-wide) exceed it identically, so they make one finding that counts and names the
// namespaces: "create pods in 212 namespaces outside the boundary (…)". Ranked by severity, then
// by how directly they are reached; each with a witness path and the smallest change.
import { createHash } from 'node:crypto';
import { BoundaryJudge, contentId, describeExcess, type ExcessPart, type PermissionSet } from './boundary.ts';
import { type Fix, smallestFix } from './fix.ts';
import type { AccessGraph, AgentInput } from './graph.ts';
import type { AgentReach, ReachedRule } from './reach.ts';
import { SEVERITIES, type Severity, severityOf, severityRank } from './severity.ts';
import { type PathStep, witnessPath } from './witness.ts';

export interface Finding {
  /** Stable across runs: agent, place class and rule content. */
  readonly id: string;
  readonly agent: string;
  readonly severity: Severity;
  readonly summary: string;
  readonly excess: readonly ExcessPart[];
  /** The witness path passes through an escalation (the agent becomes someone else on the way). */
  readonly escalated: boolean;
  readonly path: readonly PathStep[];
  /** Distinct ways the agent reaches it (rules × the reached identities holding them). */
  readonly routes: number;
  readonly fix: Fix;
}

export interface AgentFindings {
  readonly findings: Finding[];
  /** All findings, before the per-agent cap. */
  readonly total: number;
  readonly counts: Record<Severity, number>;
}

interface Acc {
  readonly key: number;
  readonly parts: readonly ExcessPart[];
  /** Offsets into reach.rules, in the order met. */
  offsets: Int32Array;
  /** How many distinct namespaces, and the first few met (nearest first). */
  namespaceCount: number;
  readonly namespaces: string[];
  routes: number;
  heldOnce: boolean;
  severity?: Severity;
}

const SAMPLE_NAMESPACES = 8;
const SAMPLE_WITNESSES = 8;

function merged(acc: Acc): ExcessPart[] {
  if (acc.namespaceCount <= 1) return [...acc.parts];
  return acc.parts.map((p) =>
    p.where.kind === 'namespace'
      ? {
          ...p,
          where: {
            kind: 'namespaces',
            count: acc.namespaceCount,
            namespaces: acc.namespaces,
            outside: p.where.outside,
          },
        }
      : p,
  );
}

export function findingsFor(
  graph: AccessGraph,
  agent: AgentInput,
  reach: AgentReach,
  opts: { max?: number } = {},
): AgentFindings {
  const judge = new BoundaryJudge(agent.spec.boundary);
  const rules = reach.rules;
  const n = rules.length;
  // Flat arrays all the way: a cluster-wide reach is tens of thousands of rules, per agent.
  const inside = new Uint8Array(graph.index.ruleIds.namespaces.size + 1);
  for (const ns of judge.namespaces) if (ns !== '*') inside[graph.namespaceNumber(ns)] = 1;
  const allNs = judge.allNamespaces;
  // Finding slot per (content × 3 + place class); -1: that content and class are inside the boundary.
  const slotOfKey = new Map<number, number>();
  const all: Acc[] = [];
  const slotOf = new Int32Array(n);
  const sizes: number[] = [];
  for (let i = 0; i < n; i++) {
    const gr = rules[i] as (typeof rules)[number];
    if (gr.content < 0) gr.content = contentId(gr.rule);
    const cls = gr.nsNumber < 0 ? 2 : allNs || inside[gr.nsNumber] === 1 ? 0 : 1;
    const key = gr.content * 3 + cls;
    let slot = slotOfKey.get(key);
    if (slot === undefined) {
      const parts = judge.excess(gr);
      slot = parts.length ? all.length : -1;
      if (parts.length) {
        all.push({
          key,
          parts,
          offsets: new Int32Array(0),
          namespaceCount: 0,
          namespaces: [],
          routes: 0,
          heldOnce: true,
        });
        sizes.push(0);
      }
      slotOfKey.set(key, slot);
    }
    slotOf[i] = slot;
    if (slot >= 0) sizes[slot] = (sizes[slot] as number) + 1;
  }
  for (const [s, acc] of all.entries()) acc.offsets = new Int32Array(sizes[s] as number);
  const fill = new Int32Array(all.length);
  let stamp = new Int32Array(graph.index.ruleIds.namespaces.size + 1);
  for (let i = 0; i < n; i++) {
    const s = slotOf[i] as number;
    if (s < 0) continue;
    const acc = all[s] as Acc;
    acc.offsets[(fill[s] as number)++] = i;
    const hits = reach.hits[i] as number;
    acc.routes += hits;
    if (hits > 1) acc.heldOnce = false;
  }
  // Distinct namespaces per finding, in the order met: a stamp per namespace number.
  all.forEach((acc, s) => {
    const offsets = acc.offsets;
    for (let k = 0; k < offsets.length; k++) {
      const gr = rules[offsets[k] as number] as (typeof rules)[number];
      const num = gr.nsNumber;
      if (num < 0) continue;
      if (num >= stamp.length) {
        const grown = new Int32Array(Math.max(num + 1, stamp.length * 2));
        grown.set(stamp);
        stamp = grown;
      }
      if (stamp[num] === s + 1) continue;
      stamp[num] = s + 1;
      if (acc.namespaceCount++ < SAMPLE_NAMESPACES) acc.namespaces.push(gr.namespace as string);
    }
  });
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const a of all) {
    a.severity = severityOf(merged(a));
    counts[a.severity]++;
  }
  const ranked = all.sort(
    (a, b) =>
      severityRank(a.severity as Severity) - severityRank(b.severity as Severity) ||
      (a.offsets[0] as number) - (b.offsets[0] as number),
  );
  const kept = opts.max === undefined ? ranked : ranked.slice(0, opts.max);
  const findings = kept.map((a): Finding => {
    const excess = merged(a);
    const first = reach.reachedRule(a.offsets[0] as number);
    const path = witnessPath(graph, reach, first.rule, first.owner);
    // The nearest node every route to every holder passes: a cut there (or before) removes them all.
    const root = reach.order[0] as number;
    let dom = reach.ruleOwner[a.offsets[0] as number] as number;
    for (const o of a.offsets) {
      for (const h of reach.holdersOf(o)) dom = reach.commonDominator(dom, h);
      // Only the agent itself dominates everything: no cut on a path will do.
      if (dom === root) break;
    }
    const witnesses: ReachedRule[] = [...a.offsets.subarray(0, SAMPLE_WITNESSES)].map((o) => reach.reachedRule(o));
    const remove: PermissionSet[] = a.parts.flatMap((p) => p.permissions);
    return {
      id: createHash('sha256')
        .update(`${agent.name}\n${a.key % 3}\n${JSON.stringify(first.rule.rule)}`)
        .digest('hex')
        .slice(0, 16),
      agent: agent.name,
      severity: a.severity as Severity,
      summary: describeExcess(excess),
      excess,
      escalated: path.some((s, i) => i > 0 && reach.parentOf(s.ref)?.edge.kind === 'escalation'),
      path,
      routes: a.routes,
      fix: smallestFix(graph, reach, {
        witnesses,
        rules: a.offsets.length,
        routes: a.routes,
        heldOnce: a.heldOnce,
        dominator: graph.idAt(dom),
        remove,
      }),
    };
  });
  return { findings, total: all.length, counts };
}
