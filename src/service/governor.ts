// The orchestration every enforcement point shares: resolve, prefetch, decide (pure), commit.
// It holds no policy logic: who may approve or reset is asked of src/engine/approvers.ts.
import { type Action, type Intent, isMutation } from '../engine/action.ts';
import {
  mayApprove,
  mayApproveExpansion,
  mayResetBreaker,
  isAgentIdentity,
  type Verdict,
} from '../engine/approvers.ts';
import type { ClusterView } from '../engine/cluster-view.ts';
import { decide } from '../engine/decide.ts';
import type { BreakerScope, Decision } from '../engine/decision.ts';
import { type OwnershipView, resolveAgent } from '../engine/rules/accountability.ts';
import { EMPTY_STATE } from '../engine/state.ts';
import type { CompiledAgent, CompiledPolicy } from '../policy/compile.ts';
import type {
  AgentStateNeeds,
  ExpansionRequest,
  HumanVerdict,
  Store,
  StoredApproval,
  StoredBreaker,
} from '../store/store.ts';
import { decisionLeaf, intentLeaf } from '../ledger/leaves.ts';
import { requestedObjects } from './requested-objects.ts';

/** The engine's rate window (src/engine/rules/breaker.ts asks mutationsSince(now - 60 s)). */
const RATE_WINDOW_MS = 60_000;

export interface GovernedDecision {
  readonly decision: Decision;
  /** Absent only when the subject is not an agent at all: Tether has no opinion and records nothing. */
  readonly ledgerIndex?: number;
  /** The approval request a pending decision opened (or the one already open for the same action). */
  readonly approvalId?: string;
}

/** Why a human's request was refused, shaped for an HTTP status: 403, 404, 409 or 400. */
export type Refused = {
  readonly ok: false;
  readonly code: 'forbidden' | 'not-found' | 'conflict' | 'invalid';
  readonly why: string;
};

export type Done<T> = ({ readonly ok: true; readonly ledgerIndex: number } & T) | Refused;

/** Two commits in a row lost a race for the same budget or approval: fail closed, let the caller retry. */
export class ContentionError extends Error {
  override name = 'ContentionError';
}

export function stateNeeds(agent: CompiledAgent): AgentStateNeeds {
  const osc = agent.spec.breaker?.oscillation;
  return {
    name: agent.name,
    budgets: agent.budgets.map((b) => ({ id: b.id, windowMs: b.windowMs })),
    breakerWindowMs: agent.breakerWindowMs,
    rateWindowMs: RATE_WINDOW_MS,
    oscillation:
      osc && agent.oscillationWindowMs !== undefined
        ? { fields: osc.fields, windowMs: agent.oscillationWindowMs }
        : undefined,
  };
}

const refuse = (code: Refused['code'], why: string): Refused => ({ ok: false, code, why });
const forbidden = (v: Verdict): Refused | undefined => (v.ok ? undefined : refuse('forbidden', v.why));

function needsReason(reason: string): Refused | undefined {
  return reason.trim() === ''
    ? refuse('invalid', 'a reason is required: the ledger records why a human lifted or changed a control')
    : undefined;
}

export class Governor {
  readonly store: Store;
  #policy: CompiledPolicy;
  #ownership: OwnershipView | undefined;
  readonly #clock: () => number;
  /** Who can do what in the cluster, for containment; absent where no view is kept (agents then fail closed there). */
  #cluster: ClusterView | undefined;

  constructor(opts: {
    readonly policy: CompiledPolicy;
    readonly store: Store;
    readonly clock?: () => number;
    readonly cluster?: ClusterView;
  }) {
    this.#policy = opts.policy;
    this.store = opts.store;
    this.#clock = opts.clock ?? Date.now;
    this.#cluster = opts.cluster;
  }

  setClusterView(view: ClusterView | undefined): void {
    this.#cluster = view;
  }

  get policy(): CompiledPolicy {
    return this.#policy;
  }

  /** Decisions already under way finish with the policy they started with. */
  setPolicy(policy: CompiledPolicy): void {
    this.#policy = this.#ownership ? { ...policy, ownership: this.#ownership } : policy;
  }

