import { randomBytes } from 'node:crypto';
import type { ApprovalAsk, Effect } from '../../engine/decision.ts';
import type { LedgerLeaf } from '../../ledger/leaf.ts';
import type { CommitResult, RequestedObjects } from '../store.ts';
import { moveBreaker } from './breakers.ts';
import type { WriteBatch } from './write-batch.ts';

/** A new approval may be used once; a human who wants more approves again. */
const APPROVAL_USES = 1;

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`;
}

type BudgetEffect = Extract<Effect, { kind: 'budget.consume' }>;

/** Would this budget overflow? Read under the head lock, so no other writer moves it meanwhile. */
async function budgetFits(w: WriteBatch, e: BudgetEffect): Promise<{ fits: boolean; newObject: boolean }> {
  const [c] = await w.tx.query<{ mutations: number; objects: number }>('SELECT mutations, objects FROM budget_counters WHERE budget_id = ? AND window_start = ?', [
    e.budgetId,
    e.windowStart,
  ]);
  const seen = await w.tx.query('SELECT 1 AS seen FROM budget_objects WHERE budget_id = ? AND window_start = ? AND object_key = ?', [e.budgetId, e.windowStart, e.objectKey]);
  const mutations = Number(c?.mutations ?? 0);
  const objects = Number(c?.objects ?? 0);
  const newObject = seen.length === 0;
  const fits = !(e.maxMutations !== undefined && mutations + 1 > e.maxMutations) && !(e.maxDistinctObjects !== undefined && newObject && objects + 1 > e.maxDistinctObjects);
  return { fits, newObject };
}

async function approvalUsable(w: WriteBatch, id: string, now: number): Promise<boolean> {
  const [a] = await w.tx.query<{ status: string; uses_left: number; expires_at: number }>('SELECT status, uses_left, expires_at FROM approvals WHERE id = ?', [id]);
  return a !== undefined && a.status === 'approved' && Number(a.uses_left) > 0 && Number(a.expires_at) > now;
}

/** An agent that retries without approval gets the request it already has, not a new one each time. */
async function openRequestFor(w: WriteBatch, ask: ApprovalAsk, now: number): Promise<string | undefined> {
  const [open] = await w.tx.query<{ id: string }>("SELECT id FROM approvals WHERE agent = ? AND action_digest = ? AND status = 'pending' AND expires_at > ? LIMIT 1", [
    ask.agent,
    ask.actionDigest,
    now,
  ]);
  return open?.id;
}

async function keepRequestedObjects(w: WriteBatch, approvalId: string, r: RequestedObjects): Promise<void> {
  const text = (o: unknown) => (o === undefined ? null : JSON.stringify(o));
  await w.tx.query('INSERT INTO approval_objects (approval_id, object, old_object) VALUES (?, ?, ?)', [approvalId, text(r.object), text(r.oldObject)]);
}

/** The body of Store.commit, run inside a group-committed transaction: checks first, then writes. */
export function commitJob(leaf: LedgerLeaf, effects: readonly Effect[], now: number, ask: ApprovalAsk | undefined, requested?: RequestedObjects) {
  return async (w: WriteBatch): Promise<CommitResult> => {
    const newObjects = new Map<BudgetEffect, boolean>();
    for (const e of effects) {
      if (e.kind === 'budget.consume') {
        const { fits, newObject } = await budgetFits(w, e);
        if (!fits) return { ok: false, conflict: 'budget', id: e.budgetId };
        newObjects.set(e, newObject);
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
        case 'budget.consume': {
          const added = newObjects.get(e) ? 1 : 0;
          await w.tx.query(
            `INSERT INTO budget_counters (budget_id, window_start, window_ms, agent, mutations, objects) VALUES (?, ?, ?, ?, 1, ?)
             ON CONFLICT (budget_id, window_start) DO UPDATE SET mutations = budget_counters.mutations + 1, objects = budget_counters.objects + excluded.objects`,
            [e.budgetId, e.windowStart, e.windowMs, e.agent, added],
          );
          if (added) await w.tx.query('INSERT INTO budget_objects (budget_id, window_start, object_key) VALUES (?, ?, ?)', [e.budgetId, e.windowStart, e.objectKey]);
          break;
        }
        case 'approval.consume':
          await w.tx.query('UPDATE approvals SET uses_left = uses_left - 1 WHERE id = ?', [e.approvalId]);
          break;
        case 'proposal.record':
          await w.tx.query('INSERT INTO proposals (agent, action_digest, rules, at, ledger_index) VALUES (?, ?, ?, ?, ?)', [
            e.agent,
            e.actionDigest,
            JSON.stringify(e.rules),
            now,
            index,
          ]);
          break;
        case 'violation.record':
          await w.tx.query('INSERT INTO violations (agent, rule, at) VALUES (?, ?, ?)', [e.agent, e.rule, now]);
          break;
        case 'mutation.record':
          await w.tx.query('INSERT INTO mutations (agent, at) VALUES (?, ?)', [e.agent, now]);
          break;
        case 'breaker.trip':
          await moveBreaker(w, { scope: e.scope, key: e.key, to: 'open', by: 'tether', reason: e.reason, rule: e.rule, cause }, now);
          break;
        case 'breaker.close':
          await moveBreaker(w, { scope: e.scope, key: e.key, to: 'closed', onlyFrom: 'half-open', by: 'tether', reason: 'an allowed mutation ended the probation', cause }, now);
          break;
        case 'field.record':
          await w.tx.query('INSERT INTO field_changes (object_key, field, value, actor, at) VALUES (?, ?, ?, ?, ?)', [e.objectKey, e.field, e.value, e.actor, now]);
          break;
        case 'chain.record':
          await w.tx.query('INSERT INTO chain_calls (chain_id, parent, callee, at) VALUES (?, ?, ?, ?)', [e.chainId, e.parent, e.callee, now]);
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
}
