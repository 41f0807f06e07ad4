// The one place Tether keeps what outlives a request: runtime state (budget counters, breakers,
// approvals, proposals, boundary expansions, observed field changes) and the ledger rows.
//
// Both backends are plain SQL over prepared statements (better-sqlite3, pg) rather than a query
// builder such as Kysely: the hot path is a handful of fixed statements (one prefetch, one
// group-committed write transaction) whose exact text matters for speed and for locking
// (BEGIN IMMEDIATE, FOR UPDATE, upserts), the two dialects differ only in a few fragments kept in
// one place (src/store/sql/dialect.ts), and the layer we would hide is thinner than the SQL itself.
import type { Action, Intent } from '../engine/action.ts';
import type { ApprovalAsk, BreakerScope, Effect } from '../engine/decision.ts';
import type { ApprovalStatus, BreakerState, StateView } from '../engine/state.ts';
import type { IndexedColumns, LeafKind, LedgerLeaf } from '../ledger/leaf.ts';

/** What the engine may ask about one agent besides the action itself (taken from its CompiledAgent). */
export interface AgentStateNeeds {
  readonly name: string;
  readonly budgets: readonly { readonly id: string; readonly windowMs: number }[];
  /** violationsSince(now - breakerWindowMs) */
  readonly breakerWindowMs: number;
  /** mutationsSince(now - rateWindowMs) */
  readonly rateWindowMs: number;
  readonly oscillation?: { readonly fields: readonly string[]; readonly windowMs: number };
}

export type CommitResult =
  | { readonly ok: true; readonly index: number; readonly approvalId?: string }
  /** Another decision got there first: a budget filled up, or a single-use approval was used. Nothing was written. */
  | { readonly ok: false; readonly conflict: 'budget' | 'approval'; readonly id: string };

/** A human's word on an approval request or a boundary expansion. */
export interface HumanVerdict {
  readonly by: string;
  readonly verdict: 'approved' | 'denied';
  readonly reason: string;
}

/** Who changed something by hand, and why: resets, kill switch, narrowing. */
export interface Attribution {
  readonly by: string;
  readonly reason: string;
}

export type Refusal = { readonly ok: false; readonly why: string };

export interface StoredApproval {
  readonly id: string;
  readonly agent: string;
  readonly actionDigest: string;
  readonly status: ApprovalStatus;
  readonly createdAt: number;
  /** While pending: the deadline for a verdict; once approved: the deadline for using it. */
  readonly expiresAt: number;
  readonly ttlMs: number;
  readonly usesLeft: number;
  readonly minApprovals: number;
  readonly approvers: readonly string[];
  readonly approvedBy: readonly string[];
  readonly summary: string;
  readonly rules: readonly string[];
  /** Ledger index of the pending decision that opened the request. */
  readonly requestIndex: number;
  readonly verdicts: readonly (HumanVerdict & { readonly at: number; readonly index: number })[];
}

/** The object a pending action would write, and the one it replaces (as the enforcement point saw it). */
export interface RequestedObjects {
  readonly object?: unknown;
  readonly oldObject?: unknown;
}

export interface StoredProposal {
  readonly seq: number;
  readonly agent: string;
  readonly actionDigest: string;
  readonly rules: readonly string[];
  readonly at: number;
  /** The decision entry that holds what was proposed (target, intent). */
  readonly ledgerIndex: number;
}

export type ExpansionStatus = 'pending' | 'approved' | 'denied' | 'superseded';

export interface ExpansionRequest {
  readonly id: string;
  readonly agent: string;
  readonly requestedSpec: unknown;
  readonly specDigest: string;
  /** Digest of the widening diff a human approves: what exactly they said yes to. */
  readonly diffDigest: string;
  readonly summary?: string;
  readonly requestedBy: string;
  readonly requestedAt: number;
  readonly status: ExpansionStatus;
  readonly decidedBy?: string;
  readonly decidedAt?: number;
  readonly reason?: string;
  readonly requestIndex: number;
  readonly decisionIndex?: number;
}

