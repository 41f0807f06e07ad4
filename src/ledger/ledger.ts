import type { LedgerEntry, Store, StoredCheckpoint } from '../store/store.ts';
import { CheckpointSigner } from './checkpoint.ts';
import { MerkleTree } from './tree.ts';

const SYNC_CHUNK = 100_000;

export interface InclusionProof {
  readonly index: number;
  readonly size: number;
  readonly leafHash: string;
  readonly root: string;
  /** Sibling hashes, leaf side first (hex). */
  readonly proof: readonly string[];
  readonly entry: LedgerEntry;
  /** The signed checkpoint the proof leads to, when it was made at that size. */
  readonly checkpoint?: StoredCheckpoint;
}

export interface ConsistencyProof {
  readonly from: number;
  readonly to: number;
  readonly fromRoot: string;
  readonly toRoot: string;
  readonly proof: readonly string[];
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * The ledger as a Merkle log over a Store: keeps the tree in memory (synced from the stored leaf
 * hashes on demand, so it follows appends from other processes), makes proofs and signs
 * checkpoints.
 */
export class Ledger {
  readonly store: Store;
  readonly #signer: () => CheckpointSigner;
  readonly #tree = new MerkleTree();
  #syncing: Promise<MerkleTree> | undefined;

  /** `signer` is called only when a checkpoint is signed, so read-only uses need no key. */
  constructor(store: Store, signer: () => CheckpointSigner) {
    this.store = store;
    this.#signer = signer;
  }

  /** A ledger whose signing key lives in `dataDir` (created there on first use). */
  static inDataDir(store: Store, dataDir: string): Ledger {
    let signer: CheckpointSigner | undefined;
    return new Ledger(store, () => {
      signer ??= CheckpointSigner.inDirectory(dataDir);
      return signer;
    });
  }

  get signer(): CheckpointSigner {
    return this.#signer();
  }

  /** The tree, brought up to the store's current size. */
  tree(): Promise<MerkleTree> {
    this.#syncing ??= this.#sync().finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  async #sync(): Promise<MerkleTree> {
    const size = await this.store.ledgerSize();
    while (this.#tree.size < size) {
      const from = this.#tree.size;
      const to = Math.min(size, from + SYNC_CHUNK);
      const hashes = await this.store.leafHashes(from, to);
      if (hashes.length !== to - from) throw new Error(`ledger rows between ${from} and ${to} are missing: run tether ledger verify`);
      for (const h of hashes) this.#tree.append(h);
    }
    return this.#tree;
  }

  async head(): Promise<{ size: number; root: string }> {
    const t = await this.tree();
    return { size: t.size, root: hex(t.root()) };
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    return (await this.store.checkpoints()).at(-1);
  }

  /** Signs the current head, unless the latest checkpoint already covers it. */
  async checkpoint(now: number = Date.now()): Promise<StoredCheckpoint> {
    const t = await this.tree();
    const latest = await this.latestCheckpoint();
    const signer = this.#signer();
    if (latest && latest.size === t.size && latest.keyId === signer.keyId) return latest;
    const c = signer.sign(t.size, t.root(), now);
    await this.store.saveCheckpoint(c);
    return c;
  }

  /** Checkpoints every `everyMs` while the process runs; the timer never keeps it alive. */
  autoCheckpoint(everyMs: number, onError: (err: unknown) => void = () => undefined): { stop(): void } {
    const timer = setInterval(() => void this.checkpoint().catch(onError), everyMs);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }

  /** Inclusion of entry `index` in the tree of `size` entries (default: the latest checkpoint's, else the current size). */
  async prove(index: number, size?: number): Promise<InclusionProof> {
    const t = await this.tree();
    const latest = await this.latestCheckpoint();
    const at = size ?? (latest && latest.size > index ? latest.size : t.size);
    const [entry] = await this.store.entries(index, index + 1);
    if (!entry) throw new RangeError(`no ledger entry ${index} (the log has ${t.size})`);
    return {
      index,
      size: at,
      leafHash: hex(t.leafHash(index)),
      root: hex(t.root(at)),
      proof: t.inclusionProof(index, at).map(hex),
      entry,
      checkpoint: latest?.size === at ? latest : undefined,
    };
  }

  async proveConsistency(from: number, to?: number): Promise<ConsistencyProof> {
    const t = await this.tree();
    const end = to ?? t.size;
    return { from, to: end, fromRoot: hex(t.root(from)), toRoot: hex(t.root(end)), proof: t.consistencyProof(from, end).map(hex) };
  }
}
