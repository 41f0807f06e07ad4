import type { Action, Intent } from '../../engine/action.ts';
import type { ApprovalAsk, BreakerScope, Effect } from '../../engine/decision.ts';
import type { ApprovalStatus, StateView } from '../../engine/state.ts';
import type { LedgerLeaf } from '../../ledger/leaf.ts';
import type {
  AgentStateNeeds,
  CountedList,
  PageCursor,
  Attribution,
  BreakerTransition,
  CommitResult,
  DirectoryWrite,
  DirectoryWriteResult,
  EnforcedSpec,
  ExpansionRequest,
  ExpansionStatus,
  HumanVerdict,
  KillSwitch,
  LedgerEntry,
  LedgerQuery,
  LedgerRow,
  ObservedFieldChange,
  RequestedObjects,
  Store,
  StoredApproval,
  StoredAttestation,
  StoredBreaker,
  StoredCheckpoint,
  StoredProposal,
  StoredScimRow,
} from '../store.ts';
import { toApproval, toProposal } from './approvals.ts';
import { toBreaker, toTransition } from './breakers.ts';
import { toAttestation, toScimRow } from './directory.ts';
import type { Row, SqlDriver } from './driver.ts';
import { toEnforced, toExpansion } from './expansions.ts';
import type { Writer } from './jobs.ts';
import { LocalWriter } from './local-writer.ts';
import { migrate } from './migrations.ts';
import { readState } from './snapshot.ts';
import { GroupedStateReads } from './state-reads.ts';
import { keyedLedgerSelect, type LedgerKey, ledgerKeyProblem } from './ledger-keys.ts';

const DEFAULT_QUERY_LIMIT = 1000;
/** A ledger query's keys, the one that narrows most first (a kind names a large share of the log). */
const MOST_SELECTIVE_FIRST: readonly LedgerKey[] = ['object', 'chain', 'agent', 'owner', 'kind'];

function toEntry(r: Row): LedgerEntry {
  const data = r.data as string;
  return { index: Number(r.idx), data, leaf: JSON.parse(data) as LedgerLeaf, leafHash: r.leaf_hash as Buffer };
}

/** Conditions whose value is undefined are left out; a condition with several `?` takes an array of values. */
function where(conditions: readonly [string, unknown][]): { sql: string; params: unknown[] } {
  const present = conditions.filter(([, v]) => v !== undefined);
  return {
    sql: present.length ? ` WHERE ${present.map(([c]) => c).join(' AND ')}` : '',
    params: present.flatMap(([c, v]) => (c.split('?').length > 2 ? (v as unknown[]) : [v])),
  };
}

/**
 * A LIKE pattern (with ESCAPE '\\') that a stored leaf holding the string member `"name":value` matches,
 * spelled as canonical JSON spells every string (as JSON.stringify does). It narrows a scan cheaply
 * before the rows that pass are parsed; SQLite's LIKE, blind to ASCII case, only lets more through.
 */
