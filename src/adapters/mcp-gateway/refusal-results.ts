// Tool results for calls the gateway did not forward. They are tool results (isError), not
// protocol errors, so the model reads them and can act: say why, fix the call, or ask a human.
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Decision, Reason } from '../../engine/decision.ts';
import { APPROVAL_KEY } from '../shared/context-carriers.ts';

export const DECISION_META_KEY = 'tether.dev/decision';

export interface DecidedAction {
  readonly description: string;
  readonly decision: Decision;
  readonly ledgerIndex?: number;
  readonly approvalId?: string;
}

const bullet = (r: Reason) => `- ${r.message} [${r.rule}]`;

function decisionMeta(outcome: string, decided: readonly DecidedAction[]): Record<string, unknown> {
  return {
    outcome,
    decisions: decided.map((d) => ({
      action: d.description,
      outcome: d.decision.outcome,
      rules: d.decision.reasons.map((r) => r.rule),
      ledgerIndex: d.ledgerIndex,
      approvalId: d.approvalId,
    })),
  };
}

export function refusedResult(tool: string, decided: readonly DecidedAction[], notDecided: number): CallToolResult {
  const refusals = decided.filter((d) => d.decision.outcome === 'deny');
  const lines = [
    `Tether refused this call to ${tool}; nothing was sent to the tool.`,
    ...refusals.flatMap((d) => d.decision.reasons.map(bullet)),
  ];
  if (notDecided > 0)
    lines.push(`(${notDecided} further operation(s) of this call were not decided once one was refused.)`);
  return {
    isError: true,
    content: [{ type: 'text', text: lines.join('\n') }],
    _meta: { [DECISION_META_KEY]: decisionMeta('deny', decided) },
  };
}

export function pendingResult(tool: string, decided: readonly DecidedAction[]): CallToolResult {
  const pending = decided.filter((d) => d.decision.outcome === 'pending');
  const ids = pending.map((d) => d.approvalId).filter((id): id is string => id !== undefined);
  const lines = [`Tether is holding this call to ${tool} for a human's approval; nothing was sent to the tool yet.`];
  for (const d of pending) {
    if (d.decision.outcome !== 'pending') continue;
    const ask = d.decision.approval;
    lines.push(`- approval ${d.approvalId ?? '(not opened)'}: ${ask.summary}`);
    lines.push(...d.decision.reasons.map((r) => `  ${bullet(r)}`));
    lines.push(
      `  approvers: ${ask.approvers.join(', ') || 'none configured'}${ask.minApprovals > 1 ? ` (${ask.minApprovals} needed)` : ''}`,
    );
  }
  const carrier = JSON.stringify({ [APPROVAL_KEY]: ids.length === 1 ? ids[0] : ids });
  lines.push(
    `Once approved, retry exactly this call (same tool, same arguments) with _meta ${carrier}. An approval covers only that exact call.`,
  );
  return {
    isError: true,
    content: [{ type: 'text', text: lines.join('\n') }],
    _meta: { [DECISION_META_KEY]: decisionMeta('pending', decided), [APPROVAL_KEY]: { status: 'pending', ids } },
  };
}

/** The call could not be read well enough to decide it: a malformed intent, chain, approval or target argument. */
export function invalidCallResult(tool: string, problem: string): CallToolResult {
  return {
    isError: true,
    content: [
      {
        type: 'text',
        text: `Tether could not tell what this call to ${tool} would do, so it was not sent: ${problem}`,
      },
    ],
    _meta: { [DECISION_META_KEY]: { outcome: 'invalid', problem } },
  };
}

/** Allowed calls keep the upstream's result; audit-mode and intent warnings ride along in _meta. */
export function withDecisionMeta<T extends { _meta?: Record<string, unknown> }>(
  result: T,
  decided: readonly DecidedAction[],
): T {
  const warnings = decided.flatMap((d) => d.decision.warnings);
  if (warnings.length === 0) return result;
  return {
    ...result,
    _meta: {
      ...(result._meta ?? {}),
      [DECISION_META_KEY]: {
        ...decisionMeta('allow', decided),
        warnings: warnings.map((w) => ({ rule: w.rule, message: w.message })),
      },
    },
  };
}
