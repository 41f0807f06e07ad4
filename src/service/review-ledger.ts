// The ledger as reviewers read it: drift findings with what can be done about them, and one
// entry with everything needed to check it without trusting this server (its exact bytes, the
// inclusion proof, the signed checkpoint it leads to and the public key).
import type { Ledger } from '../ledger/ledger.ts';
import type { LedgerLeaf } from '../ledger/leaf.ts';
import { type PublishedCheckpoint, published } from '../ledger/witness.ts';
import { objectKey } from '../engine/action.ts';
import type { Store } from '../store/store.ts';

export interface DriftFinding {
  readonly index: number;
  readonly time: string;
  readonly object: string;
  readonly leaf: LedgerLeaf;
  /** The CLI commands that act on it; the server itself never reverts or commits. */
  readonly actions: readonly { readonly label: string; readonly command: string }[];
}

const MAX_DRIFT_ENTRIES = 500;

function actionsFor(leaf: LedgerLeaf): DriftFinding['actions'] {
  const d = (leaf.detail ?? {}) as { source?: string; revision?: string };
  const repo = '<gitops checkout>';
  const rev = d.revision ? ` --revision ${d.revision}` : '';
  return [
    { label: 'See it', command: `tether drift --repo ${repo}${rev}` },
    { label: 'Revert the cluster to Git', command: `tether drift --repo ${repo}${rev} --respond revert` },
    {
      label: 'Codify the change into Git',
      command: `tether drift --repo ${repo}${rev} --respond codify --branch tether/codify-drift`,
    },
  ];
}

/**
 * The finding as the console shows it: what drifted and who did it. The value digests stay in the
 * ledger (GET /v1/ledger): a reviewer needs none, and a digest of a weak Secret value is a guess away from it.
 */
function shown(leaf: LedgerLeaf): LedgerLeaf {
  const { actionDigest: _a, objectDigest: _o, intentDigest: _i, ...rest } = leaf;
  const detail = leaf.detail as { fields?: unknown } | undefined;
  if (!detail || !Array.isArray(detail.fields)) return rest;
  const fields = (detail.fields as Record<string, unknown>[]).map(({ desiredDigest: _d, liveDigest: _l, ...f }) => f);
  return { ...rest, detail: { ...detail, fields } };
}

/** The latest finding per object, newest first. */
export async function driftFindings(store: Store): Promise<DriftFinding[]> {
  const entries = await store.queryLedger({ kind: 'drift', newestFirst: true, limit: MAX_DRIFT_ENTRIES });
  const seen = new Set<string>();
  const out: DriftFinding[] = [];
  for (const e of entries) {
    const object = e.leaf.target ? objectKey(e.leaf.target) : `#${e.index}`;
    if (seen.has(object)) continue;
    seen.add(object);
    out.push({ index: e.index, time: e.leaf.time, object, leaf: shown(e.leaf), actions: actionsFor(e.leaf) });
  }
  return out;
}

export interface ProofBundle {
  readonly index: number;
  /** The exact canonical text the leaf hash commits to: the browser hashes this, never a re-serialisation. */
  readonly data: string;
  readonly size: number;
  /** Sibling hashes, leaf side first (hex). */
  readonly proof: readonly string[];
  /** What the server computed; a verifier recomputes both and compares with the checkpoint, not with these. */
  readonly leafHash: string;
  readonly root: string;
  /** As witnesses see it (GET /v1/ledger/checkpoints/latest); absent when none covers the entry yet (POST /v1/ledger/checkpoint signs one). */
  readonly checkpoint?: PublishedCheckpoint;
  readonly publicKey: { readonly keyId: string; readonly pem: string };
}

export async function proofBundle(ledger: Ledger, index: number): Promise<ProofBundle> {
  const p = await ledger.prove(index);
  const c = p.checkpoint;
  return {
    index,
    data: p.entry.data,
    size: p.size,
    proof: p.proof,
    leafHash: p.leafHash,
    root: p.root,
    checkpoint: c && published(c),
    publicKey: { keyId: ledger.signer.keyId, pem: ledger.signer.publicKeyPem },
  };
}
