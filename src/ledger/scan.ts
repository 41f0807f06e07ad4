// Reading stored rows back and checking each on its own: the part of verification that needs no
// tree, so it can run in several threads, each over its own range of the log.
import type { LedgerRow, Store } from '../store/store.ts';
import { HASH_BYTES, leafHash } from './hash.ts';

const SCAN_CHUNK = 20_000;

/** Recomputed leaf hashes for consecutive positions, and the first problem met, if any. */
export interface ScannedChunk {
  readonly from: number;
  /** count × 32 bytes */
  readonly hashes: Uint8Array;
  readonly count: number;
  readonly problem?: string;
}

const POSITION = '"index":';

/**
 * The position an entry claims. Inside JSON strings every quote is escaped, so `"index":` occurs
 * only as a key: when it occurs once, that is the top-level one and no full parse is needed.
 */
function claimedPosition(data: string): unknown {
  const at = data.indexOf(POSITION);
  if (at >= 0 && at === data.lastIndexOf(POSITION)) {
    let end = at + POSITION.length;
    while (end < data.length && data.charCodeAt(end) >= 48 && data.charCodeAt(end) <= 57) end++;
    const next = data[end];
    if (end > at + POSITION.length && (next === ',' || next === '}')) return Number(data.slice(at + POSITION.length, end));
  }
  return (JSON.parse(data) as { index?: unknown }).index;
}

/** What is wrong with one stored row expected at position `expected`, if anything. */
function rowProblem(expected: number, r: LedgerRow, recomputed: Buffer): string | undefined {
  if (r.index !== expected) return `entry ${expected} is missing (the next stored entry is ${r.index})`;
  if (Buffer.compare(recomputed, r.leafHash) !== 0) return `entry ${expected} was altered: its content does not match its stored leaf hash`;
  let claimed: unknown;
  try {
    claimed = claimedPosition(r.data);
  } catch {
    return `entry ${expected} was altered: it is not valid JSON`;
  }
  if (claimed !== expected) return `entry ${expected} is out of place: it holds the entry written at index ${String(claimed)}`;
  return undefined;
}

/**
 * Scans positions [from, to) (to may be Infinity), chunk by chunk, trusting nothing stored:
 * every row must sit at the next position, match its stored hash and claim its own position.
 * Stops after the first problem, or where the stored rows end.
 */
export async function* scanRows(store: Store, from: number, to: number): AsyncGenerator<ScannedChunk> {
  let expected = from;
  // The next chunk is requested before this one is hashed, so a remote database reads while we work.
  let next = store.ledgerRows(from, SCAN_CHUNK);
  for (;;) {
    const rows = await next;
    const last = rows.at(-1);
    const more = rows.length === SCAN_CHUNK && last !== undefined && last.index + 1 < to;
    if (more) {
      next = store.ledgerRows(last.index + 1, SCAN_CHUNK);
      next.catch(() => undefined);
    }
    const start = expected;
    const hashes = new Uint8Array(rows.length * HASH_BYTES);
    let problem: string | undefined;
    for (const r of rows) {
      if (expected >= to) break;
      const h = leafHash(r.data);
      problem = rowProblem(expected, r, h);
      if (problem) break;
      hashes.set(h, (expected - start) * HASH_BYTES);
      expected++;
    }
    const count = expected - start;
    if (count > 0 || problem) yield { from: start, hashes: hashes.subarray(0, count * HASH_BYTES), count, problem };
    if (problem || !more) return;
  }
}
