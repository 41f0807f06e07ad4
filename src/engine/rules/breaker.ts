import { canonicalJson } from '../../common/canonical-json.ts';
import { objectKey } from '../action.ts';
import type { DecisionContext } from '../context.ts';
import { RULES } from '../decision.ts';
import type { FieldChange } from '../state.ts';

const resetHint = (agent: string, owner: string) =>
  `Its owner (${owner}) or an authorised human must reset it: tether breakers reset ${agent} --reason "…".`;

/** An open breaker refuses everything the agent mutates; the rate limit is a breaker condition too. */
export function checkBreaker(ctx: DecisionContext): void {
  const { agent } = ctx;
  const status = ctx.state.breaker('agent', agent.name);
  if (status.state === 'open' && ctx.mutation) {
    ctx.deny(
      RULES.breakerOpen,
      `${agent.name}'s circuit breaker is open${status.reason ? ` (${status.reason})` : ''}; it may not ${ctx.describe()}. ${resetHint(agent.name, agent.spec.owner.id)}`,
    );
  }
  const rate = agent.spec.breaker?.maxMutationsPerMinute;
  if (rate !== undefined && ctx.mutation) {
    const recent = ctx.state.mutationsSince(agent.name, ctx.now - 60_000);
    if (recent + 1 > rate) {
      ctx.deny(
        RULES.rateLimit,
        `${agent.name} made ${recent} mutations in the last minute, its limit is ${rate}: runaway behaviour is stopped. ${resetHint(agent.name, agent.spec.owner.id)}`,
      );
      ctx.effects.push({
        kind: 'breaker.trip',
        scope: 'agent',
        key: agent.name,
        rule: RULES.rateLimit,
        reason: `rate: more than ${rate} mutations per minute`,
      });
    }
  }
}

/** The canonical JSON of a dotted field path's value, or undefined when the object lacks it. */
export function fieldValue(obj: unknown, path: string): string | undefined {
  let cur: unknown = obj;
  for (const seg of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur === undefined ? undefined : canonicalJson(cur);
}

/** A→B→A counts as one flip: the value returned to where it was two changes ago. */
export function countFlips(values: readonly string[]): number {
  let flips = 0;
  for (let i = 2; i < values.length; i++) if (values[i] === values[i - 2] && values[i] !== values[i - 1]) flips++;
  return flips;
}

/**
 * Control loops that amplify each other show up as the same field flipped back and forth,
 * by this agent, another agent or a controller (their changes reach the history through audit).
 */
export function checkOscillation(ctx: DecisionContext): void {
  const osc = ctx.agent.spec.breaker?.oscillation;
  const windowMs = ctx.agent.oscillationWindowMs;
  if (!osc || windowMs === undefined || !ctx.mutation || ctx.action.object === undefined) return;
  const key = objectKey(ctx.action.target);
  for (const field of osc.fields) {
    const next = fieldValue(ctx.action.object, field);
    if (next === undefined) continue;
    const history: readonly FieldChange[] = ctx.state.fieldHistory(key, field, ctx.now - windowMs);
    const prev = history.length > 0 ? history[history.length - 1]?.value : fieldValue(ctx.action.oldObject, field);
    if (prev === next) continue;
    const values = history.map((h) => h.value);
    if (values.length === 0 && prev !== undefined) values.push(prev);
    values.push(next);
    const flips = countFlips(values);
    if (flips >= osc.maxFlips) {
      const actors = [...new Set(history.map((h) => h.actor))].join(', ');
      const reason = `oscillation: ${key} ${field} flipped ${flips} times within ${osc.window} (actors: ${actors || ctx.agent.name})`;
      ctx.deny(
        RULES.oscillation,
        `${ctx.agent.name} may not change ${field} of ${key} again: ${reason}. Control loops are fighting; ${resetHint(ctx.agent.name, ctx.agent.spec.owner.id)}`,
      );
      ctx.effects.push({ kind: 'breaker.trip', scope: 'agent', key: ctx.agent.name, rule: RULES.oscillation, reason });
    }
    ctx.effects.push({ kind: 'field.record', objectKey: key, field, value: next, actor: ctx.agent.name });
  }
}

/** Repeated refusals trip the breaker; a refusal while half-open trips it again at once. */
export function breakerAfterRefusal(ctx: DecisionContext, rule: (typeof RULES)[keyof typeof RULES]): void {
  const { agent } = ctx;
  if (ctx.effects.some((e) => e.kind === 'breaker.trip' && e.scope === 'agent')) return;
  ctx.effects.push({ kind: 'violation.record', agent: agent.name, rule });
  const status = ctx.state.breaker('agent', agent.name);
  if (status.state === 'open') return;
  if (status.state === 'half-open') {
    ctx.effects.push({
      kind: 'breaker.trip',
      scope: 'agent',
      key: agent.name,
      rule,
      reason: `refused while on probation after a reset (${rule})`,
    });
    return;
  }
  const max = agent.spec.breaker?.maxViolations;
  if (max === undefined) return;
  const recent = ctx.state.violationsSince(agent.name, ctx.now - agent.breakerWindowMs) + 1;
  if (recent >= max) {
    ctx.effects.push({
      kind: 'breaker.trip',
      scope: 'agent',
      key: agent.name,
      rule,
      reason: `${recent} refusals within ${agent.spec.breaker?.window ?? '5m'} (last: ${rule})`,
    });
  }
}
