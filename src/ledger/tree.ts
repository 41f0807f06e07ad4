import { EMPTY_ROOT, HASH_BYTES, isPowerOfTwo, nodeHash, pairHash, splitPoint } from './hash.ts';

/** A growable array of 32-byte hashes in one buffer: a million hashes is one allocation, not a million. */
class HashColumn {
  #bytes = Buffer.allocUnsafe(HASH_BYTES * 1024);
  length = 0;

  push(h: Uint8Array): void {
    if ((this.length + 1) * HASH_BYTES > this.#bytes.length) {
      const grown = Buffer.allocUnsafe(this.#bytes.length * 2);
      this.#bytes.copy(grown, 0, 0, this.length * HASH_BYTES);
      this.#bytes = grown;
    }
    this.#bytes.set(h, this.length * HASH_BYTES);
    this.length++;
  }

  /** The parent of the last two slots (the caller knows the count is even). */
  lastPairHash(): Buffer {
    return pairHash(this.#bytes, (this.length - 2) * HASH_BYTES);
  }

  /** A view, not a copy: slots are never overwritten, so the view stays true. */
  at(i: number): Buffer {
    return this.#bytes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES);
  }
}

/**
 * An RFC 6962 Merkle tree held in memory with every complete subtree's hash cached
 * (level k holds the roots of the aligned subtrees of 2^k leaves). An append hashes at most
 * log2(n) new nodes; a root, inclusion proof or consistency proof for any size reads O(log n)
 * cached nodes and hashes O(log n) more for the ragged right edge.
 */
export class MerkleTree {
  readonly #levels: HashColumn[] = [new HashColumn()];

  get size(): number {
    return (this.#levels[0] as HashColumn).length;
  }

  append(leaf: Uint8Array): void {
    if (leaf.length !== HASH_BYTES) throw new RangeError(`a leaf hash has ${HASH_BYTES} bytes, not ${leaf.length}`);
    let level = 0;
    let hash: Uint8Array = leaf;
    for (;;) {
      const column = this.#levels[level] ?? this.#newLevel();
      column.push(hash);
      if (column.length % 2 === 1) return;
      hash = column.lastPairHash();
      level++;
    }
  }

  leafHash(index: number): Buffer {
    this.#checkIndex(index, this.size);
    return (this.#levels[0] as HashColumn).at(index);
  }

  /** MTH of the first `size` leaves. */
  root(size: number = this.size): Buffer {
    this.#checkSize(size);
    return size === 0 ? EMPTY_ROOT : this.#subtree(0, size);
  }

  /** RFC 6962 §2.1.1 PATH(index, D[size]), leaf-side first. */
  inclusionProof(index: number, size: number = this.size): Buffer[] {
    this.#checkSize(size);
    this.#checkIndex(index, size);
    const proof: Buffer[] = [];
    this.#path(index, 0, size, proof);
    return proof;
  }

  /** RFC 6962 §2.1.2 PROOF(from, D[to]): empty when from is 0 or equals to. */
  consistencyProof(from: number, to: number = this.size): Buffer[] {
    this.#checkSize(to);
    if (!Number.isSafeInteger(from) || from < 0 || from > to)
      throw new RangeError(`no consistency proof from size ${from} to ${to}`);
    const proof: Buffer[] = [];
    if (from > 0 && from < to) this.#subproof(from, 0, to, true, proof);
    return proof;
  }

  #path(m: number, start: number, n: number, out: Buffer[]): void {
    if (n === 1) return;
    const k = splitPoint(n);
    if (m < k) {
      this.#path(m, start, k, out);
      out.push(this.#subtree(start + k, n - k));
    } else {
      this.#path(m - k, start + k, n - k, out);
      out.push(this.#subtree(start, k));
    }
  }

  #subproof(m: number, start: number, n: number, whole: boolean, out: Buffer[]): void {
    if (m === n) {
      if (!whole) out.push(this.#subtree(start, n));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      this.#subproof(m, start, k, whole, out);
      out.push(this.#subtree(start + k, n - k));
    } else {
      this.#subproof(m - k, start + k, n - k, false, out);
      out.push(this.#subtree(start, k));
    }
  }

  /** MTH(D[start : start+n]); aligned power-of-two ranges come straight from the cache. */
  #subtree(start: number, n: number): Buffer {
    if (isPowerOfTwo(n) && start % n === 0) {
      const level = Math.log2(n);
      const column = this.#levels[level];
      if (column && start / n < column.length) return column.at(start / n);
    }
    const k = splitPoint(n);
    return nodeHash(this.#subtree(start, k), this.#subtree(start + k, n - k));
  }

  #newLevel(): HashColumn {
    const column = new HashColumn();
    this.#levels.push(column);
    return column;
  }

  #checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.size)
      throw new RangeError(`tree size ${size} is not between 0 and ${this.size}`);
  }

  #checkIndex(index: number, size: number): void {
    if (!Number.isSafeInteger(index) || index < 0 || index >= size)
      throw new RangeError(`index ${index} is not in a tree of size ${size}`);
  }
}
