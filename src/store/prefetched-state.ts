import type { BreakerScope } from '../engine/decision.ts';
import type { ApprovalRecord, BreakerStatus, BudgetUsage, FieldChange, StateView } from '../engine/state.ts';

/** What a store read for one action; every question the engine may ask about it has its answer here. */
export interface Prefetched {
  readonly kill: { readonly engaged: boolean; readonly reason?: string };
  readonly breakers: ReadonlyMap<string, BreakerStatus>;
  /** `${budgetId}@${windowStart}@${objectKey}` */
  readonly budgets: ReadonlyMap<string, BudgetUsage>;
  readonly approvals: readonly ApprovalRecord[];
  /** `${agent}@${since}` */
  readonly violations: ReadonlyMap<string, number>;
  readonly mutations: ReadonlyMap<string, number>;
  /** `${objectKey}#${field}@${since}` */
  readonly fields: ReadonlyMap<string, readonly FieldChange[]>;
  /** `${chainId}/${parent}` */
  readonly callees: ReadonlyMap<string, readonly string[]>;
}

/**
 * The synchronous StateView the engine reads, answered from one prefetch. A question the
 * prefetch did not foresee is a bug between the store and the engine: it throws rather than
 * answer "nothing", which would quietly lift a limit.
 */
export class PrefetchedState implements StateView {
  readonly #p: Prefetched;

  constructor(p: Prefetched) {
    this.#p = p;
  }

  killSwitch() {
    return this.#p.kill;
  }

  breaker(scope: BreakerScope, key: string): BreakerStatus {
    return this.#p.breakers.get(`${scope}:${key}`) ?? notPrefetched(`breaker ${scope}:${key}`);
  }

  budgetUsage(budgetId: string, windowStart: number, objectKey: string): BudgetUsage {
    return (
      this.#p.budgets.get(`${budgetId}@${windowStart}@${objectKey}`) ??
      notPrefetched(`budget ${budgetId} window ${windowStart}`)
    );
  }

  approval(id: string): ApprovalRecord | undefined {
    return this.#p.approvals.find((a) => a.id === id);
  }

  approvalFor(agent: string, actionDigest: string): ApprovalRecord | undefined {
    return this.#p.approvals.find(
      (a) => a.agent === agent && a.actionDigest === actionDigest && a.status === 'approved',
    );
  }

  violationsSince(agent: string, since: number): number {
    return this.#p.violations.get(`${agent}@${since}`) ?? notPrefetched(`violations of ${agent} since ${since}`);
  }

  mutationsSince(agent: string, since: number): number {
    return this.#p.mutations.get(`${agent}@${since}`) ?? notPrefetched(`mutations of ${agent} since ${since}`);
  }

  fieldHistory(objectKey: string, field: string, since: number): readonly FieldChange[] {
    return (
      this.#p.fields.get(`${objectKey}#${field}@${since}`) ??
      notPrefetched(`history of ${objectKey} ${field} since ${since}`)
    );
  }

  chainCallees(chainId: string, parent: string): readonly string[] {
    return this.#p.callees.get(`${chainId}/${parent}`) ?? notPrefetched(`callees of ${chainId}/${parent}`);
  }
}

function notPrefetched(what: string): never {
  throw new Error(
    `state not prefetched: ${what} (the store's stateFor and the engine disagree on what a decision reads)`,
  );
}
