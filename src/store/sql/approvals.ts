import { approvalVerdictLeaf } from '../../ledger/leaves.ts';
import type { ApprovalStatus } from '../../engine/state.ts';
import type { HumanVerdict, Refusal, StoredApproval, StoredProposal } from '../store.ts';
import type { Row } from './driver.ts';
import type { WriteBatch } from './write-batch.ts';

export function toApproval(r: Row): StoredApproval {
  return {
    id: r.id as string,
    agent: r.agent as string,
    actionDigest: r.action_digest as string,
    status: r.status as ApprovalStatus,
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
    ttlMs: Number(r.ttl_ms),
    usesLeft: Number(r.uses_left),
    minApprovals: Number(r.min_approvals),
    approvers: JSON.parse(r.approvers as string) as string[],
    approvedBy: JSON.parse(r.approved_by as string) as string[],
    summary: r.summary as string,
    rules: JSON.parse(r.rules as string) as string[],
    requestIndex: Number(r.request_index),
    verdicts: JSON.parse(r.verdicts as string) as StoredApproval['verdicts'],
  };
}

export function toProposal(r: Row): StoredProposal {
  return {
    seq: Number(r.seq),
    agent: r.agent as string,
    actionDigest: r.action_digest as string,
    rules: JSON.parse(r.rules as string) as string[],
    at: Number(r.at),
    ledgerIndex: Number(r.ledger_index),
  };
}

/** Whether a person may still give a verdict: the store's part (who counts as an approver is the engine's). */
function verdictProblem(a: StoredApproval, v: HumanVerdict, now: number): string | undefined {
  if (a.status !== 'pending') return `approval ${a.id} is already ${a.status}`;
  if (a.expiresAt <= now)
    return `approval ${a.id} expired at ${new Date(a.expiresAt).toISOString()}; the agent must ask again`;
  if (v.verdict === 'approved' && a.approvedBy.includes(v.by)) {
    return `${v.by} already approved ${a.id}; it needs ${a.minApprovals - a.approvedBy.length} more approval(s) from other people`;
  }
  return undefined;
}

/**
 * One person's verdict. A denial ends the request; approvals accumulate until minApprovals
 * distinct people agreed, and the TTL for using it starts then.
 */
export function decideApprovalJob(id: string, v: HumanVerdict, now: number) {
  return async (w: WriteBatch): Promise<{ ok: true; approval: StoredApproval; index: number } | Refusal> => {
    const [row] = await w.tx.query<Row>('SELECT * FROM approvals WHERE id = ?', [id]);
    if (!row) return { ok: false, why: `no approval ${id}` };
    const a = toApproval(row);
    const problem = verdictProblem(a, v, now);
    if (problem) return { ok: false, why: problem };
    const approvedBy = v.verdict === 'approved' ? [...a.approvedBy, v.by] : a.approvedBy;
    const status: ApprovalStatus =
      v.verdict === 'denied' ? 'denied' : approvedBy.length >= a.minApprovals ? 'approved' : 'pending';
    const expiresAt = status === 'approved' ? now + a.ttlMs : a.expiresAt;
    const index = w.append(
      approvalVerdictLeaf(
        {
          agent: a.agent,
          approvalId: a.id,
          by: v.by,
          verdict: v.verdict,
          reason: v.reason,
          status,
          approvedBy,
          minApprovals: a.minApprovals,
          requestIndex: a.requestIndex,
        },
        now,
      ),
    );
    const verdicts = [...a.verdicts, { ...v, at: now, index }];
    await w.tx.query('UPDATE approvals SET status = ?, approved_by = ?, expires_at = ?, verdicts = ? WHERE id = ?', [
      status,
      JSON.stringify(approvedBy),
      expiresAt,
      JSON.stringify(verdicts),
      id,
    ]);
    return { ok: true, approval: { ...a, status, approvedBy, expiresAt, verdicts }, index };
  };
}
