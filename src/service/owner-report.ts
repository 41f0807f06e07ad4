// What an auditor asks an owner for: their agents, classes, actions, refusals, approvals,
// boundary expansions and breaker trips in a period, with the signed checkpoint that makes every
// count verifiable against the ledger. Reads only (it may sign a checkpoint covering the period).
import { isMutation } from '../engine/action.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { LedgerEntry, Store } from '../store/store.ts';
import type { CompiledPolicy } from '../policy/compile.ts';
import { type CheckpointInfo, EvidenceProver } from './evidence.ts';

const PAGE = 5000;

export interface AgentActivity {
  readonly agent: string;
  readonly authorityClass?: string;
  readonly actions: {
    readonly allowed: number;
    readonly refused: number;
    readonly pending: number;
    readonly proposals: number;
    readonly mutations: number;
    readonly reads: number;
  };
  /** Approval verdicts on this agent's requests: who said what. */
  readonly approvals: readonly {
    readonly index: number;
    readonly approvalId?: string;
    readonly by?: string;
    readonly verdict?: string;
    readonly time: string;
  }[];
  readonly expansions: readonly {
    readonly index: number;
    readonly status?: string;
    readonly by?: string;
    readonly time: string;
  }[];
  readonly breakerTrips: readonly { readonly index: number; readonly rule?: string; readonly time: string }[];
  readonly ownership: readonly {
    readonly index: number;
    readonly event?: string;
    readonly time: string;
    readonly message?: string;
  }[];
  /** Ledger positions of the first and last entry counted. */
  readonly firstIndex?: number;
  readonly lastIndex?: number;
}

export interface OwnerReport {
  readonly owner: string;
  readonly since: string;
  readonly until: string;
  readonly agents: readonly AgentActivity[];
  readonly checkpoint?: CheckpointInfo;
}

async function entriesOf(
  store: Store,
  q: { agent?: string; owner?: string; since: number; until: number },
): Promise<LedgerEntry[]> {
  const out: LedgerEntry[] = [];
  let fromIndex = 0;
  for (;;) {
    const page = await store.queryLedger({ ...q, fromIndex, limit: PAGE });
    out.push(...page);
    if (page.length < PAGE) return out;
    fromIndex = (page.at(-1)?.index ?? 0) + 1;
  }
}

function tally(agent: string, entries: readonly LedgerEntry[], authorityClass: string | undefined): AgentActivity {
  const actions = { allowed: 0, refused: 0, pending: 0, proposals: 0, mutations: 0, reads: 0 };
  const a: {
    approvals: AgentActivity['approvals'][number][];
    expansions: AgentActivity['expansions'][number][];
    breakerTrips: AgentActivity['breakerTrips'][number][];
    ownership: AgentActivity['ownership'][number][];
  } = { approvals: [], expansions: [], breakerTrips: [], ownership: [] };
  for (const { index, leaf } of entries) {
    const detail = (leaf.detail ?? {}) as Record<string, unknown>;
    if (leaf.kind === 'decision' || leaf.kind === 'proposal') {
      if (leaf.kind === 'proposal') actions.proposals++;
      else if (leaf.decision === 'allow') actions.allowed++;
      else if (leaf.decision === 'deny') actions.refused++;
      else actions.pending++;
      if (isMutation(leaf.verb ?? 'get')) actions.mutations++;
      else actions.reads++;
    } else if (leaf.kind === 'approval')
      a.approvals.push({
        index,
        approvalId: leaf.approvals?.[0],
        by: leaf.actor,
        verdict: detail.verdict as string,
        time: leaf.time,
      });
    else if (leaf.kind === 'boundary')
      a.expansions.push({ index, status: detail.status as string, by: leaf.actor, time: leaf.time });
    else if (leaf.kind === 'breaker' && detail.to === 'open')
      a.breakerTrips.push({ index, rule: leaf.rules?.[0], time: leaf.time });
    else if (leaf.kind === 'owner')
      a.ownership.push({ index, event: detail.event as string, time: leaf.time, message: leaf.message });
  }
  return { agent, authorityClass, actions, ...a, firstIndex: entries[0]?.index, lastIndex: entries.at(-1)?.index };
}

/**
 * The owner's agents are those the policy names them for now, and those the ledger shows they
 * owned in the period (an agent re-assigned since still counts for the time it was theirs).
 */
export async function ownerReport(
  store: Store,
  ledger: Ledger,
  policy: CompiledPolicy,
  owner: string,
  since: number,
  until: number,
): Promise<OwnerReport> {
  const owned = await entriesOf(store, { owner, since, until });
  const names = new Set([
    ...[...policy.agents.values()].filter((a) => a.spec.owner.id === owner).map((a) => a.name),
    ...owned.flatMap((e) => (e.leaf.agent ? [e.leaf.agent] : [])),
  ]);
  const agents: AgentActivity[] = [];
  let highest = -1;
  for (const name of [...names].sort()) {
    // Entries of this agent while this person owned it, plus those that carry no owner (approval verdicts, expansions, breaker moves).
    const entries = (await entriesOf(store, { agent: name, since, until })).filter(
      (e) => e.leaf.owner === undefined || e.leaf.owner === owner,
    );
    highest = Math.max(highest, entries.at(-1)?.index ?? -1);
    agents.push(
      tally(
        name,
        entries,
        policy.agents.get(name)?.authorityClass ?? entries.find((e) => e.leaf.authorityClass)?.leaf.authorityClass,
      ),
    );
  }
  const prover = highest >= 0 ? await EvidenceProver.covering(ledger, highest) : undefined;
  return {
    owner,
    since: new Date(since).toISOString(),
    until: new Date(until).toISOString(),
    agents,
    ...(prover ? { checkpoint: prover.info() } : {}),
  };
}

export function reportMarkdown(r: OwnerReport): string {
  const lines = [`# Agents owned by ${r.owner}`, '', `Period: ${r.since} to ${r.until}`, ''];
  if (r.checkpoint)
    lines.push(
      `Verifiable against signed checkpoint: size ${r.checkpoint.size}, root \`${r.checkpoint.root}\`, key ${r.checkpoint.keyId}, signed ${r.checkpoint.time} (signature ${r.checkpoint.signatureValid ? 'valid' : 'INVALID'}).`,
      '',
    );
  if (r.agents.length === 0) lines.push('No agents in this period.');
  for (const a of r.agents) {
    const x = a.actions;
    lines.push(`## ${a.agent} (${a.authorityClass ?? 'class unknown'})`, '');
    lines.push(
      `| allowed | refused | pending | proposals | mutations | reads |`,
      `|---|---|---|---|---|---|`,
      `| ${x.allowed} | ${x.refused} | ${x.pending} | ${x.proposals} | ${x.mutations} | ${x.reads} |`,
      '',
    );
    for (const p of a.approvals)
      lines.push(`- approval ${p.approvalId ?? ''}: ${p.verdict} by ${p.by} at ${p.time} (ledger ${p.index})`);
    for (const e of a.expansions)
      lines.push(`- boundary expansion ${e.status} by ${e.by} at ${e.time} (ledger ${e.index})`);
    for (const b of a.breakerTrips)
      lines.push(`- breaker tripped${b.rule ? ` (${b.rule})` : ''} at ${b.time} (ledger ${b.index})`);
    for (const o of a.ownership) lines.push(`- ownership: ${o.event} at ${o.time} (ledger ${o.index})`);
    if (a.firstIndex !== undefined) lines.push('', `Ledger entries ${a.firstIndex}–${a.lastIndex}.`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
