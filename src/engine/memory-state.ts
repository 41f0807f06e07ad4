import type { BreakerScope, Effect } from './decision.ts';
import type { ApprovalRecord, BreakerStatus, BudgetUsage, FieldChange, StateView } from './state.ts';

/**
 * Runtime state held in memory: for tests, benchmarks and offline evaluation. It applies a
 * decision's effects the way the store backends do, so engine behaviour over a sequence of
 * actions can be checked without a database.
 */
export class MemoryState implements StateView {
  readonly budgets = new Map<string, { mutations: number; objects: Set<string> }>();
  readonly breakers = new Map<string, BreakerStatus>();
  readonly approvals = new Map<string, ApprovalRecord>();
  readonly violations = new Map<string, number[]>();
  readonly mutations = new Map<string, number[]>();
  readonly fields = new Map<string, FieldChange[]>();
  readonly chains = new Map<string, string[]>();
  readonly proposals: { agent: string; actionDigest: string }[] = [];
  kill: { engaged: boolean; reason?: string } = { engaged: false };

  killSwitch() {
    return this.kill;
  }
  breaker(scope: BreakerScope, key: string): BreakerStatus {
    return this.breakers.get(`${scope}:${key}`) ?? { state: 'closed' };
  }
  budgetUsage(budgetId: string, windowStart: number, objectKey: string): BudgetUsage {
    const b = this.budgets.get(`${budgetId}@${windowStart}`);
    return b
      ? { mutations: b.mutations, distinctObjects: b.objects.size, includesObject: b.objects.has(objectKey) }
      : { mutations: 0, distinctObjects: 0, includesObject: false };
  }
  approval(id: string) {
    return this.approvals.get(id);
  }
  approvalFor(agent: string, actionDigest: string) {
    for (const a of this.approvals.values())
      if (a.agent === agent && a.actionDigest === actionDigest && a.status === 'approved') return a;
    return undefined;
  }
  violationsSince(agent: string, since: number) {
    return (this.violations.get(agent) ?? []).filter((t) => t >= since).length;
  }
  mutationsSince(agent: string, since: number) {
    return (this.mutations.get(agent) ?? []).filter((t) => t >= since).length;
  }
  fieldHistory(objectKey: string, field: string, since: number) {
    return (this.fields.get(`${objectKey}#${field}`) ?? []).filter((c) => c.at >= since);
  }
  chainCallees(chainId: string, parent: string) {
    return this.chains.get(`${chainId}/${parent}`) ?? [];
  }

  /** Applies effects in order; a budget that would overflow refuses the whole batch (as the stores do). */
  apply(effects: readonly Effect[], now: number): { ok: true } | { ok: false; budgetId: string } {
    for (const e of effects) {
      if (e.kind !== 'budget.consume') continue;
      const u = this.budgetUsage(e.budgetId, e.windowStart, e.objectKey);
      if (e.maxMutations !== undefined && u.mutations + 1 > e.maxMutations) return { ok: false, budgetId: e.budgetId };
      if (e.maxDistinctObjects !== undefined && !u.includesObject && u.distinctObjects + 1 > e.maxDistinctObjects)
        return { ok: false, budgetId: e.budgetId };
    }
    for (const e of effects) {
      switch (e.kind) {
        case 'budget.consume': {
          const k = `${e.budgetId}@${e.windowStart}`;
          const b = this.budgets.get(k) ?? { mutations: 0, objects: new Set<string>() };
          b.mutations++;
          b.objects.add(e.objectKey);
          this.budgets.set(k, b);
          break;
        }
        case 'approval.consume': {
          const a = this.approvals.get(e.approvalId);
          if (a) this.approvals.set(a.id, { ...a, usesLeft: a.usesLeft - 1 });
          break;
        }
        case 'proposal.record':
          this.proposals.push({ agent: e.agent, actionDigest: e.actionDigest });
          break;
        case 'violation.record':
          this.violations.set(e.agent, [...(this.violations.get(e.agent) ?? []), now]);
          break;
        case 'mutation.record':
          this.mutations.set(e.agent, [...(this.mutations.get(e.agent) ?? []), now]);
          break;
        case 'breaker.trip':
          this.breakers.set(`${e.scope}:${e.key}`, { state: 'open', reason: e.reason, since: now });
          break;
        case 'breaker.close':
          this.breakers.set(`${e.scope}:${e.key}`, { state: 'closed', since: now });
          break;
        case 'field.record': {
          const k = `${e.objectKey}#${e.field}`;
          this.fields.set(k, [...(this.fields.get(k) ?? []), { value: e.value, at: now, actor: e.actor }]);
          break;
        }
        case 'chain.record': {
          const k = `${e.chainId}/${e.parent}`;
          this.chains.set(k, [...(this.chains.get(k) ?? []), e.callee]);
          break;
        }
      }
    }
    return { ok: true };
  }

  /** A human's reset: the breaker goes half-open (probation) rather than straight to closed. */
  reset(scope: BreakerScope, key: string, now: number): void {
    this.breakers.set(`${scope}:${key}`, { state: 'half-open', since: now });
  }
}
