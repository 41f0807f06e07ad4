import type { BreakerScope } from '../../engine/decision.ts';
import type { BreakerState } from '../../engine/state.ts';
import type { LedgerLeaf } from '../../ledger/leaf.ts';
import { breakerLeaf } from '../../ledger/leaves.ts';
import type { BreakerTransition, StoredBreaker } from '../store.ts';
import type { Row } from './driver.ts';
import type { WriteBatch } from './write-batch.ts';

export interface BreakerMove {
  readonly scope: BreakerScope;
  readonly key: string;
  readonly to: BreakerState;
  /** A person for resets, 'tether' for decisions. */
  readonly by: string;
  readonly reason?: string;
  readonly rule?: string;
  /** Move only from this state (a close applies to a half-open breaker, never to one tripped meanwhile). */
  readonly onlyFrom?: BreakerState;
  /** The decision that caused it, when one did: its agent and owner are named in the breaker entry. */
  readonly cause?: { readonly leaf: LedgerLeaf; readonly index: number };
}

/**
 * Moves a breaker and writes the transition into its history and the ledger. Returns the
 * ledger index, or undefined when the breaker already is where it would go (nothing happened).
 */
export async function moveBreaker(w: WriteBatch, m: BreakerMove, now: number): Promise<number | undefined> {
  const [cur] = await w.tx.query<{ state: BreakerState }>('SELECT state FROM breakers WHERE scope = ? AND key = ?', [
    m.scope,
    m.key,
  ]);
  const from = cur?.state ?? 'closed';
  if (from === m.to || (m.onlyFrom !== undefined && from !== m.onlyFrom)) return undefined;
  await w.tx.query(
    `INSERT INTO breakers (scope, key, state, reason, rule, since) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (scope, key) DO UPDATE SET state = excluded.state, reason = excluded.reason, rule = excluded.rule, since = excluded.since`,
    [m.scope, m.key, m.to, m.reason ?? null, m.rule ?? null, now],
  );
  const cause = m.cause && { index: m.cause.index, agent: m.cause.leaf.agent, owner: m.cause.leaf.owner };
  const index = w.append(
    breakerLeaf({ scope: m.scope, key: m.key, from, to: m.to, by: m.by, reason: m.reason, rule: m.rule, cause }, now),
  );
  await w.tx.query(
    'INSERT INTO breaker_transitions (scope, key, from_state, to_state, at, actor, reason, rule, ledger_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [m.scope, m.key, from, m.to, now, m.by, m.reason ?? null, m.rule ?? null, index],
  );
  return index;
}

export function toBreaker(r: Row): StoredBreaker {
  return {
    scope: r.scope as BreakerScope,
    key: r.key as string,
    state: r.state as BreakerState,
    reason: (r.reason as string | null) ?? undefined,
    rule: (r.rule as string | null) ?? undefined,
    since: Number(r.since),
  };
}

export function toTransition(r: Row): BreakerTransition {
  return {
    scope: r.scope as BreakerScope,
    key: r.key as string,
    from: r.from_state as BreakerState,
    to: r.to_state as BreakerState,
    at: Number(r.at),
    by: r.actor as string,
    reason: (r.reason as string | null) ?? undefined,
    rule: (r.rule as string | null) ?? undefined,
    ledgerIndex: Number(r.ledger_index),
  };
}
