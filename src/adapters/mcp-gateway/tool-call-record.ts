// The ledger's 'tool-result' leaf (built by src/ledger/leaves.ts): what became of one tools/call
// after its Actions were decided. It links the decision entries by index and keeps digests and
// statuses, never tool output (it may hold anything, Secrets included).
import type { ChainContext, Intent, ToolCall } from '../../engine/action.ts';
import type { AgentRef, Outcome } from '../../engine/decision.ts';
import type { LedgerLeaf } from '../../ledger/leaf.ts';
import { toolResultLeaf as buildToolResultLeaf } from '../../ledger/leaves.ts';

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

export function toolResultLeaf(
  r: CallRecord,
  outcome: { status: CallStatus; latencyMs: number; upstreamMs?: number; error?: string },
  now: number,
): LedgerLeaf {
  const { governed: _, ...facts } = r;
  return buildToolResultLeaf({ ...facts, ...outcome }, now);
}
