import { randomBytes } from 'node:crypto';
import type { ApprovalAsk, Effect } from '../../engine/decision.ts';
import type { LedgerLeaf } from '../../ledger/leaf.ts';
import type { CommitResult, RequestedObjects } from '../store.ts';
import { moveBreaker } from './breakers.ts';
import type { BudgetTally, WriteBatch } from './write-batch.ts';

/** A new approval may be used once; a human who wants more approves again. */
const APPROVAL_USES = 1;

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`;
}

type BudgetEffect = Extract<Effect, { kind: 'budget.consume' }>;

/** Would this budget overflow? Read under the head lock (with the batch's own consumption), so no other writer moves it meanwhile. */
async function budgetFits(w: WriteBatch, e: BudgetEffect): Promise<{ fits: boolean; tally: BudgetTally }> {
  const tally = await w.budget(e);
  const newObject = !tally.seen.get(e.objectKey);
  const fits =
    !(e.maxMutations !== undefined && tally.mutations + 1 > e.maxMutations) &&
    !(e.maxDistinctObjects !== undefined && newObject && tally.objects + 1 > e.maxDistinctObjects);
  return { fits, tally };
}

async function approvalUsable(w: WriteBatch, id: string, now: number): Promise<boolean> {
  const [a] = await w.tx.query<{ status: string; uses_left: number; expires_at: number }>(
    'SELECT status, uses_left, expires_at FROM approvals WHERE id = ?',
    [id],
  );
  return a !== undefined && a.status === 'approved' && Number(a.uses_left) > 0 && Number(a.expires_at) > now;
}

/** An agent that retries without approval gets the request it already has, not a new one each time. */
async function openRequestFor(w: WriteBatch, ask: ApprovalAsk, now: number): Promise<string | undefined> {
  const [open] = await w.tx.query<{ id: string }>(
    "SELECT id FROM approvals WHERE agent = ? AND action_digest = ? AND status = 'pending' AND expires_at > ? LIMIT 1",
    [ask.agent, ask.actionDigest, now],
  );
  return open?.id;
}

async function keepRequestedObjects(w: WriteBatch, approvalId: string, r: RequestedObjects): Promise<void> {
  const text = (o: unknown) => (o === undefined ? null : JSON.stringify(o));
  await w.tx.query('INSERT INTO approval_objects (approval_id, object, old_object) VALUES (?, ?, ?)', [
    approvalId,
    text(r.object),
    text(r.oldObject),
  ]);
}

/** The body of Store.commit, run inside a group-committed transaction: checks first, then writes. */
export function commitJob(
  leaf: LedgerLeaf,
  effects: readonly Effect[],
  now: number,
  ask: ApprovalAsk | undefined,
  requested?: RequestedObjects,
) {
  const job = async (w: WriteBatch): Promise<CommitResult> => {
    const tallies = new Map<BudgetEffect, BudgetTally>();
    for (const e of effects) {
      if (e.kind === 'budget.consume') {
        const { fits, tally } = await budgetFits(w, e);
        if (!fits) return { ok: false, conflict: 'budget', id: e.budgetId };
        tallies.set(e, tally);
      } else if (e.kind === 'approval.consume' && !(await approvalUsable(w, e.approvalId, now))) {
        return { ok: false, conflict: 'approval', id: e.approvalId };
      }
    }

    const existing = ask ? await openRequestFor(w, ask, now) : undefined;
    const approvalId = ask ? (existing ?? newId('apr')) : undefined;
    const entry: LedgerLeaf = approvalId ? { ...leaf, approvalRequest: approvalId } : leaf;
    const index = w.append(entry);
    const cause = { leaf: entry, index };

    for (const e of effects) {
      switch (e.kind) {
        case 'budget.consume':
          w.consume(tallies.get(e) as BudgetTally, e.objectKey);
          break;
        case 'approval.consume':
          await w.tx.query('UPDATE approvals SET uses_left = uses_left - 1 WHERE id = ?', [e.approvalId]);
          break;
        case 'proposal.record':
          w.insertLater('proposals', [e.agent, e.actionDigest, JSON.stringify(e.rules), now, index]);
          break;
        case 'violation.record':
          w.insertLater('violations', [e.agent, e.rule, now]);
          break;
        case 'mutation.record':
          w.insertLater('mutations', [e.agent, now]);
          break;
        case 'breaker.trip':
          await moveBreaker(
            w,
            { scope: e.scope, key: e.key, to: 'open', by: 'tether', reason: e.reason, rule: e.rule, cause },
            now,
          );
          break;
        case 'breaker.close':
          await moveBreaker(
            w,
            {
              scope: e.scope,
              key: e.key,
              to: 'closed',
              onlyFrom: 'half-open',
              by: 'tether',
              reason: 'an allowed mutation ended the probation',
              cause,
            },
            now,
          );
          break;
        case 'field.record':
          w.insertLater('field_changes', [e.objectKey, e.field, e.value, e.actor, now]);
          break;
        case 'chain.record':
          w.insertLater('chain_calls', [e.chainId, e.parent, e.callee, now]);
          break;
      }
    }

    if (ask && approvalId && !existing) {
      await w.tx.query(
        `INSERT INTO approvals (id, agent, action_digest, status, created_at, expires_at, ttl_ms, uses_left, min_approvals, approvers, approved_by, summary, rules, request_index, verdicts)
         VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, '[]', ?, ?, ?, '[]')`,
        [
          approvalId,
          ask.agent,
          ask.actionDigest,
          now,
          now + ask.ttlMs,
          ask.ttlMs,
          APPROVAL_USES,
          ask.minApprovals,
          JSON.stringify(ask.approvers),
          ask.summary,
          JSON.stringify(ask.rules),
          index,
        ],
      );
      if (requested) await keepRequestedObjects(w, approvalId, requested);
    }
    return { ok: true, index, approvalId };
  };
  const budgets = effects.filter((e): e is BudgetEffect => e.kind === 'budget.consume');
  return Object.assign(job, { budgets });
}