  /** Directory standing and attestations (src/service/directory.ts), read by every decision from here on. */
  setOwnership(view: OwnershipView): void {
    this.#ownership = view;
    this.#policy = { ...this.#policy, ownership: view };
  }

  /** An agent declares why it is about to act, for writes that cannot carry the annotation. Ledgered. */
  async declareIntent(
    username: string,
    intent: Intent,
    ttlMs: number,
  ): Promise<Done<{ agent: string; expiresAt: number }>> {
    const who = resolveAgent({ username, groups: [] }, this.#policy);
    if (who.kind !== 'agent') return refuse('forbidden', `${username} is not a registered agent`);
    const now = this.#clock();
    const expiresAt = now + ttlMs;
    await this.store.declareIntent(username, intent, now, expiresAt);
    const a = who.agent;
    const ledgerIndex = await this.store.append(
      intentLeaf(
        {
          agent: { name: a.name, owner: a.spec.owner.id, authorityClass: a.authorityClass, mode: a.mode },
          username,
          intent,
          expiresAt,
        },
        now,
      ),
    );
    return { ok: true, ledgerIndex, agent: a.name, expiresAt };
  }

  async decide(action: Action): Promise<GovernedDecision> {
    const policy = this.#policy;
    action = await this.#withDeclaredIntent(action);
    // A commit refused because another decision filled the budget (or used the approval) first
    // is decided once more on fresh state: that second decision sees the limit and refuses.
    const resolution = resolveAgent(action.subject, policy);
    if (resolution.kind === 'not-an-agent')
      return { decision: decide(action, policy, EMPTY_STATE, this.#clock(), this.#cluster) };
    const needs = resolution.kind === 'agent' ? stateNeeds(resolution.agent) : undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      const now = this.#clock();
      const state = await this.store.stateFor(needs, action, now);
      const decision = decide(action, policy, state, now, this.#cluster);
      const committed = await this.store.commit(
        decisionLeaf(action, decision, now),
        decision.effects,
        now,
        decision.outcome === 'pending'
          ? { approvalAsk: decision.approval, requested: requestedObjects(action) }
          : undefined,
      );
      if (committed.ok) return { decision, ledgerIndex: committed.index, approvalId: committed.approvalId };
    }
    throw new ContentionError(
      `${action.subject.username}: ${action.verb} lost the race for a budget or approval twice; retry`,
    );
  }

  /**
   * Several actions that stand or fall together (one tool call): each is first decided without
   * being recorded; only if all would be allowed are they committed. Otherwise only what stops
   * them is committed (the first refusal, or the actions that need an approval), so a refused
   * call spends no budget on its other actions. Returns what was committed, with its position.
   */
  async decideAll(actions: readonly Action[]): Promise<(GovernedDecision & { readonly position: number })[]> {
    // A lone action is committed whatever its preview says (its own refusal or approval is what
    // stops it), so previewing it only read the same state twice before the call could go out.
    if (actions.length === 1) return [{ ...(await this.decide(actions[0] as Action)), position: 0 }];
    const previews: Decision[] = [];
    for (const a of actions) previews.push(await this.#preview(a));
    const firstDeny = previews.findIndex((d) => d.outcome === 'deny');
    const positions =
      firstDeny >= 0
        ? [firstDeny]
        : previews.some((d) => d.outcome === 'pending')
          ? previews.flatMap((d, i) => (d.outcome === 'pending' ? [i] : []))
          : actions.map((_, i) => i);
    const out: (GovernedDecision & { position: number })[] = [];
    for (const position of positions) {
      const g = await this.decide(actions[position] as Action);
      out.push({ ...g, position });
      // A race lost since the preview (another call took the last of a budget) ends it here.
      if (g.decision.outcome === 'deny') break;
    }
    return out;
  }

  /** A write that carries no intent (kubectl scale, delete) falls back to the agent's standing one. */
  async #withDeclaredIntent(action: Action): Promise<Action> {
    if (action.intent !== undefined || !isMutation(action.verb) || action.source === 'audit') return action;
    const declared = await this.store.declaredIntent(action.subject.username, this.#clock());
    return declared ? { ...action, intent: declared.intent } : action;
  }

  /** The decision as it would be now, recorded nowhere. */
  async #preview(action: Action): Promise<Decision> {
    const now = this.#clock();
    const resolution = resolveAgent(action.subject, this.#policy);
    if (resolution.kind === 'not-an-agent') return decide(action, this.#policy, EMPTY_STATE, now, this.#cluster);
    const withIntent = await this.#withDeclaredIntent(action);
    const state = await this.store.stateFor(
      resolution.kind === 'agent' ? stateNeeds(resolution.agent) : undefined,
      withIntent,
      now,
    );
    return decide(withIntent, this.#policy, state, now, this.#cluster);
  }

  approve(id: string, by: string, reason: string): Promise<Done<{ approval: StoredApproval }>> {
    return this.#verdict(id, { by, verdict: 'approved', reason });
  }

  deny(id: string, by: string, reason: string): Promise<Done<{ approval: StoredApproval }>> {
    return this.#verdict(id, { by, verdict: 'denied', reason });
  }

  async #verdict(id: string, v: HumanVerdict): Promise<Done<{ approval: StoredApproval }>> {
    const policy = this.#policy;
    const invalid = needsReason(v.reason);
    if (invalid) return invalid;
    const request = await this.store.approval(id);
    if (!request) return refuse('not-found', `no approval ${id}`);
    const agent = policy.agents.get(request.agent);
    if (!agent)
      return refuse('conflict', `agent ${request.agent} is no longer in the policy; its requests can only lapse`);
    const no = forbidden(mayApprove(v.by, agent, policy));
    if (no) return no;
    const r = await this.store.decideApproval(id, v, this.#clock());
    return r.ok ? { ok: true, ledgerIndex: r.index, approval: r.approval } : refuse('conflict', r.why);
  }

  async resetBreaker(
    scope: BreakerScope,
    key: string,
    by: string,
    reason: string,
  ): Promise<Done<{ breaker: StoredBreaker }>> {
    const policy = this.#policy;
    const invalid = needsReason(reason);
    if (invalid) return invalid;
    const agent = scope === 'agent' ? policy.agents.get(key) : undefined;
    const no = forbidden(mayResetBreaker(by, agent, policy));
    if (no) return no;
    const r = await this.store.resetBreaker(scope, key, { by, reason }, this.#clock());
    return r.ok ? { ok: true, ledgerIndex: r.index, breaker: r.breaker } : refuse('conflict', r.why);
  }

  /** Engaging and releasing the kill switch are both administrators' acts. */
  async setKillSwitch(engaged: boolean, by: string, reason: string): Promise<Done<object>> {
    const invalid = needsReason(reason);
    if (invalid) return invalid;
    const no = forbidden(mayResetBreaker(by, undefined, this.#policy));
    if (no) return no;
    const r = await this.store.setKillSwitch(engaged, { by, reason }, this.#clock());
    return { ok: true, ledgerIndex: r.index };
  }

  async decideExpansion(
    id: string,
    by: string,
    verdict: HumanVerdict['verdict'],
    reason: string,
  ): Promise<Done<{ request: ExpansionRequest }>> {
    const policy = this.#policy;
    const invalid = needsReason(reason);
    if (invalid) return invalid;
    const request = await this.store.expansion(id);
    if (!request) return refuse('not-found', `no boundary expansion request ${id}`);
    const agent = policy.agents.get(request.agent);
    // A brand-new agent has no approvers of its own yet: only administrators may admit it.
    const no = agent ? forbidden(mayApproveExpansion(by, agent, policy)) : forbidden(adminOnly(by, policy));
    if (no) return no;
    const r = await this.store.decideExpansion(id, { by, verdict, reason }, this.#clock());
    return r.ok ? { ok: true, ledgerIndex: r.index, request: r.request } : refuse('conflict', r.why);
  }
}

function adminOnly(person: string, policy: CompiledPolicy): Verdict {
  if (isAgentIdentity(person, policy))
    return { ok: false, why: `${person} is an agent identity: agents may never widen a boundary` };
  const admins = policy.governance.spec.approvals?.administrators ?? [];
  return admins.includes(person)
    ? { ok: true }
    : { ok: false, why: `only administrators (${admins.join(', ') || 'none configured'}) may admit a new agent` };
}
