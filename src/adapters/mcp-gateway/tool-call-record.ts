// The ledger's 'tool-result' leaf (built by src/ledger/leaves.ts): what became of one tools/call
// after its Actions were decided. It links the decision entries by index and keeps digests and
// statuses, never tool output (it may hold anything, Secrets included).
import type { LedgerLeaf } from '../../ledger/leaf.ts';
import {
  toolResultLeaf as buildToolResultLeaf,
  type ToolCallFacts,
  type ToolCallOutcome,
} from '../../ledger/leaves.ts';

/** ok: the tool ran; tool-error: it ran and reported isError; protocol-error: no result came back; cancelled: the agent withdrew it. */
export type CallStatus = 'ok' | 'tool-error' | 'protocol-error' | 'cancelled' | 'refused' | 'pending' | 'invalid';

export interface CallRecord extends ToolCallFacts {
  /** False when the caller is no agent at all: Tether has no opinion and records nothing. */
  readonly governed: boolean;
}

export function toolResultLeaf(
  r: CallRecord,
  outcome: ToolCallOutcome & { status: CallStatus },
  now: number,
): LedgerLeaf {
  const { governed: _, ...facts } = r;
  return buildToolResultLeaf({ ...facts, ...outcome }, now);
}