/** The spec Tether enforces for an agent: the last one a human approved (or a narrowing). */
export interface EnforcedSpec {
  readonly agent: string;
  readonly spec: unknown;
  readonly specDigest: string;
  readonly by: string;
  readonly at: number;
  readonly reason: string;
  readonly ledgerIndex: number;
}

export interface StoredBreaker {
  readonly scope: BreakerScope;
  readonly key: string;
  readonly state: BreakerState;
  readonly reason?: string;
  readonly rule?: string;
  readonly since?: number;
}

export interface BreakerTransition {
  readonly scope: BreakerScope;
  readonly key: string;
  readonly from: BreakerState;
  readonly to: BreakerState;
  readonly at: number;
  /** A person for resets; 'tether' when a decision tripped or closed it. */
  readonly by: string;
  readonly reason?: string;
  readonly rule?: string;
  readonly ledgerIndex: number;
}

export interface KillSwitch {
  readonly engaged: boolean;
  readonly reason?: string;
  readonly by?: string;
  readonly at?: number;
}

export interface ObservedFieldChange {
  readonly objectKey: string;
  readonly field: string;
  /** Canonical JSON of the new value. */
  readonly value: string;
  readonly actor: string;
  readonly at: number;
}

export interface LedgerEntry {
  readonly index: number;
  readonly leaf: LedgerLeaf;
  /** The exact canonical text the leaf hash commits to. */
  readonly data: string;
  readonly leafHash: Buffer;
}

/** Raw stored rows, as verification reads them: nothing parsed, nothing trusted. */
export interface LedgerRow {
  readonly index: number;
  readonly data: string;
  readonly leafHash: Buffer;
  /** The columns queries select by, as stored (verify checks them against the content). */
  readonly columns: IndexedColumns;
}

export interface LedgerQuery {
  readonly agent?: string;
  readonly owner?: string;
  readonly actor?: string;
  /** objectKey of the target, e.g. deployments.apps:shop/web */
  readonly object?: string;
  readonly kind?: LeafKind;
  /** Entries of one chain (trace) id. */
  readonly chain?: string;
  /** Leaf time range in ms since the epoch, inclusive start, exclusive end. */
  readonly since?: number;
  readonly until?: number;
  /** Only entries at or after this index (paging). */
  readonly fromIndex?: number;
  /** Newest first (the limit then keeps the latest entries). */
  readonly newestFirst?: boolean;
  readonly limit?: number;
}

export interface StoredCheckpoint {
  readonly size: number;
  readonly root: Buffer;
  readonly time: number;
  readonly keyId: string;
  readonly signature: Buffer;
}

/** Where a page of a newest-first list ended: the next page holds what comes after it. */
export interface PageCursor {
  readonly at: number;
  readonly id: string;
}

/** The lists whose rows can be counted whole (the pages of a list never say how many there are). */
export type CountedList = 'approvals' | 'proposals' | 'expansions';
/** A User or Group row as stored: the resource JSON, its version (the ETag) and type. */
export interface StoredScimRow {
  readonly type: 'User' | 'Group';
  readonly id: string;
  readonly version: number;
  readonly data: string;
}

/** One directory change; `previous` is the version it replaces (undefined: the resource must not exist yet). */
export type DirectoryWrite =
  | {
      readonly kind: 'put';
      readonly type: 'User' | 'Group';
      readonly id: string;
      /** The name SCIM keeps unique, lower-cased: userName or displayName. */
      readonly nameKey: string;
      readonly version: number;
      readonly data: string;
      readonly previous: number | undefined;
    }
  | { readonly kind: 'delete'; readonly type: 'User' | 'Group'; readonly id: string; readonly previous: number };

export type DirectoryWriteResult =
  /** `version`: the directory head after this write. */
  | { readonly ok: true; readonly indexes: readonly number[]; readonly version: number }
  | { readonly ok: false; readonly conflict: 'uniqueness' | 'version' | 'missing'; readonly why: string };

