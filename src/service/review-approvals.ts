// What a human needs to decide on a pending action in seconds: who asks, why, in which chain,
// the change itself as a diff, the rule that asked for review, the time left, and whether this
// human may decide. Read-only; verdicts go through Governor.approve/deny.
import type { Target, ToolCall, ChainContext } from '../engine/action.ts';
import { mayApprove } from '../engine/approvers.ts';
import type { LedgerLeaf } from '../ledger/leaf.ts';
import type { CompiledPolicy } from '../policy/compile.ts';
import type { Store, StoredApproval } from '../store/store.ts';
import { type ObjectDiff, objectDiff } from './object-diff.ts';

export interface ReviewerStanding {
  /** This human may give a verdict now. */
  readonly mayDecide: boolean;
  readonly why?: string;
  readonly alreadyApproved: boolean;
}

/**
 * An approval as a reviewer sees it: its binding digest keyed by `PresentApproval`, never the
 * store's plain sha256, which could be brute-forced when the action wrote a weak Secret.
 */
export type ShownApproval = StoredApproval;

export interface QueuedApproval extends ShownApproval {
  readonly ttlLeftMs: number;
  readonly waitingOnYou: boolean;
}

export interface ApprovalDetail {
  readonly approval: ShownApproval;
  readonly ttlLeftMs: number;
  readonly agent?: {
    readonly name: string;
    readonly owner?: string;
    readonly authorityClass?: string;
    readonly mode?: string;
  };
  /** From the ledger entry that opened the request. */
  readonly request?: {
    readonly ledgerIndex: number;
    readonly time: string;
    readonly source?: string;
    readonly verb?: string;
    readonly target?: Target;
    readonly tool?: ToolCall;
    readonly intent?: LedgerLeaf['intent'];
    readonly chain?: ChainContext;
    readonly rules: readonly string[];
    readonly message?: string;
  };
  readonly diff: ObjectDiff;
  readonly you: ReviewerStanding;
}

function standing(viewer: string, a: StoredApproval, policy: CompiledPolicy, now: number): ReviewerStanding {
  const alreadyApproved = a.approvedBy.includes(viewer);
  if (a.status !== 'pending') return { mayDecide: false, why: `it is ${a.status}`, alreadyApproved };
  if (a.expiresAt <= now) return { mayDecide: false, why: 'it expired; the agent must ask again', alreadyApproved };
  if (alreadyApproved)
    return { mayDecide: false, why: 'you approved it already; it waits for others', alreadyApproved };
  const agent = policy.agents.get(a.agent);
  if (!agent) return { mayDecide: false, why: `agent ${a.agent} is no longer registered`, alreadyApproved };
  const v = mayApprove(viewer, agent, policy);
  return v.ok ? { mayDecide: true, alreadyApproved } : { mayDecide: false, why: v.why, alreadyApproved };
}

/** How an approval leaves the server: its binding digest keyed (ApiReads.presentApproval), never the store's plain one. */
export type PresentApproval = (a: StoredApproval) => StoredApproval;

/** Pending, unexpired requests, newest first, each marked when it waits on this human's verdict. */
export async function approvalQueue(
  store: Store,
  policy: CompiledPolicy,
  viewer: string,
  now: number,
  present: PresentApproval,
): Promise<{ approvals: QueuedApproval[]; waitingOnYou: number }> {
  const pending = (await store.approvals({ status: 'pending' })).filter((a) => a.expiresAt > now);
  const approvals = pending.map((a) => ({
    ...present(a),
    ttlLeftMs: a.expiresAt - now,
    waitingOnYou: standing(viewer, a, policy, now).mayDecide,
  }));
  return { approvals, waitingOnYou: approvals.filter((a) => a.waitingOnYou).length };
}

export async function approvalDetail(
  store: Store,
  policy: CompiledPolicy,
  id: string,
  viewer: string,
  now: number,
  present: PresentApproval,
): Promise<ApprovalDetail | undefined> {
  const approval = await store.approval(id);
  if (!approval) return undefined;
  const [opened] = await store.entries(approval.requestIndex, approval.requestIndex + 1);
  const leaf = opened?.leaf;
  const compiled = policy.agents.get(approval.agent);
  return {
    approval: present(approval),
    ttlLeftMs: Math.max(0, approval.expiresAt - now),
    agent: {
      name: approval.agent,
      owner: leaf?.owner ?? compiled?.spec.owner.id,
      authorityClass: leaf?.authorityClass ?? compiled?.authorityClass,
      mode: compiled?.mode,
    },
    request: leaf && {
      ledgerIndex: approval.requestIndex,
      time: leaf.time,
      source: leaf.source,
      verb: leaf.verb,
      target: leaf.target,
      tool: leaf.tool,
      intent: leaf.intent,
      chain: leaf.chain,
      rules: leaf.rules ?? approval.rules,
      message: leaf.message,
    },
    diff: objectDiff(await store.requestedObjects(id)),
    you: standing(viewer, approval, policy, now),
  };
}
