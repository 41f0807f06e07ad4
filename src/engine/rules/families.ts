// The rule families, in the order they run: what each checks, what it reads beyond the action and
// the policy, which spec paths widen what it allows (a boundary expansion, human review), and how
// `tether explain` states it. decide() walks this list; nothing else orders the rules.
import type { CompiledAgent } from '../../policy/compile.ts';
import type { DecisionContext } from '../context.ts';
import { checkBoundary } from './boundary.ts';
import { checkBreaker, checkOscillation } from './breaker.ts';
import { checkBudgets } from './budget.ts';
import { checkChain } from './chain.ts';
import { checkGrant, checkIdentityVerbs, checkRunAs } from './containment.ts';
import { checkIntent } from './intent.ts';
import { checkAuthority, checkReviewTriggers } from './review.ts';
import { checkSelfModification } from './self-modification.ts';

/** Facts a family reads: store state prefetched per action, or the cluster view. */
export type StateNeed =
  | 'owner'
  | 'kill-switch'
  | 'breaker'
  | 'rate'
  | 'violations'
  | 'chain-callees'
  | 'budgets'
  | 'approvals'
  | 'field-history'
  | 'cluster-view';

export interface RuleFamily {
  readonly id: string;
  /** Runs it; absent for the gate families decide() settles before a context exists (accountability). */
  readonly check?: (ctx: DecisionContext) => void;
  readonly needs: readonly StateNeed[];
  /** Agent spec paths whose growth widens what this family allows. */
  readonly widens: readonly string[];
  /** What it means for this agent, in words; undefined when it says nothing beyond the spec lines. */
  readonly explain?: (agent: CompiledAgent) => string | undefined;
}

const unlessSelfTuning = (check: (ctx: DecisionContext) => void) => (ctx: DecisionContext) => {
  if (!ctx.selfTuning) check(ctx);
};

export const RULE_FAMILIES: readonly RuleFamily[] = [
  {
    id: 'accountability',
    needs: ['owner'],
    widens: ['spec.owner', 'spec.identities', 'spec.approvers'],
    explain: (a) => `No owner, no access: ${a.name} acts only while ${a.spec.owner.id} is an active owner.`,
  },
  { id: 'breaker', check: checkBreaker, needs: ['kill-switch', 'breaker', 'rate'], widens: ['spec.breaker'] },
  { id: 'chain', check: checkChain, needs: ['chain-callees'], widens: ['spec.boundary.chain'] },
  {
    id: 'self-modification',
    check: (ctx) => {
      ctx.selfTuning = checkSelfModification(ctx);
    },
    needs: [],
    widens: ['spec.selfTuning', 'spec.workloads'],
  },
  {
    id: 'boundary',
    check: unlessSelfTuning(checkBoundary),
    needs: [],
    widens: [
      'spec.boundary.namespaces',
      'spec.boundary.rules',
      'spec.boundary.rules[].fields',
      'spec.boundary.conditions',
      'spec.boundary.protected',
      'spec.boundary.freezes',
      'spec.boundary.changeWindows',
    ],
    explain: explainFields,
  },
  {
    id: 'containment',
    check: unlessSelfTuning((ctx) => {
      checkRunAs(ctx);
      checkGrant(ctx);
      checkIdentityVerbs(ctx);
    }),
    needs: ['cluster-view'],
    widens: ['spec.boundary.runAs', 'spec.boundary.rules'],
    explain: explainRunAs,
  },
  { id: 'intent', check: checkIntent, needs: [], widens: ['spec.intent'] },
  { id: 'authority', check: checkAuthority, needs: [], widens: ['spec.authorityClass'] },
  {
    id: 'budget',
    check: (ctx) => {
      ctx.budgets = checkBudgets(ctx);
    },
    needs: ['budgets'],
    widens: ['spec.boundary.budgets'],
  },
  {
    id: 'review',
    check: (ctx) => checkReviewTriggers(ctx, ctx.budgets),
    needs: ['approvals'],
    widens: ['spec.reviewTriggers'],
  },
  {
    id: 'oscillation',
    check: (ctx) => {
      if (ctx.denials.length === 0) checkOscillation(ctx);
    },
    needs: ['field-history'],
    widens: ['spec.breaker.oscillation'],
  },
];

function explainRunAs(agent: CompiledAgent): string {
  const runAs = agent.spec.boundary?.runAs ?? [];
  return `Workload identity: pods it creates or changes may run as ${runAs.length ? runAs.join(', ') : 'no listed account'}${runAs.length ? ' whatever they may do; any other service account' : '; a service account'} must hold nothing beyond this boundary. Roles, bindings, tokens, impersonation and exec into pods are judged the same way.`;
}

function explainFields(agent: CompiledAgent): string | undefined {
  const scoped = (agent.spec.boundary?.rules ?? []).filter((r) => r.fields?.length);
  if (scoped.length === 0) return undefined;
  return `Field scope: ${scoped.map((r) => `updates through ${r.verbs.join(',')} ${r.resources.join(',')} may change only ${(r.fields ?? []).join(', ')}`).join('; ')}.`;
}
