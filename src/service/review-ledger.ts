// The ledger as reviewers read it: drift findings with what can be done about them, and one
// entry with everything needed to check it without trusting this server (its exact bytes, the
// inclusion proof, the signed checkpoint it leads to and the public key).
import type { Ledger } from '../ledger/ledger.ts';
import type { LedgerLeaf } from '../ledger/leaf.ts';
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
    { label: 'Codify the change into Git', command: `tether drift --repo ${repo}${rev} --respond codify --branch tether/codify-drift` },
  ];
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
    out.push({ index: e.index, time: e.leaf.time, object, leaf: e.leaf, actions: actionsFor(e.leaf) });
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
  /** Absent when no signed checkpoint covers the entry yet (POST /v1/ledger/checkpoint signs one). */
  readonly checkpoint?: { readonly size: number; readonly time: number; readonly root: string; readonly keyId: string; readonly signature: string };
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
    checkpoint: c && { size: c.size, time: c.time, root: c.root.toString('base64'), keyId: c.keyId, signature: c.signature.toString('base64') },
    publicKey: { keyId: ledger.signer.keyId, pem: ledger.signer.publicKeyPem },
  };
}
