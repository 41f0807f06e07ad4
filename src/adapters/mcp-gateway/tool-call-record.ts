// The ledger's 'tool-result' leaf: what became of one tools/call after its Actions were decided.
// It links the decision entries by index and keeps digests and statuses, never tool output
// (it may hold anything, Secrets included).
import { digestOf } from '../../common/digest.ts';
import type { ChainContext, Intent, ToolCall } from '../../engine/action.ts';
import type { AgentRef, Outcome } from '../../engine/decision.ts';
import type { LedgerLeaf } from '../../ledger/leaf.ts';

/** ok: the tool ran; tool-error: it ran and reported isError; protocol-error: no result came back; cancelled: the agent withdrew it. */
export type CallStatus = 'ok' | 'tool-error' | 'protocol-error' | 'cancelled' | 'refused' | 'pending' | 'invalid';

export interface CallRecord {
  /** False when the caller is no agent at all: Tether has no opinion and records nothing. */
  readonly governed: boolean;
  readonly agent?: AgentRef;
  readonly tool: ToolCall;
  /** The name the agent called it by (namespaced when several servers offer the same name). */
  readonly exposedName: string;
  readonly intent?: Intent;
  readonly chain?: ChainContext;
  readonly outcome?: Outcome;
  readonly rules: readonly string[];
  readonly decisionIndexes: readonly number[];
  readonly approvals: readonly string[];
  readonly policyVersion?: string;
  readonly requestId: string;
}

const MAX_ERROR_TEXT = 300;

export function toolResultLeaf(r: CallRecord, outcome: { status: CallStatus; latencyMs: number; upstreamMs?: number; error?: string }, now: number): LedgerLeaf {
  const intent = r.intent;
  return {
    v: 1,
    time: new Date(now).toISOString(),
    kind: 'tool-result',
    agent: r.agent?.name,
    owner: r.agent?.owner,
    authorityClass: r.agent?.authorityClass,
    source: 'mcp',
    tool: r.tool,
    intent: intent && { summary: intent.summary, trigger: intent.trigger, goal: intent.goal, targets: intent.targets },
    intentDigest: intent && digestOf(intent),
    chain: r.chain,
    decision: r.outcome,
    rules: r.rules.length > 0 ? r.rules : undefined,
    policyVersion: r.policyVersion,
    approvals: r.approvals.length > 0 ? r.approvals : undefined,
    auditId: r.requestId,
    detail: {
      status: outcome.status,
      exposedName: r.exposedName,
      decisions: r.decisionIndexes,
      latencyMs: round(outcome.latencyMs),
      upstreamMs: outcome.upstreamMs === undefined ? undefined : round(outcome.upstreamMs),
      error: outcome.error === undefined ? undefined : outcome.error.slice(0, MAX_ERROR_TEXT),
    },
  };
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