/** An owner's word that they still answer for an agent, until a time. */
export interface StoredAttestation {
  readonly agent: string;
  readonly owner: string;
  readonly until: number;
  readonly reason: string;
  readonly by: string;
  readonly at: number;
  readonly ledgerIndex: number;
}

export interface Store {
  readonly backend: 'sqlite' | 'postgres';
  /** What openStore() was given (resolved): lets another thread or process open the same store. */
  readonly location: string;

  // ── decisions ────────────────────────────────────────────────────────────────────────
  /** Everything the engine may ask about one action, read in one round trip. `agent` undefined: kill switch only. */
  stateFor(agent: AgentStateNeeds | undefined, action: Action, now: number): Promise<StateView>;
  /**
   * One transaction: check-and-increment every budget, apply every other effect, open the
   * approval request of a pending decision, append the leaf (and a breaker leaf per breaker
   * transition). All of it or nothing.
   */
  commit(
    leaf: LedgerLeaf,
    effects: readonly Effect[],
    now: number,
    opts?: { readonly approvalAsk?: ApprovalAsk; readonly requested?: RequestedObjects },
  ): Promise<CommitResult>;

  // ── approvals and proposals ──────────────────────────────────────────────────────────
  approval(id: string): Promise<StoredApproval | undefined>;
  /** Newest first; `after` continues a list where its previous page ended. */
  approvals(filter?: {
    readonly status?: ApprovalStatus;
    readonly agent?: string;
    readonly limit?: number;
    readonly after?: PageCursor;
  }): Promise<StoredApproval[]>;
  /** Records one person's verdict (ledgered). Approved once minApprovals distinct people approved; one denial denies. */
  decideApproval(
    id: string,
    verdict: HumanVerdict,
    now: number,
  ): Promise<{ readonly ok: true; readonly approval: StoredApproval; readonly index: number } | Refusal>;
  /** Newest first; `afterSeq` continues a list where its previous page ended. */
  proposals(filter?: {
    readonly agent?: string;
    readonly limit?: number;
    readonly afterSeq?: number;
  }): Promise<StoredProposal[]>;
  /** How many rows a list holds in all, for metrics and list totals. */
  count(list: CountedList, filter?: { readonly status?: string; readonly agent?: string }): Promise<number>;
  /** What the agent asked to write when it opened approval `id` (never kept for credential-bearing targets). */
  requestedObjects(id: string): Promise<RequestedObjects | undefined>;

  // ── boundary expansions ("spec is a request, status is what is enforced") ──────────────
  requestExpansion(
    req: {
      readonly agent: string;
      readonly requestedSpec: unknown;
      readonly diffDigest: string;
      readonly by: string;
      readonly summary?: string;
    },
    now: number,
  ): Promise<{ readonly id: string; readonly index: number }>;
  expansion(id: string): Promise<ExpansionRequest | undefined>;
  /** Newest first; `after` continues a list where its previous page ended. */
  expansions(filter?: {
    readonly status?: ExpansionStatus;
    readonly agent?: string;
    readonly limit?: number;
    readonly after?: PageCursor;
  }): Promise<ExpansionRequest[]>;
  /** An approval makes the requested spec the enforced one. */
  decideExpansion(
    id: string,
    verdict: HumanVerdict,
    now: number,
  ): Promise<{ readonly ok: true; readonly request: ExpansionRequest; readonly index: number } | Refusal>;
  /** Narrowing needs no approval: it is enforced at once (and ledgered). */
  enforceSpec(agent: string, spec: unknown, who: Attribution, now: number): Promise<{ readonly index: number }>;
  enforcedAgent(name: string): Promise<EnforcedSpec | undefined>;
  /** Every agent ever enforced, deleted ones too: whose boundary an identity last had. */
  enforcedAgents(): Promise<EnforcedSpec[]>;
  /** The first decision entry in which `username` acted, if it ever did. Scans the log: for registrations, not the hot path. */
  subjectSeen(username: string): Promise<{ readonly index: number; readonly agent?: string } | undefined>;

