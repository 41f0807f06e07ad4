import { canonicalJson } from '../../common/canonical-json.ts';
import { digestOf } from '../../common/digest.ts';
import { expansionRequestLeaf, expansionVerdictLeaf, specEnforcedLeaf } from '../../ledger/leaves.ts';
import type { Attribution, EnforcedSpec, ExpansionRequest, ExpansionStatus, HumanVerdict, Refusal } from '../store.ts';
import { newId } from './commit.ts';
import type { Row } from './driver.ts';
import type { WriteBatch } from './write-batch.ts';

export function toExpansion(r: Row): ExpansionRequest {
  return {
    id: r.id as string,
    agent: r.agent as string,
    requestedSpec: JSON.parse(r.requested_spec as string) as unknown,
    specDigest: r.spec_digest as string,
    diffDigest: r.diff_digest as string,
    summary: (r.summary as string | null) ?? undefined,
    requestedBy: r.requested_by as string,
    requestedAt: Number(r.requested_at),
    status: r.status as ExpansionStatus,
    decidedBy: (r.decided_by as string | null) ?? undefined,
    decidedAt: r.decided_at === null ? undefined : Number(r.decided_at),
    reason: (r.reason as string | null) ?? undefined,
    requestIndex: Number(r.request_index),
    decisionIndex: r.decision_index === null ? undefined : Number(r.decision_index),
  };
}

export function toEnforced(r: Row): EnforcedSpec {
  return {
    agent: r.agent as string,
    spec: JSON.parse(r.spec as string) as unknown,
    specDigest: r.spec_digest as string,
    by: r.actor as string,
    at: Number(r.at),
    reason: r.reason as string,
    ledgerIndex: Number(r.ledger_index),
  };
}

async function enforce(
  w: WriteBatch,
  agent: string,
  spec: unknown,
  specDigest: string,
  by: string,
  reason: string,
  now: number,
  index: number,
): Promise<void> {
  await w.tx.query(
    `INSERT INTO enforced_specs (agent, spec, spec_digest, actor, at, reason, ledger_index) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (agent) DO UPDATE SET spec = excluded.spec, spec_digest = excluded.spec_digest, actor = excluded.actor, at = excluded.at, reason = excluded.reason, ledger_index = excluded.ledger_index`,
    [agent, canonicalJson(spec), specDigest, by, now, reason, index],
  );
}

/** A newer request for the same agent supersedes older pending ones: nobody can approve a spec that is no longer asked for. */
export function requestExpansionJob(
  req: { agent: string; requestedSpec: unknown; diffDigest: string; by: string; summary?: string },
  now: number,
) {
  return async (w: WriteBatch): Promise<{ id: string; index: number }> => {
    const id = newId('exp');
    const specDigest = digestOf(req.requestedSpec);
    const index = w.append(
      expansionRequestLeaf(
        { agent: req.agent, expansionId: id, by: req.by, summary: req.summary, specDigest, diffDigest: req.diffDigest },
        now,
      ),
    );
    await w.tx.query(
      "UPDATE expansions SET status = 'superseded', decided_at = ?, reason = ? WHERE agent = ? AND status = 'pending'",
      [now, `superseded by ${id}`, req.agent],
    );
    await w.tx.query(
      `INSERT INTO expansions (id, agent, requested_spec, spec_digest, diff_digest, summary, requested_by, requested_at, status, request_index)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)`,
      [
        id,
        req.agent,
        canonicalJson(req.requestedSpec),
        specDigest,
        req.diffDigest,
        req.summary ?? null,
        req.by,
        now,
        index,
      ],
    );
    return { id, index };
  };
}

export function decideExpansionJob(id: string, v: HumanVerdict, now: number) {
  return async (w: WriteBatch): Promise<{ ok: true; request: ExpansionRequest; index: number } | Refusal> => {
    const [row] = await w.tx.query<Row>('SELECT * FROM expansions WHERE id = ?', [id]);
    if (!row) return { ok: false, why: `no boundary expansion request ${id}` };
    const req = toExpansion(row);
    if (req.status !== 'pending') return { ok: false, why: `boundary expansion ${id} is already ${req.status}` };
    const index = w.append(
      expansionVerdictLeaf(
        {
          agent: req.agent,
          expansionId: id,
          by: v.by,
          verdict: v.verdict,
          reason: v.reason,
          specDigest: req.specDigest,
          diffDigest: req.diffDigest,
          requestIndex: req.requestIndex,
        },
        now,
      ),
    );
    await w.tx.query(
      'UPDATE expansions SET status = ?, decided_by = ?, decided_at = ?, reason = ?, decision_index = ? WHERE id = ?',
      [v.verdict, v.by, now, v.reason, index, id],
    );
    if (v.verdict === 'approved')
      await enforce(w, req.agent, req.requestedSpec, req.specDigest, v.by, v.reason, now, index);
    return {
      ok: true,
      request: { ...req, status: v.verdict, decidedBy: v.by, decidedAt: now, reason: v.reason, decisionIndex: index },
      index,
    };
  };
}

export function enforceSpecJob(agent: string, spec: unknown, who: Attribution, now: number) {
  return async (w: WriteBatch): Promise<{ index: number }> => {
    const specDigest = digestOf(spec);
    const index = w.append(specEnforcedLeaf({ agent, by: who.by, reason: who.reason, specDigest }, now));
    await enforce(w, agent, spec, specDigest, who.by, who.reason, now, index);
    return { index };
  };
}
