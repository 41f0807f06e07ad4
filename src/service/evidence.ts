// Ledger entries as evidence: each with its inclusion proof, checked here against the latest
// signed checkpoint (signature, leaf hash over the stored text, path to the signed root), so an
// answer built from them says which of its parts are proven and which are not.
import { verifyCheckpoint } from '../ledger/checkpoint.ts';
import { leafHash } from '../ledger/hash.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { MerkleTree } from '../ledger/tree.ts';
import type { LedgerEntry, StoredCheckpoint } from '../store/store.ts';

export interface ProvenEntry {
  readonly index: number;
  readonly leaf: LedgerEntry['leaf'];
  /** The inclusion path (hex, leaf side first) to the checkpoint's root, and whether it checked out. */
  readonly proof: {
    readonly verified: boolean;
    readonly treeSize: number;
    readonly path: readonly string[];
    readonly problem?: string;
  };
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
  /** The in-memory tree at the checkpoint's size has the signed root: its leaf hashes are the signed ones. */
  readonly #treeMatches: boolean;

  private constructor(ledger: Ledger, tree: MerkleTree, checkpoint: StoredCheckpoint) {
    this.#tree = tree;
    this.checkpoint = checkpoint;
    this.signatureValid = verifyCheckpoint(checkpoint, ledger.signer.publicKey);
    this.#treeMatches = checkpoint.size <= tree.size && tree.root(checkpoint.size).equals(checkpoint.root);
  }

  /** Against the latest checkpoint, signing a new one first when it does not cover `highestIndex` yet. */
  static async covering(ledger: Ledger, highestIndex: number): Promise<EvidenceProver> {
    let cp = await ledger.latestCheckpoint();
    if (!cp || cp.size <= highestIndex || cp.keyId !== ledger.signer.keyId) cp = await ledger.checkpoint();
    return new EvidenceProver(ledger, await ledger.tree(), cp);
  }

  info(): CheckpointInfo {
    const c = this.checkpoint;
    return {
      size: c.size,
      root: c.root.toString('hex'),
      time: new Date(c.time).toISOString(),
      keyId: c.keyId,
      signatureValid: this.signatureValid,
    };
  }

  /**
   * The stored text is rehashed (never the stored hash trusted) and must be the leaf the signed
   * tree holds at that position. Checking the tree's root against the signed root once, then each
   * leaf against the tree, is the same check as walking every path to the root, at a fraction of
   * the cost for answers with thousands of entries; the path is returned so anyone can walk it.
   */
  prove(entry: LedgerEntry): ProvenEntry {
    const size = this.checkpoint.size;
    if (entry.index >= size)
      return {
        index: entry.index,
        leaf: entry.leaf,
        proof: { verified: false, treeSize: size, path: [], problem: 'not covered by the checkpoint' },
      };
    const path = this.#tree.inclusionProof(entry.index, size);
    const rehashed = leafHash(entry.data);
    const problem = !this.signatureValid
      ? 'checkpoint signature invalid'
      : !this.#treeMatches
        ? 'the stored log does not have the signed root'
        : !rehashed.equals(entry.leafHash)
          ? 'stored leaf hash does not match its text'
          : !rehashed.equals(this.#tree.leafHash(entry.index))
            ? 'not included in the signed tree'
            : undefined;
    return {
      index: entry.index,
      leaf: entry.leaf,
      proof: {
        verified: problem === undefined,
        treeSize: size,
        path: path.map((h) => h.toString('hex')),
        ...(problem ? { problem } : {}),
      },
    };
  }
}