  // ── breakers and the kill switch ─────────────────────────────────────────────────────
  /** Ordered by scope, then key; `after` continues a list where its previous page ended. */
  breakers(filter?: {
    readonly scope?: BreakerScope;
    readonly key?: string;
    readonly limit?: number;
    readonly after?: { readonly scope: BreakerScope; readonly key: string };
  }): Promise<StoredBreaker[]>;
  breaker(scope: BreakerScope, key: string): Promise<StoredBreaker>;
  breakerHistory(scope: BreakerScope, key: string): Promise<BreakerTransition[]>;
  /** open → half-open: probation, closed again by the next allowed mutation. */
  resetBreaker(
    scope: BreakerScope,
    key: string,
    who: Attribution,
    now: number,
  ): Promise<{ readonly ok: true; readonly breaker: StoredBreaker; readonly index: number } | Refusal>;
  killSwitch(): Promise<KillSwitch>;
  setKillSwitch(engaged: boolean, who: Attribution, now: number): Promise<{ readonly index: number }>;

  /**
   * An agent's standing intent, for writes that cannot carry the annotation (kubectl scale,
   * kubectl delete): used by its mutations that declare none, until it expires.
   */
  declareIntent(username: string, intent: Intent, now: number, expiresAt: number): Promise<void>;
  declaredIntent(
    username: string,
    now: number,
  ): Promise<{ readonly intent: Intent; readonly expiresAt: number } | undefined>;

  /** A change seen by audit rather than decided here (an HPA moving spec.replicas): feeds oscillation. */
  recordFieldChange(change: ObservedFieldChange): Promise<void>;

  // ── directory (SCIM) and attestations ──────────────────────────────────────────────────
  /** Moves with every directory write, from any process: replicas reload when it changes. */
  directoryVersion(): Promise<number>;
  scimRows(): Promise<StoredScimRow[]>;
  /** All writes and leaves in one transaction, or nothing when any write's version or name conflicts. */
  writeDirectory(
    writes: readonly DirectoryWrite[],
    leaves: readonly LedgerLeaf[],
    now: number,
  ): Promise<DirectoryWriteResult>;
  /** Records an attestation and its ledger leaf together. */
  attest(
    a: Omit<StoredAttestation, 'ledgerIndex' | 'at'>,
    leaf: LedgerLeaf,
    now: number,
  ): Promise<{ readonly index: number }>;
  /** Newest first. */
  attestations(filter?: { readonly agent?: string }): Promise<StoredAttestation[]>;

  // ── ledger rows ──────────────────────────────────────────────────────────────────────
  /**
   * Group-committed: concurrent appends share one transaction. Resolves once durable. `soon`: an
   * observation after the fact, which joins the next commit that runs anyway (within 25 ms)
   * rather than starting one that a decision would then wait behind.
   */
  append(leaf: LedgerLeaf, opts?: { readonly soon?: boolean }): Promise<number>;
  /** The number of entries the log says it holds. */
  ledgerSize(): Promise<number>;
  /** Entries [from, to). */
  entries(from: number, to: number): Promise<LedgerEntry[]>;
  queryLedger(query: LedgerQuery): Promise<LedgerEntry[]>;
  /** Stored rows with index ≥ from, in index order, at most `limit`: gaps show as missing indexes. */
  ledgerRows(from: number, limit: number): Promise<LedgerRow[]>;
  /** The first entry the ledger's key index (agent, owner, object) misfiles, for verify; undefined when none. */
  ledgerKeyProblem(): Promise<{ readonly index: number; readonly problem: string } | undefined>;
  /** Stored leaf hashes [from, to), for building the Merkle tree. */
  leafHashes(from: number, to: number): Promise<Buffer[]>;
  saveCheckpoint(checkpoint: StoredCheckpoint): Promise<void>;
  /** Oldest first. */
  checkpoints(): Promise<StoredCheckpoint[]>;

  /** Drops runtime rows no window can reach any more (never ledger rows, approvals or history). */
  prune(before: number): Promise<void>;
  close(): Promise<void>;
}
