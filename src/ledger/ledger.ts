import type { LedgerEntry, Store, StoredCheckpoint } from '../store/store.ts';
import { CheckpointSigner, type KeyLocation, type KeyOptions, locateSigningKey } from './checkpoint.ts';
import { MerkleTree } from './tree.ts';
import type { CheckpointSink } from './witness.ts';

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
  /** How old an entry no checkpoint covers may be before verify fails (the server's verify route). */
  maxUnsignedAgeMs = 3_600_000;
  readonly #signer: () => CheckpointSigner;
  readonly #tree = new MerkleTree();
  #syncing: Promise<MerkleTree> | undefined;
  readonly #sinks: { sink: CheckpointSink; onError: (err: unknown) => void }[] = [];
  #keyLocation: (() => KeyLocation) | undefined;

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

  /** A ledger whose key is found by locateSigningKey (a file, the environment, or the data directory). */
  static withKey(store: Store, o: KeyOptions): Ledger {
    let found: KeyLocation | undefined;
    const locate = () => {
      found ??= locateSigningKey(o);
      return found;
    };
    const ledger = new Ledger(store, () => locate().signer);
    ledger.#keyLocation = locate;
    return ledger;
  }

  get signer(): CheckpointSigner {
    return this.#signer();
  }

  /** False when no key could be found (a process that appends to a shared store but does not sign). */
  get canSign(): boolean {
    try {
      this.#signer();
      return true;
    } catch {
      return false;
    }
  }

  /** Where the key was found (ledgers made by withKey only). */
  get keyLocation(): KeyLocation | undefined {
    return this.#keyLocation?.();
  }

  /** Every checkpoint signed from now on is also handed to `sink`; a failing sink never stops signing. */
  publishTo(sink: CheckpointSink, onError: (err: unknown) => void = () => undefined): void {
    this.#sinks.push({ sink, onError });
  }

  /** Hands the latest checkpoint to every sink again (at start-up: a sink may be new). */
  async publishLatest(): Promise<void> {
    const latest = await this.latestCheckpoint();
    if (latest) await this.#publish(latest);
  }

  async #publish(c: StoredCheckpoint): Promise<void> {
    await Promise.all(this.#sinks.map(({ sink, onError }) => sink.publish(c).catch(onError)));
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
      if (hashes.length !== to - from)
        throw new Error(`ledger rows between ${from} and ${to} are missing: run tether ledger verify`);
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
    await this.#publish(c);
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
    return {
      from,
      to: end,
      fromRoot: hex(t.root(from)),
      toRoot: hex(t.root(end)),
      proof: t.consistencyProof(from, end).map(hex),
    };
  }
}