function leafMemberPattern(name: string, value: string): string {
  return `%${`"${name}":${JSON.stringify(value)}`.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Rows after a cursor in a list ordered by (time DESC, id DESC): keyset paging, stable under inserts. */
function after(timeColumn: string, cursor: PageCursor | undefined): [string, unknown][] {
  return cursor ? [[`(${timeColumn} < ? OR (${timeColumn} = ? AND id < ?))`, [cursor.at, cursor.at, cursor.id]]] : [];
}

const COUNTED: Record<CountedList, string> = {
  approvals: 'approvals',
  proposals: 'proposals',
  expansions: 'expansions',
};

/** The Store over any SqlDriver: SQLite and PostgreSQL run this same code. */
export class SqlStore implements Store {
  readonly backend: 'sqlite' | 'postgres';
  readonly location: string;
  readonly #db: SqlDriver;
  readonly #writes: Writer;
  /** PostgreSQL: the decisions' state reads of one turn of the event loop, grouped (state-reads.ts). */
  readonly #grouped: GroupedStateReads | undefined;

  private constructor(db: SqlDriver, location: string, writes: Writer) {
    this.#db = db;
    this.#grouped = db.dialect.name === 'postgres' ? new GroupedStateReads(db, db.dialect) : undefined;
    this.location = location;
    this.backend = db.dialect.name;
    this.#writes = writes;
  }

  /** Migrates, then writes through `writer` (by default group commits on this thread). */
  static async open(
    db: SqlDriver,
    location: string,
    writer: () => Writer = () => new LocalWriter(db),
  ): Promise<SqlStore> {
    await migrate(db);
    return new SqlStore(db, location, writer());
  }

  stateFor(agent: AgentStateNeeds | undefined, action: Action, now: number): Promise<StateView> {
    // In-process (SQLite) a read costs no round trip, so there is nothing to gain from grouping it.
    if (!this.#grouped) return readState(this.#db, this.#db.dialect, agent, action, now);
    return this.#grouped.read(agent, action, now);
  }

  commit(
    leaf: LedgerLeaf,
    effects: readonly Effect[],
    now: number,
    opts?: { approvalAsk?: ApprovalAsk; requested?: RequestedObjects },
  ): Promise<CommitResult> {
    return this.#writes.batch('commit', [leaf, effects, now, opts?.approvalAsk, opts?.requested]);
  }

  async approval(id: string): Promise<StoredApproval | undefined> {
    const [r] = await this.#db.query<Row>('SELECT * FROM approvals WHERE id = ?', [id]);
    return r ? toApproval(r) : undefined;
  }

  async approvals(
    filter: { status?: ApprovalStatus; agent?: string; limit?: number; after?: PageCursor } = {},
  ): Promise<StoredApproval[]> {
    const w = where([['status = ?', filter.status], ['agent = ?', filter.agent], ...after('created_at', filter.after)]);
    const rows = await this.#db.query<Row>(
      `SELECT * FROM approvals${w.sql} ORDER BY created_at DESC, id DESC LIMIT ?`,
      [...w.params, filter.limit ?? DEFAULT_QUERY_LIMIT],
    );
    return rows.map(toApproval);
  }

  async count(list: CountedList, filter: { status?: string; agent?: string } = {}): Promise<number> {
    const w = where([
      ['status = ?', list === 'proposals' ? undefined : filter.status],
      ['agent = ?', filter.agent],
    ]);
    const [r] = await this.#db.query<{ n: number | string }>(
      `SELECT COUNT(*) AS n FROM ${COUNTED[list]}${w.sql}`,
      w.params,
    );
    return Number(r?.n ?? 0);
  }

  decideApproval(id: string, verdict: HumanVerdict, now: number) {
    return this.#writes.batch('decideApproval', [id, verdict, now]);
  }

  async proposals(filter: { agent?: string; limit?: number; afterSeq?: number } = {}): Promise<StoredProposal[]> {
    const w = where([
      ['agent = ?', filter.agent],
      ['seq < ?', filter.afterSeq],
    ]);
    const rows = await this.#db.query<Row>(`SELECT * FROM proposals${w.sql} ORDER BY seq DESC LIMIT ?`, [
      ...w.params,
      filter.limit ?? DEFAULT_QUERY_LIMIT,
    ]);
    return rows.map(toProposal);
  }

  async requestedObjects(id: string): Promise<RequestedObjects | undefined> {
    const [r] = await this.#db.query<{ object: string | null; old_object: string | null }>(
      'SELECT object, old_object FROM approval_objects WHERE approval_id = ?',
      [id],
    );
    if (!r) return undefined;
    const parse = (t: string | null) => (t === null ? undefined : (JSON.parse(t) as unknown));
    return { object: parse(r.object), oldObject: parse(r.old_object) };
  }

  requestExpansion(
    req: { agent: string; requestedSpec: unknown; diffDigest: string; by: string; summary?: string },
    now: number,
  ) {
    return this.#writes.batch('requestExpansion', [req, now]);
  }

  async expansion(id: string): Promise<ExpansionRequest | undefined> {
    const [r] = await this.#db.query<Row>('SELECT * FROM expansions WHERE id = ?', [id]);
    return r ? toExpansion(r) : undefined;
  }

  async expansions(
    filter: { status?: ExpansionStatus; agent?: string; limit?: number; after?: PageCursor } = {},
  ): Promise<ExpansionRequest[]> {
    const w = where([
      ['status = ?', filter.status],
      ['agent = ?', filter.agent],
      ...after('requested_at', filter.after),
    ]);
    const rows = await this.#db.query<Row>(
      `SELECT * FROM expansions${w.sql} ORDER BY requested_at DESC, id DESC LIMIT ?`,
      [...w.params, filter.limit ?? DEFAULT_QUERY_LIMIT],
    );
    return rows.map(toExpansion);
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

  async enforcedAgents(): Promise<EnforcedSpec[]> {
    return (await this.#db.query<Row>('SELECT * FROM enforced_specs ORDER BY at, agent')).map(toEnforced);
  }

  async subjectSeen(username: string): Promise<{ index: number; agent?: string } | undefined> {
    // Decision leaves name their subject as "subject":"…"; LIKE narrows, the parse decides.
    const rows = await this.#db.query<Row>(
      "SELECT idx, data FROM ledger WHERE kind IN ('decision', 'proposal') AND data LIKE ? ESCAPE '\\' ORDER BY idx LIMIT 50",
      [leafMemberPattern('subject', username)],
    );
    for (const r of rows) {
      const leaf = JSON.parse(r.data as string) as LedgerLeaf;
      if (leaf.detail?.subject === username) return { index: Number(r.idx), agent: leaf.agent };
    }
    return undefined;
  }

  async breakers(
    filter: { scope?: BreakerScope; key?: string; limit?: number; after?: { scope: BreakerScope; key: string } } = {},
  ): Promise<StoredBreaker[]> {
    const w = where([
      ['scope = ?', filter.scope],
      ['key = ?', filter.key],
      [
        '(scope > ? OR (scope = ? AND key > ?))',
        filter.after && [filter.after.scope, filter.after.scope, filter.after.key],
      ],
    ]);
    const limit = filter.limit === undefined ? '' : ' LIMIT ?';
    const rows = await this.#db.query<Row>(
      `SELECT * FROM breakers${w.sql} ORDER BY scope, key${limit}`,
      filter.limit === undefined ? w.params : [...w.params, filter.limit],
    );
    return rows.map(toBreaker);
  }

  async breaker(scope: BreakerScope, key: string): Promise<StoredBreaker> {
    const [r] = await this.#db.query<Row>('SELECT * FROM breakers WHERE scope = ? AND key = ?', [scope, key]);
    return r ? toBreaker(r) : { scope, key, state: 'closed' };
  }

  async breakerHistory(scope: BreakerScope, key: string): Promise<BreakerTransition[]> {
    return (
      await this.#db.query<Row>('SELECT * FROM breaker_transitions WHERE scope = ? AND key = ? ORDER BY seq', [
        scope,
        key,
      ])
    ).map(toTransition);
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
    const [row] = await this.#db.query<{ intent: string; expires_at: number | string }>(
      'SELECT intent, expires_at FROM declared_intents WHERE username = ? AND expires_at > ?',
      [username, now],
    );
    return row ? { intent: JSON.parse(row.intent) as Intent, expiresAt: Number(row.expires_at) } : undefined;
  }

  async recordFieldChange(c: ObservedFieldChange): Promise<void> {
    await this.#writes.solo('recordFieldChange', [c]);
  }

  async directoryVersion(): Promise<number> {
    const [r] = await this.#db.query<{ version: number }>('SELECT version FROM directory_head WHERE id = 1');
    return Number(r?.version ?? 0);
  }

  async scimRows(): Promise<StoredScimRow[]> {
    return (await this.#db.query<Row>('SELECT type, id, version, data FROM scim_resources ORDER BY created, id')).map(
      toScimRow,
    );
  }

  writeDirectory(
    writes: readonly DirectoryWrite[],
    leaves: readonly LedgerLeaf[],
    now: number,
  ): Promise<DirectoryWriteResult> {
    return this.#writes.batch('writeDirectory', [writes, leaves, now]);
  }

  attest(a: Omit<StoredAttestation, 'ledgerIndex' | 'at'>, leaf: LedgerLeaf, now: number): Promise<{ index: number }> {
    return this.#writes.batch('attest', [a, leaf, now]);
  }

  async attestations(filter: { agent?: string } = {}): Promise<StoredAttestation[]> {
    const w = where([['agent = ?', filter.agent]]);
    return (await this.#db.query<Row>(`SELECT * FROM attestations${w.sql} ORDER BY seq DESC`, w.params)).map(
      toAttestation,
    );
  }

  append(leaf: LedgerLeaf, opts: { readonly soon?: boolean } = {}): Promise<number> {
    return this.#writes.batch('append', [leaf], opts.soon ? 'soon' : 'now');
  }

  async ledgerSize(): Promise<number> {
    const [r] = await this.#db.query<{ size: number }>('SELECT size FROM ledger_head WHERE id = 1');
    return Number(r?.size ?? 0);
  }

  async entries(from: number, to: number): Promise<LedgerEntry[]> {
    return (
      await this.#db.query<Row>('SELECT idx, data, leaf_hash FROM ledger WHERE idx >= ? AND idx < ? ORDER BY idx', [
        from,
        to,
      ])
    ).map(toEntry);
  }

  async queryLedger(q: LedgerQuery): Promise<LedgerEntry[]> {
    const w = where([
      ['agent = ?', q.agent],
      ['owner = ?', q.owner],
      ['actor = ?', q.actor],
      ['object = ?', q.object],
      ['kind = ?', q.kind],
      // The leaf's chain object holds "id":"…": rows scanned by chain (the unfiled ones) are narrowed by
      // LIKE before their JSON is read (PostgreSQL: 35 ms of jsonb casts per query over 4,000 rows without).
      ["data LIKE ? ESCAPE '\\'", q.chain === undefined ? undefined : leafMemberPattern('id', q.chain)],
      [`${this.#db.dialect.types.chainOf} = ?`, q.chain],
      ['at >= ?', q.since],
      ['at < ?', q.until],
      ['idx >= ?', q.fromIndex],
    ]);
    const order = q.newestFirst ? 'DESC' : 'ASC';
    // The most selective key given leads: its filed entries come through ledger_keys.
    const key = MOST_SELECTIVE_FIRST.find((k) => q[k] !== undefined);
    const select = key
      ? keyedLedgerSelect(key, q[key] as string, w, order)
      : { sql: `SELECT idx, data, leaf_hash FROM ledger${w.sql} ORDER BY idx ${order}`, params: w.params };
    const rows = await this.#db.query<Row>(`${select.sql} LIMIT ?`, [...select.params, q.limit ?? DEFAULT_QUERY_LIMIT]);
    return rows.map(toEntry);
  }

  async ledgerRows(from: number, limit: number): Promise<LedgerRow[]> {
    const rows = await this.#db.query<Row>(
      'SELECT idx, at, kind, agent, owner, object, actor, data, leaf_hash FROM ledger WHERE idx >= ? ORDER BY idx LIMIT ?',
      [from, limit],
    );
    return rows.map((r) => ({
      index: Number(r.idx),
      data: r.data as string,
      leafHash: r.leaf_hash as Buffer,
      columns: {
        at: Number(r.at),
        kind: r.kind as string,
        agent: (r.agent as string | null) ?? null,
        owner: (r.owner as string | null) ?? null,
        object: (r.object as string | null) ?? null,
        actor: (r.actor as string | null) ?? null,
      },
    }));
  }

  ledgerKeyProblem(): Promise<{ index: number; problem: string } | undefined> {
    return this.#db.snapshot((tx) => ledgerKeyProblem(tx, this.#db.dialect.types));
  }

  async leafHashes(from: number, to: number): Promise<Buffer[]> {
    const rows = await this.#db.query<{ leaf_hash: Buffer }>(
      'SELECT leaf_hash FROM ledger WHERE idx >= ? AND idx < ? ORDER BY idx',
      [from, to],
    );
    return rows.map((r) => r.leaf_hash);
  }

  async saveCheckpoint(c: StoredCheckpoint): Promise<void> {
    await this.#writes.solo('saveCheckpoint', [c]);
  }

  async checkpoints(): Promise<StoredCheckpoint[]> {
    const rows = await this.#db.query<Row>('SELECT * FROM checkpoints ORDER BY size, at');
    return rows.map((r) => ({
      size: Number(r.size),
      time: Number(r.at),
      root: r.root as Buffer,
      keyId: r.key_id as string,
      signature: r.signature as Buffer,
    }));
  }

  async prune(before: number): Promise<void> {
    await this.#writes.solo('prune', [before]);
  }

  async close(): Promise<void> {
    await this.#writes.close();
    await this.#db.close();
  }
}
