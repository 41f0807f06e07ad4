import type { DeclaredTarget, Target } from '../action.ts';
import type { DecisionContext } from '../context.ts';
import { RULES } from '../decision.ts';

function covers(d: DeclaredTarget, t: Target): boolean {
  if (d.namespace !== undefined && d.namespace !== (t.namespace ?? '')) return false;
  if (d.name !== undefined && d.name !== (t.name ?? '')) return false;
  if (d.resource !== undefined) {
    const full = t.subresource ? `${t.resource}/${t.subresource}` : t.resource;
    if (d.resource !== t.resource && d.resource !== full) return false;
  }
  return true;
}

/** Mutations carry a why; a mutation outside the targets it declared is flagged. */
export function checkIntent(ctx: DecisionContext): void {
  if (!ctx.mutation) return;
  const intent = ctx.action.intent;
  if (!intent || intent.summary.trim() === '') {
    if (ctx.agent.intentRequired) {
      ctx.deny(
        RULES.intentMissing,
        `${ctx.agent.name} must say why before it may ${ctx.describe()}: declare intent with at least a summary: the object annotation tether.dev/intent, MCP _meta "tether.dev/intent", or, for writes that cannot carry an annotation (kubectl scale, delete), POST /v1/intents first.`,
      );
    }
    return;
  }
  const targets = intent.targets ?? [];
  if (targets.length === 0 || targets.some((d) => covers(d, ctx.action.target))) return;
  const declared = targets.map((d) => `${d.namespace ?? '*'}/${d.resource ?? '*'}/${d.name ?? '*'}`).join(', ');
  const message = `${ctx.describe()} lies outside the targets ${ctx.agent.name} declared in its intent (${declared}).`;
  switch (ctx.policy.governance.spec.intentMismatch ?? 'warn') {
    case 'deny':
      ctx.deny(RULES.intentMismatch, `${message} Declare the target or stay within it.`);
      break;
    case 'review':
      ctx.review(RULES.intentMismatch, `${message} A human must confirm it.`);
      break;
    case 'warn':
      ctx.warn(RULES.intentMismatch, message);
  }
}
