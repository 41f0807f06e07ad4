import { canonicalJson } from '../common/canonical-json.ts';
import { type ChainContext, objectKey, type Target, type ToolCall } from '../engine/action.ts';
import type { AuthorityClass } from '../policy/schema.ts';

/** Every kind of entry the ledger holds; queries by kind accept exactly these. */
export const LEAF_KINDS = [
  'decision',
  'approval',
  'proposal',
  'breaker',
  'boundary',
  'drift',
  'audit',
  'tool-result',
  'intent',
  'owner',
] as const;
export type LeafKind = (typeof LEAF_KINDS)[number];

/**
 * One ledger entry, committed to by the Merkle tree through its canonical JSON (RFC 8785).
 * Never holds Secret data or tokens: objects appear only as digests.
 */
export interface LedgerLeaf {
  readonly v: 1;
  /**
   * Position in the log, written by the store as it appends: a row moved to another place
   * no longer matches its own content, so a reordering is caught at the first moved entry.
   */
  readonly index?: number;
  /**
   * The leaf hash (hex) of the entry before this one, written by the store as it appends. The
   * Merkle root already commits to order; the link lets verify name the exact entry that was
   * rewritten (hash and all) rather than only the range between two checkpoints.
   */
  readonly prev?: string;
  /** ISO 8601 time the entry was written. */
  readonly time: string;
  readonly kind: LeafKind;
  readonly agent?: string;
  readonly owner?: string;
  readonly authorityClass?: AuthorityClass;
  /** Human actor for approvals, resets and boundary decisions. */
  readonly actor?: string;
  readonly source?: string;
  readonly verb?: string;
  readonly target?: Target;
  readonly tool?: ToolCall;
  readonly actionDigest?: string;
  readonly objectDigest?: string;
  readonly intent?: {
    readonly summary: string;
    readonly trigger?: string;
    readonly goal?: string;
    readonly targets?: readonly unknown[];
  };
  readonly intentDigest?: string;
  readonly chain?: ChainContext;
  readonly decision?: 'allow' | 'deny' | 'pending';
  readonly rules?: readonly string[];
  readonly message?: string;
  readonly policyVersion?: string;
  readonly approvals?: readonly string[];
  /** The approval request a pending decision opened. */
  readonly approvalRequest?: string;
  readonly auditId?: string;
  /** Kind-specific facts (breaker transition, drift paths, approval verdict…), never secrets. */
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** The exact text a leaf's hash commits to: RFC 8785 canonical JSON with the log position inside. */
export function leafData(index: number, leaf: LedgerLeaf): string {
  return canonicalJson({ ...leaf, index });
}

/**
 * The columns the store indexes a leaf by, derived from its content. The store writes them from
 * here and verify recomputes them from here: an edited column (a row hidden from
 * `ledger show --agent`) is caught at its exact index.
 */
export interface IndexedColumns {
  readonly at: number;
  readonly kind: string;
  readonly agent: string | null;
  readonly owner: string | null;
  readonly object: string | null;
  readonly actor: string | null;
}

export const INDEXED_COLUMNS: readonly (keyof IndexedColumns)[] = ['at', 'kind', 'agent', 'owner', 'object', 'actor'];

export function indexedColumns(leaf: LedgerLeaf): IndexedColumns {
  return {
    at: Date.parse(leaf.time),
    kind: leaf.kind,
    agent: leaf.agent ?? null,
    owner: leaf.owner ?? null,
    object: leaf.target ? objectKey(leaf.target) : null,
    actor: leaf.actor ?? null,
  };
}
