// Every write the store makes, by name, with plain-data arguments: so the same job runs on this
// thread (PostgreSQL) or in the SQLite writer thread, which receives the name and the arguments.
import type { BreakerScope } from '../../engine/decision.ts';
import type { Intent } from '../../engine/action.ts';
import type { LedgerLeaf } from '../../ledger/leaf.ts';
import { killSwitchLeaf } from '../../ledger/leaves.ts';
import type { Attribution, ObservedFieldChange, Refusal, StoredBreaker, StoredCheckpoint } from '../store.ts';
import { decideApprovalJob } from './approvals.ts';
import { moveBreaker } from './breakers.ts';
import { commitJob } from './commit.ts';
import type { SqlRunner } from './driver.ts';
import { attestJob, writeDirectoryJob } from './directory.ts';
import { decideExpansionJob, enforceSpecJob, requestExpansionJob } from './expansions.ts';
import type { Urgency, WriteBatch } from './write-batch.ts';

function resetBreakerJob(scope: BreakerScope, key: string, who: Attribution, now: number) {
  return async (w: WriteBatch): Promise<{ ok: true; breaker: StoredBreaker; index: number } | Refusal> => {
    const index = await moveBreaker(
      w,
      { scope, key, to: 'half-open', onlyFrom: 'open', by: who.by, reason: who.reason },
      now,
    );
    if (index === undefined) {
      const [r] = await w.tx.query<{ state: string }>('SELECT state FROM breakers WHERE scope = ? AND key = ?', [
        scope,
        key,
      ]);
      return {
        ok: false,
        why: `breaker ${scope}:${key} is ${r?.state ?? 'closed'}, not open: there is nothing to reset`,
      };
    }
    return { ok: true, breaker: { scope, key, state: 'half-open', reason: who.reason, since: now }, index };
  };
}

function setKillSwitchJob(engaged: boolean, who: Attribution, now: number) {
  return async (w: WriteBatch): Promise<{ index: number }> => {
    const index = w.append(killSwitchLeaf({ engaged, by: who.by, reason: who.reason }, now));
    await w.tx.query(
      `INSERT INTO kill_switch (id, engaged, reason, actor, at) VALUES (1, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET engaged = excluded.engaged, reason = excluded.reason, actor = excluded.actor, at = excluded.at`,
      [engaged ? 1 : 0, who.reason, who.by, now],
    );
    return { index };
  };
}

const appendJob = (leaf: LedgerLeaf) => async (w: WriteBatch) => w.append(leaf);

/** Jobs that share a group-committed transaction (they hold the ledger head; most append). */
export const BATCH_JOBS = {
  commit: commitJob,
  append: appendJob,
  decideApproval: decideApprovalJob,
  requestExpansion: requestExpansionJob,
  decideExpansion: decideExpansionJob,
  enforceSpec: enforceSpecJob,
  resetBreaker: resetBreakerJob,
  setKillSwitch: setKillSwitchJob,
  writeDirectory: writeDirectoryJob,
  attest: attestJob,
};

/** Writes that touch no ledger row: each its own transaction, as before the writer existed. */
export const SOLO_JOBS = {
  declareIntent: (username: string, intent: Intent, now: number, expiresAt: number) => async (tx: SqlRunner) => {
    await tx.query(
      `INSERT INTO declared_intents (username, intent, declared_at, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (username) DO UPDATE SET intent = excluded.intent, declared_at = excluded.declared_at, expires_at = excluded.expires_at`,
      [username, JSON.stringify(intent), now, expiresAt],
    );
  },
  recordFieldChange: (c: ObservedFieldChange) => async (tx: SqlRunner) => {
    await tx.query('INSERT INTO field_changes (object_key, field, value, actor, at) VALUES (?, ?, ?, ?, ?)', [
      c.objectKey,
      c.field,
      c.value,
      c.actor,
      c.at,
    ]);
  },
  saveCheckpoint: (c: StoredCheckpoint) => async (tx: SqlRunner) => {
    // Bytes that crossed to the writer thread arrive as plain Uint8Arrays.
    await tx.query(
      'INSERT INTO checkpoints (size, at, root, key_id, signature) VALUES (?, ?, ?, ?, ?) ON CONFLICT (size, key_id) DO NOTHING',
      [c.size, c.time, Buffer.from(c.root), c.keyId, Buffer.from(c.signature)],
    );
  },
  prune: (before: number) => async (tx: SqlRunner) => {
    for (const table of ['violations', 'mutations', 'field_changes', 'chain_calls'])
      await tx.query(`DELETE FROM ${table} WHERE at < ?`, [before]);
    await tx.query('DELETE FROM event_seconds WHERE second * 1000 + 1000 <= ?', [before]);
    await tx.query('DELETE FROM budget_counters WHERE window_start + window_ms < ?', [before]);
    await tx.query(
      'DELETE FROM budget_objects WHERE NOT EXISTS (SELECT 1 FROM budget_counters c WHERE c.budget_id = budget_objects.budget_id AND c.window_start = budget_objects.window_start)',
    );
    // A requested object is for the reviewer; once its request can no longer be decided or used, the ledger's digest is the record.
    await tx.query(
      'DELETE FROM approval_objects WHERE approval_id IN (SELECT id FROM approvals WHERE expires_at < ?)',
      [before],
    );
  },
};

type AnyJob = (...args: never[]) => (on: never) => Promise<unknown>;
type Args<J> = J extends (...args: infer A) => unknown ? A : never;
type Result<J> = J extends (...args: never[]) => (on: never) => Promise<infer R> ? R : never;

export type BatchJobName = keyof typeof BATCH_JOBS;
export type SoloJobName = keyof typeof SOLO_JOBS;
export type JobArgs<K extends BatchJobName | SoloJobName> = Args<(typeof BATCH_JOBS & typeof SOLO_JOBS)[K]>;
export type JobResult<K extends BatchJobName | SoloJobName> = Result<(typeof BATCH_JOBS & typeof SOLO_JOBS)[K]>;

/** Where the store's writes run: on this thread, or in a writer thread that owns the connection. */
export interface Writer {
  /**
   * Resolves once the job's transaction has committed (durably: the response may then be sent).
   * 'soon' (an observation after the fact) waits to share a batch that runs anyway: see GroupCommitter.
   */
  batch<K extends BatchJobName>(name: K, args: JobArgs<K>, urgency?: Urgency): Promise<JobResult<K>>;
  solo<K extends SoloJobName>(name: K, args: JobArgs<K>): Promise<JobResult<K>>;
  /** Waits for every submitted job, then releases the writer's connection. */
  close(): Promise<void>;
}

export function batchJob<K extends BatchJobName>(name: K, args: JobArgs<K>): (w: WriteBatch) => Promise<JobResult<K>> {
  if (!Object.hasOwn(BATCH_JOBS, name)) throw new Error(`no write job ${String(name)}`);
  const make = BATCH_JOBS[name] as unknown as AnyJob;
  return make(...(args as unknown as never[])) as (w: WriteBatch) => Promise<JobResult<K>>;
}

export function soloJob<K extends SoloJobName>(name: K, args: JobArgs<K>): (tx: SqlRunner) => Promise<JobResult<K>> {
  if (!Object.hasOwn(SOLO_JOBS, name)) throw new Error(`no write job ${String(name)}`);
  const make = SOLO_JOBS[name] as unknown as AnyJob;
  return make(...(args as unknown as never[])) as (tx: SqlRunner) => Promise<JobResult<K>>;
}
