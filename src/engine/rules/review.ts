import type { DecisionContext } from '../context.ts';
import { RULES } from '../decision.ts';
import type { BudgetProjection } from './budget.ts';
import { celBindings, resourceMatch } from './boundary.ts';

/** Authority class: advisory proposes, supervised asks per action, autonomous and self-tuning act. */
export function checkAuthority(ctx: DecisionContext): void {
  if (!ctx.mutation) return;
  const { agent } = ctx;
  if (agent.authorityClass === 'advisory') {
    ctx.propose(
      RULES.advisory,
      `${agent.name} is advisory: it may read and propose, not ${ctx.describe()}. The change was recorded as a proposal for ${agent.spec.owner.id} to review (tether proposals list).`,
    );
  } else if (agent.authorityClass === 'supervised') {
    ctx.review(RULES.supervised, `${agent.name} is supervised: ${ctx.describe()} needs a human's approval.`);
  }
}

/** Conditions that turn an action into a pending approval instead of a refusal. All given criteria must hold. */
export function checkReviewTriggers(ctx: DecisionContext, budgets: readonly BudgetProjection[]): void {
  if (!ctx.mutation) return;
  for (const t of ctx.agent.reviewTriggers) {
    if (t.budgetAbove !== undefined && !budgets.some((b) => b.fraction > (t.budgetAbove as number))) continue;
    if (t.match && !resourceMatch(t.match, ctx.action)) continue;
    if (t.program) {
      const r = t.program(celBindings(ctx.action));
      if ('error' in r) {
        ctx.review(
          RULES.reviewTrigger,
          `review trigger ${t.name} could not be evaluated (${r.error}); a human must look.`,
        );
        continue;
      }
      if (!r.value) continue;
    }
    ctx.review(
      RULES.reviewTrigger,
      `${ctx.describe()} needs a human's approval: review trigger ${t.name}${t.message ? ` (${t.message})` : ''}.`,
    );
  }
}
