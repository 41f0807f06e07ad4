import { objectKey } from '../action.ts';
import type { DecisionContext } from '../context.ts';
import { RULES } from '../decision.ts';

export interface BudgetProjection {
  readonly budgetId: string;
  /** Fraction of the tightest limit used once this action counts. */
  readonly fraction: number;
}

/** Per-window mutation counts and blast radius (distinct objects). Returns usage after this action. */
export function checkBudgets(ctx: DecisionContext): BudgetProjection[] {
  if (!ctx.mutation || ctx.agent.budgets.length === 0) return [];
  const key = objectKey(ctx.action.target);
  const out: BudgetProjection[] = [];
  for (const b of ctx.agent.budgets) {
    const windowStart = Math.floor(ctx.now / b.windowMs) * b.windowMs;
    const usage = ctx.state.budgetUsage(b.id, windowStart, key);
    // Only a refusal names the reset time; formatting a date on every write is the costliest step here.
    const resets = () => new Date(windowStart + b.windowMs).toISOString();
    let fraction = 0;
    if (b.maxMutations !== undefined) {
      const after = usage.mutations + 1;
      if (after > b.maxMutations) {
        ctx.deny(
          RULES.budgetMutations,
          `${ctx.agent.name} has used ${usage.mutations} of ${b.maxMutations} mutations allowed per ${b.window}; ${ctx.describe()} is refused until the window resets at ${resets()}, or a human raises spec.boundary.budgets.`,
        );
      }
      fraction = Math.max(fraction, b.maxMutations === 0 ? 1 : after / b.maxMutations);
    }
    if (b.maxDistinctObjects !== undefined) {
      const after = usage.distinctObjects + (usage.includesObject ? 0 : 1);
      if (after > b.maxDistinctObjects) {
        ctx.deny(
          RULES.budgetObjects,
          `${ctx.agent.name} has already touched ${usage.distinctObjects} distinct objects, its blast-radius limit per ${b.window} (${b.maxDistinctObjects}); ${key} would be one more. Wait until ${resets()} or ask for a wider budget.`,
        );
      }
      fraction = Math.max(fraction, b.maxDistinctObjects === 0 ? 1 : after / b.maxDistinctObjects);
    }
    out.push({ budgetId: b.id, fraction });
  }
  return out;
}

export function budgetEffects(ctx: DecisionContext): void {
  if (!ctx.mutation || ctx.action.dryRun) return;
  const key = objectKey(ctx.action.target);
  for (const b of ctx.agent.budgets) {
    ctx.effects.push({
      kind: 'budget.consume',
      agent: ctx.agent.name,
      budgetId: b.id,
      windowStart: Math.floor(ctx.now / b.windowMs) * b.windowMs,
      windowMs: b.windowMs,
      objectKey: key,
      maxMutations: b.maxMutations,
      maxDistinctObjects: b.maxDistinctObjects,
    });
  }
}
