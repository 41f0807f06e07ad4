// Owners as people answerable for agents: who owns what and in which standing, which agents are
// orphaned, and re-attestation — an owner's own ledgered word that they still answer for an agent.
import { attestationDue, directoryProblem, ownerProblem } from '../engine/rules/accountability.ts';
import type { CompiledAgent, CompiledPolicy } from '../policy/compile.ts';
import type { Store } from '../store/store.ts';
import type { DirectoryService } from './directory.ts';
import { memberIds } from './directory-index.ts';
import { ownerLeaf } from '../ledger/leaves.ts';
import type { Done, Refused } from './governor.ts';

/** Longest an attestation may run: ownership is re-confirmed at least yearly. */
const MAX_ATTESTATION_MS = 366 * 86_400_000;

export interface OwnedAgent {
  readonly agent: string;
  readonly authorityClass: string;
  /** ISO time the current attestation lapses, when one is required. */
  readonly attestedUntil?: string;
  /** live, or the refusal an agent of this owner gets now. */
  readonly status: 'live' | 'owner-inactive' | 'attestation-lapsed';
  readonly problem?: string;
}

export interface OwnerSummary {
  readonly owner: string;
  /** What the directory says: live, gone (with why), or not configured. */
  readonly directory: 'live' | 'not-configured' | { readonly problem: string };
  readonly agents: readonly OwnedAgent[];
}

const refuse = (code: Refused['code'], why: string): Refused => ({ ok: false, code, why });

export function ownedAgent(a: CompiledAgent, policy: CompiledPolicy, now: number): OwnedAgent {
  const due = attestationDue(a, policy);
  const p = ownerProblem(a, policy, now);
  return {
    agent: a.name,
    authorityClass: a.authorityClass,
    ...(due !== undefined ? { attestedUntil: new Date(due).toISOString() } : {}),
    status: !p ? 'live' : p.rule === 'accountability/owner-inactive' ? 'owner-inactive' : 'attestation-lapsed',
    ...(p ? { problem: p.message } : {}),
  };
}

export class OwnersService {
  readonly #store: Store;
  readonly #policy: () => CompiledPolicy;
  readonly #directory: DirectoryService;
  readonly #clock: () => number;

  constructor(opts: { store: Store; policy: () => CompiledPolicy; directory: DirectoryService; clock?: () => number }) {
    this.#store = opts.store;
    this.#policy = opts.policy;
    this.#directory = opts.directory;
    this.#clock = opts.clock ?? Date.now;
  }

  /** Every owner named by an Agent, their standing and their agents. */
  list(): OwnerSummary[] {
    const policy = this.#policy();
    const now = this.#clock();
    const byOwner = new Map<string, OwnedAgent[]>();
    for (const a of policy.agents.values()) {
      const list = byOwner.get(a.spec.owner.id) ?? [];
      list.push(ownedAgent(a, policy, now));
      byOwner.set(a.spec.owner.id, list);
    }
    return [...byOwner].map(([owner, agents]) => {
      const problem = directoryProblem(owner, policy.ownership);
      return {
        owner,
        directory: policy.ownership?.directory ? (problem ? { problem } : 'live') : 'not-configured',
        agents,
      };
    });
  }

  /** Agents whose owner is missing, inactive or whose attestation lapsed: none of them may act. */
  orphans(): (OwnedAgent & { readonly owner: string })[] {
    return this.list().flatMap((o) =>
      o.agents.filter((a) => a.status !== 'live').map((a) => ({ ...a, owner: o.owner })),
    );
  }

  /** Agents whose attestation lapses within `withinMs`, not yet lapsed. */
  due(withinMs: number): { readonly agent: string; readonly owner: string; readonly until: number }[] {
    const policy = this.#policy();
    const now = this.#clock();
    const out: { agent: string; owner: string; until: number }[] = [];
    for (const a of policy.agents.values()) {
      const until = attestationDue(a, policy);
      if (until !== undefined && until > now && until - now <= withinMs)
        out.push({ agent: a.name, owner: a.spec.owner.id, until });
    }
    return out;
  }

  /** True when `person` speaks as the owner: the same name, the same directory user, or an active member of an owning group. */
  #speaksAsOwner(person: string, owner: string): boolean {
    if (person.toLowerCase() === owner.toLowerCase()) return true;
    const index = this.#directory.index;
    const me = index.standing(person);
    const them = index.standing(owner);
    if (me?.kind !== 'user' || !me.active || !them) return false;
    if (them.kind === 'user') return them.id === me.id;
    return them.kind === 'group' && memberIds(index.groups.get(them.id) ?? ({} as never)).includes(me.id);
  }

  /** The owner's own word, ledgered: they still answer for `agentName` until `until`. */
  async attest(
    person: string,
    agentName: string,
    until: number,
    reason: string,
  ): Promise<Done<{ agent: string; owner: string; until: string }>> {
    const policy = this.#policy();
    const now = this.#clock();
    const agent = policy.agents.get(agentName);
    if (!agent) return refuse('not-found', `no agent ${agentName}`);
    const owner = agent.spec.owner.id;
    if (!this.#speaksAsOwner(person, owner))
      return refuse('forbidden', `only the owner (${owner}) attests ownership of ${agentName}; ${person} is not them`);
    const gone = directoryProblem(person, policy.ownership);
    if (gone && person.toLowerCase() === owner.toLowerCase())
      return refuse('forbidden', `${gone}: a departed owner cannot attest`);
    if (reason.trim() === '')
      return refuse('invalid', 'a reason is required: the ledger records why the owner still answers for the agent');
    if (!Number.isFinite(until) || until <= now) return refuse('invalid', 'until must be a time in the future');
    if (until - now > MAX_ATTESTATION_MS) return refuse('invalid', 'an attestation runs at most a year');
    const r = await this.#store.attest(
      { agent: agentName, owner, until, reason, by: person },
      ownerLeaf(policy, agentName, { event: 'attested', by: person, until, reason }, now),
      now,
    );
    this.#directory.noteAttestation(agentName, owner, until);
    return { ok: true, ledgerIndex: r.index, agent: agentName, owner, until: new Date(until).toISOString() };
  }
}
