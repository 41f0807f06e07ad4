// Ledger entries as evidence: each with its inclusion proof, checked here against the latest
// signed checkpoint (signature, leaf hash over the stored text, path to the signed root), so an
// answer built from them says which of its parts are proven and which are not.
import { verifyCheckpoint } from '../ledger/checkpoint.ts';
import { leafHash } from '../ledger/hash.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { verifyInclusion } from '../ledger/proof.ts';
import type { MerkleTree } from '../ledger/tree.ts';
import type { LedgerEntry, StoredCheckpoint } from '../store/store.ts';

export interface ProvenEntry {
  readonly index: number;
  readonly leaf: LedgerEntry['leaf'];
  /** The inclusion path (hex, leaf side first) to the checkpoint's root, and whether it checked out. */
  readonly proof: { readonly verified: boolean; readonly treeSize: number; readonly path: readonly string[]; readonly problem?: string };
}

export interface CheckpointInfo {
  readonly size: number;
  readonly root: string;
  readonly time: string;
  readonly keyId: string;
  readonly signatureValid: boolean;
}

export class EvidenceProver {
  readonly #tree: MerkleTree;
  readonly checkpoint: StoredCheckpoint;
  readonly signatureValid: boolean;

  private constructor(ledger: Ledger, tree: MerkleTree, checkpoint: StoredCheckpoint) {
    this.#tree = tree;
    this.checkpoint = checkpoint;
    this.signatureValid = verifyCheckpoint(checkpoint, ledger.signer.publicKey);
  }

  /** Against the latest checkpoint, signing a new one first when it does not cover `highestIndex` yet. */
  static async covering(ledger: Ledger, highestIndex: number): Promise<EvidenceProver> {
    let cp = await ledger.latestCheckpoint();
    if (!cp || cp.size <= highestIndex || cp.keyId !== ledger.signer.keyId) cp = await ledger.checkpoint();
    return new EvidenceProver(ledger, await ledger.tree(), cp);
  }

  info(): CheckpointInfo {
    const c = this.checkpoint;
    return { size: c.size, root: c.root.toString('hex'), time: new Date(c.time).toISOString(), keyId: c.keyId, signatureValid: this.signatureValid };
  }

  prove(entry: LedgerEntry): ProvenEntry {
    const size = this.checkpoint.size;
    if (entry.index >= size) return { index: entry.index, leaf: entry.leaf, proof: { verified: false, treeSize: size, path: [], problem: 'not covered by the checkpoint' } };
    // The path comes from the in-memory tree; the stored text is rehashed here, not trusted.
    const path = this.#tree.inclusionProof(entry.index, size);
    const hashMatches = leafHash(entry.data).equals(entry.leafHash);
    const included = verifyInclusion(entry.index, size, leafHash(entry.data), path, this.checkpoint.root);
    const verified = this.signatureValid && hashMatches && included;
    const problem = !this.signatureValid
      ? 'checkpoint signature invalid'
      : !hashMatches
        ? 'stored leaf hash does not match its text'
        : !included
          ? 'not included in the signed tree'
          : undefined;
    return { index: entry.index, leaf: entry.leaf, proof: { verified, treeSize: size, path: path.map((h) => h.toString('hex')), ...(problem ? { problem } : {}) } };
  }
}
