import assert from 'node:assert/strict';
import type { Decision, RuleId } from '../../src/engine/decision.ts';

/** Asserts the outcome and, when given, that the rule is among the reasons. */
export function expectDecision(d: Decision, outcome: Decision['outcome'], rule?: RuleId): void {
  const rules = d.reasons.map((r) => r.rule);
  assert.equal(d.outcome, outcome, `expected ${outcome}, got ${d.outcome}: ${JSON.stringify(d.reasons)}`);
  if (rule) assert.ok(rules.includes(rule), `expected rule ${rule} among ${rules.join(', ') || 'no reasons'}`);
  for (const r of d.reasons) assert.ok(r.message.length > 20, `reason ${r.rule} has a message a person can act on`);
}

export function rulesOf(d: Decision): string[] {
  return d.reasons.map((r) => r.rule);
}
