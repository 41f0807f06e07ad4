import type { Action, Intent } from '../../engine/action.ts';
import type { ApprovalAsk, BreakerScope, Effect } from '../../engine/decision.ts';
import type { ApprovalStatus, StateView } from '../../engine/state.ts';
import type { LedgerLeaf } from '../../ledger/leaf.ts';
import type {
  AgentStateNeeds,
  Attribution,
  BreakerTransition,
  CommitResult,
  EnforcedSpec,
  ExpansionRequest,
  ExpansionStatus,
  HumanVerdict,
  KillSwitch,
  LedgerEntry,
  LedgerQuery,
  LedgerRow,
  ObservedFieldChange,
  Store,
  StoredApproval,
  StoredBreaker,
  StoredCheckpoint,
  StoredProposal,
} from '../store.ts';
import { toApproval, toProposal } from './approvals.ts';
import { toBreaker, toTransition } from './breakers.ts';
import type { Row, SqlDriver } from './driver.ts';
import { toEnforced, toExpansion } from './expansions.ts';
import type { Writer } from './jobs.ts';
import { LocalWriter } from './local-writer.ts';
import { migrate } from './migrations.ts';
import { readState } from './snapshot.ts';

const DEFAULT_QUERY_LIMIT = 1000;

function toEntry(r: Row): LedgerEntry {
  const data = r.data as string;
  return { index: Number(r.idx), data, leaf: JSON.parse(data) as LedgerLeaf, leafHash: r.leaf_hash as Buffer };
}

function where(conditions: readonly [string, unknown][]): { sql: string; params: unknown[] } {
  const present = conditions.filter(([, v]) => v !== undefined);
  return { sql: present.length ? ` WHERE ${present.map(([c]) => c).join(' AND ')}` : '', params: present.map(([, v]) => v) };
}

/** The Store over any SqlDriver: SQLite and PostgreSQL run this same code. */
export class SqlStore implements Store {
  readonly backend: 'sqlite' | 'postgres';
  readonly location: string;
  readonly #db: SqlDriver;
  readonly #writes: Writer;

  private constructor(db: SqlDriver, location: string, writes: Writer) {
    this.#db = db;
    this.location = location;
    this.backend = db.dialect.name;
    this.#writes = writes;
  }

  /** Migrates, then writes through `writer` (by default group commits on this thread). */
  static async open(db: SqlDriver, location: string, writer: () => Writer = () => new LocalWriter(db)): Promise<SqlStore> {
    await migrate(db);
    return new SqlStore(db, location, writer());
  }

