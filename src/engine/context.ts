import type { CompiledAgent, CompiledPolicy } from '../policy/compile.ts';
import type { Action } from './action.ts';
import type { Effect, Reason, RuleId } from './decision.ts';
import { actionDigest } from './digest.ts';
import type { BudgetProjection } from './rules/budget.ts';
import type { ClusterView } from './cluster-view.ts';
import type { StateView } from './state.ts';

/** One decision in progress: rule families read the inputs and add refusals, reviews, warnings and effects. */
export class DecisionContext {
  readonly action: Action;
  readonly policy: CompiledPolicy;
  readonly state: StateView;
  readonly now: number;
  readonly agent: CompiledAgent;
  readonly mutation: boolean;
  /** Who can do what in the cluster; undefined where no view is kept (containment then fails closed). */
  readonly cluster: ClusterView | undefined;
  readonly denials: Reason[] = [];
  /** Refusals that a human can lift by approving (supervised class, review triggers). */
  readonly reviews: Reason[] = [];
  readonly warnings: Reason[] = [];
  readonly effects: Effect[] = [];
  /** Refusals that are recorded as proposals (advisory class, protected objects). */
  readonly proposals: RuleId[] = [];
  /** Refusals the agent could not have avoided (the API server's own checks): no breaker strike. */
  readonly unavoidable = new Set<Reason>();
  /** Set by the self-modification family: a self-tuning change is judged by its limits, not the boundary. */
  selfTuning = false;
  /** Budget usage after this action, for review triggers. */
  budgets: readonly BudgetProjection[] = [];
  #digest: string | undefined;

  constructor(
    action: Action,
    policy: CompiledPolicy,
    state: StateView,
    now: number,
    agent: CompiledAgent,
    mutation: boolean,
    cluster?: ClusterView,
  ) {
    this.action = action;
    this.policy = policy;
    this.state = state;
    this.now = now;
    this.agent = agent;
    this.mutation = mutation;
    this.cluster = cluster;
  }

  deny(rule: RuleId, message: string): void {
    this.denials.push({ rule, message });
  }

  denyUnavoidable(rule: RuleId, message: string): void {
    const r = { rule, message };
    this.denials.push(r);
    this.unavoidable.add(r);
  }

  review(rule: RuleId, message: string): void {
    this.reviews.push({ rule, message });
  }

  warn(rule: RuleId, message: string): void {
    this.warnings.push({ rule, message });
  }

  propose(rule: RuleId, message: string): void {
    this.proposals.push(rule);
    this.denials.push({ rule, message });
  }

  /** Computed only when an approval or proposal needs it: hashing the object is the costliest step. */
  get digest(): string {
    this.#digest ??= actionDigest(this.action);
    return this.#digest;
  }

  get hasDigest(): boolean {
    return this.#digest !== undefined;
  }

  /** "update deployments/scale shop/web" — how messages name the action. */
  describe(): string {
    const t = this.action.target;
    const res = `${t.resource}${t.subresource ? `/${t.subresource}` : ''}${t.group ? `.${t.group}` : ''}`;
    const where = t.namespace ? ` in namespace ${t.namespace}` : '';
    return `${this.action.verb} ${res}${t.name ? ` ${t.name}` : ''}${where}`;
  }
}
