// RFC 6962 §2.1 hashing: a leaf is SHA-256(0x00 ‖ data), an interior node SHA-256(0x01 ‖ left ‖ right).
// The prefixes keep a leaf from ever being passed off as a node (second-preimage resistance).
import { hash } from 'node:crypto';

export const HASH_BYTES = 32;

/** MTH({}) — the hash of the empty string. */
export const EMPTY_ROOT: Buffer = hash('sha256', '', 'buffer');

// Verifying a million entries hashes two million times: the inputs are assembled in reused
// buffers rather than a fresh allocation per hash (hash() is synchronous, so reuse is safe).
let leafInput = Buffer.allocUnsafe(16 * 1024);
const nodeInput = Buffer.allocUnsafe(1 + 2 * HASH_BYTES);

export function leafHash(data: Uint8Array | string): Buffer {
  if (typeof data === 'string') {
    if (leafInput.length < 1 + 3 * data.length) leafInput = Buffer.allocUnsafe(1 + 3 * data.length);
    leafInput[0] = 0x00;
    const n = leafInput.write(data, 1, 'utf8');
    return hash('sha256', leafInput.subarray(0, 1 + n), 'buffer');
  }
  const input = Buffer.allocUnsafe(data.length + 1);
  input[0] = 0x00;
  input.set(data, 1);
  return hash('sha256', input, 'buffer');
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length === HASH_BYTES && right.length === HASH_BYTES) {
    nodeInput[0] = 0x01;
    nodeInput.set(left, 1);
    nodeInput.set(right, 1 + HASH_BYTES);
    return hash('sha256', nodeInput, 'buffer');
  }
  const input = Buffer.allocUnsafe(1 + left.length + right.length);
  input[0] = 0x01;
  input.set(left, 1);
  input.set(right, 1 + left.length);
  return hash('sha256', input, 'buffer');
}

/** nodeHash of two adjacent 32-byte hashes stored at `offset` in `bytes` (left first). */
export function pairHash(bytes: Buffer, offset: number): Buffer {
  nodeInput[0] = 0x01;
  bytes.copy(nodeInput, 1, offset, offset + 2 * HASH_BYTES);
  return hash('sha256', nodeInput, 'buffer');
}

/** The largest power of two strictly smaller than n (n ≥ 2): where RFC 6962 splits a tree. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

export function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}