  stateFor(agent: AgentStateNeeds | undefined, action: Action, now: number): Promise<StateView> {
    return readState(this.#db, this.#db.dialect, agent, action, now);
  }

  commit(leaf: LedgerLeaf, effects: readonly Effect[], now: number, opts?: { approvalAsk?: ApprovalAsk }): Promise<CommitResult> {
    return this.#writes.batch('commit', [leaf, effects, now, opts?.approvalAsk]);
  }

  async approval(id: string): Promise<StoredApproval | undefined> {
    const [r] = await this.#db.query<Row>('SELECT * FROM approvals WHERE id = ?', [id]);
    return r ? toApproval(r) : undefined;
  }

  async approvals(filter: { status?: ApprovalStatus; agent?: string; limit?: number } = {}): Promise<StoredApproval[]> {
    const w = where([
      ['status = ?', filter.status],
      ['agent = ?', filter.agent],
    ]);
    const rows = await this.#db.query<Row>(`SELECT * FROM approvals${w.sql} ORDER BY created_at DESC LIMIT ?`, [...w.params, filter.limit ?? DEFAULT_QUERY_LIMIT]);
    return rows.map(toApproval);
  }

  decideApproval(id: string, verdict: HumanVerdict, now: number) {
    return this.#writes.batch('decideApproval', [id, verdict, now]);
  }

  async proposals(filter: { agent?: string; limit?: number } = {}): Promise<StoredProposal[]> {
    const w = where([['agent = ?', filter.agent]]);
    const rows = await this.#db.query<Row>(`SELECT * FROM proposals${w.sql} ORDER BY seq DESC LIMIT ?`, [...w.params, filter.limit ?? DEFAULT_QUERY_LIMIT]);
    return rows.map(toProposal);
  }

  requestExpansion(req: { agent: string; requestedSpec: unknown; diffDigest: string; by: string; summary?: string }, now: number) {
    return this.#writes.batch('requestExpansion', [req, now]);
  }

  async expansion(id: string): Promise<ExpansionRequest | undefined> {
    const [r] = await this.#db.query<Row>('SELECT * FROM expansions WHERE id = ?', [id]);
    return r ? toExpansion(r) : undefined;
  }

  async expansions(filter: { status?: ExpansionStatus; agent?: string } = {}): Promise<ExpansionRequest[]> {
    const w = where([
      ['status = ?', filter.status],
      ['agent = ?', filter.agent],
    ]);
    return (await this.#db.query<Row>(`SELECT * FROM expansions${w.sql} ORDER BY requested_at DESC, id`, w.params)).map(toExpansion);
  }

  decideExpansion(id: string, verdict: HumanVerdict, now: number) {
    return this.#writes.batch('decideExpansion', [id, verdict, now]);
  }

  enforceSpec(agent: string, spec: unknown, who: Attribution, now: number) {
    return this.#writes.batch('enforceSpec', [agent, spec, who, now]);
  }

  async enforcedAgent(name: string): Promise<EnforcedSpec | undefined> {
    const [r] = await this.#db.query<Row>('SELECT * FROM enforced_specs WHERE agent = ?', [name]);
    return r ? toEnforced(r) : undefined;
  }

  async breakers(): Promise<StoredBreaker[]> {
    return (await this.#db.query<Row>('SELECT * FROM breakers ORDER BY scope, key')).map(toBreaker);
  }

  async breaker(scope: BreakerScope, key: string): Promise<StoredBreaker> {
    const [r] = await this.#db.query<Row>('SELECT * FROM breakers WHERE scope = ? AND key = ?', [scope, key]);
    return r ? toBreaker(r) : { scope, key, state: 'closed' };
  }

  async breakerHistory(scope: BreakerScope, key: string): Promise<BreakerTransition[]> {
    return (await this.#db.query<Row>('SELECT * FROM breaker_transitions WHERE scope = ? AND key = ? ORDER BY seq', [scope, key])).map(toTransition);
  }

  resetBreaker(scope: BreakerScope, key: string, who: Attribution, now: number) {
    return this.#writes.batch('resetBreaker', [scope, key, who, now]);
  }

  async killSwitch(): Promise<KillSwitch> {
    const [r] = await this.#db.query<Row>('SELECT * FROM kill_switch WHERE id = 1');
    if (!r) return { engaged: false };
    return {
      engaged: Number(r.engaged) === 1,
      reason: (r.reason as string | null) ?? undefined,
      by: (r.actor as string | null) ?? undefined,
      at: r.at === null ? undefined : Number(r.at),
    };
  }

  setKillSwitch(engaged: boolean, who: Attribution, now: number) {
    return this.#writes.batch('setKillSwitch', [engaged, who, now]);
  }

  async declareIntent(username: string, intent: Intent, now: number, expiresAt: number): Promise<void> {
    await this.#writes.solo('declareIntent', [username, intent, now, expiresAt]);
  }

  async declaredIntent(username: string, now: number): Promise<{ intent: Intent; expiresAt: number } | undefined> {
    const [row] = await this.#db.query<{ intent: string; expires_at: number | string }>('SELECT intent, expires_at FROM declared_intents WHERE username = ? AND expires_at > ?', [
      username,
      now,
    ]);
    return row ? { intent: JSON.parse(row.intent) as Intent, expiresAt: Number(row.expires_at) } : undefined;
  }

  async recordFieldChange(c: ObservedFieldChange): Promise<void> {
    await this.#writes.solo('recordFieldChange', [c]);
  }

  append(leaf: LedgerLeaf): Promise<number> {
    return this.#writes.batch('append', [leaf]);
  }

  async ledgerSize(): Promise<number> {
    const [r] = await this.#db.query<{ size: number }>('SELECT size FROM ledger_head WHERE id = 1');
    return Number(r?.size ?? 0);
  }

  async entries(from: number, to: number): Promise<LedgerEntry[]> {
    return (await this.#db.query<Row>('SELECT idx, data, leaf_hash FROM ledger WHERE idx >= ? AND idx < ? ORDER BY idx', [from, to])).map(toEntry);
  }

  async queryLedger(q: LedgerQuery): Promise<LedgerEntry[]> {
    const w = where([
      ['agent = ?', q.agent],
      ['owner = ?', q.owner],
      ['actor = ?', q.actor],
      ['object = ?', q.object],
      ['kind = ?', q.kind],
      ['at >= ?', q.since],
      ['at < ?', q.until],
      ['idx >= ?', q.fromIndex],
    ]);
    const rows = await this.#db.query<Row>(`SELECT idx, data, leaf_hash FROM ledger${w.sql} ORDER BY idx LIMIT ?`, [...w.params, q.limit ?? DEFAULT_QUERY_LIMIT]);
    return rows.map(toEntry);
  }

  async ledgerRows(from: number, limit: number): Promise<LedgerRow[]> {
    const rows = await this.#db.query<Row>('SELECT idx, data, leaf_hash FROM ledger WHERE idx >= ? ORDER BY idx LIMIT ?', [from, limit]);
    return rows.map((r) => ({ index: Number(r.idx), data: r.data as string, leafHash: r.leaf_hash as Buffer }));
  }

  async leafHashes(from: number, to: number): Promise<Buffer[]> {
    const rows = await this.#db.query<{ leaf_hash: Buffer }>('SELECT leaf_hash FROM ledger WHERE idx >= ? AND idx < ? ORDER BY idx', [from, to]);
    return rows.map((r) => r.leaf_hash);
  }

  async saveCheckpoint(c: StoredCheckpoint): Promise<void> {
    await this.#writes.solo('saveCheckpoint', [c]);
  }

  async checkpoints(): Promise<StoredCheckpoint[]> {
    const rows = await this.#db.query<Row>('SELECT * FROM checkpoints ORDER BY size, at');
    return rows.map((r) => ({ size: Number(r.size), time: Number(r.at), root: r.root as Buffer, keyId: r.key_id as string, signature: r.signature as Buffer }));
  }

  async prune(before: number): Promise<void> {
    await this.#writes.solo('prune', [before]);
  }

  async close(): Promise<void> {
    await this.#writes.close();
    await this.#db.close();
  }
}
