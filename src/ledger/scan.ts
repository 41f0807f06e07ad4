// Reading stored rows back and checking each on its own: the part of verification that needs no
// tree, so it can run in several threads, each over its own range of the log.
import type { LedgerRow, Store } from '../store/store.ts';
import { HASH_BYTES, leafHash } from './hash.ts';
import { INDEXED_COLUMNS, indexedColumns, type LedgerLeaf } from './leaf.ts';

const SCAN_CHUNK = 20_000;

/** Recomputed leaf hashes for consecutive positions, and the first problem met, if any. */
export interface ScannedChunk {
  readonly from: number;
  /** count × 32 bytes */
  readonly hashes: Uint8Array;
  readonly count: number;
  readonly problem?: string;
  /** The entry the problem is about, when it is not the one after the last good hash. */
  readonly badIndex?: number;
  /** The `prev` link of the range's first entry, for the caller (who holds the entry before) to check. */
  readonly headPrev?: string;
}

interface Checked {
  readonly problem?: string;
  readonly badIndex?: number;
  readonly prev?: string;
}

const shown = (v: unknown) => (v === null ? 'nothing' : JSON.stringify(v));

/** The first indexed column whose stored value is not what the entry's content says. */
function columnProblem(expected: number, r: LedgerRow, leaf: LedgerLeaf): string | undefined {
  const derived = indexedColumns(leaf);
  for (const c of INDEXED_COLUMNS) {
    if (r.columns[c] !== derived[c])
      return `entry ${expected} was altered: its indexed ${c} column holds ${shown(r.columns[c])} but the entry says ${shown(derived[c])} (queries by ${c} would miss or misfile it)`;
  }
  return undefined;
}

/** What is wrong with one stored row expected at position `expected`, if anything. */
function rowProblem(expected: number, r: LedgerRow, recomputed: Buffer): Checked {
  if (r.index !== expected) return { problem: `entry ${expected} is missing (the next stored entry is ${r.index})` };
  if (Buffer.compare(recomputed, r.leafHash) !== 0)
    return { problem: `entry ${expected} was altered: its content does not match its stored leaf hash` };
  let leaf: LedgerLeaf;
  try {
    leaf = JSON.parse(r.data) as LedgerLeaf;
  } catch {
    return { problem: `entry ${expected} was altered: it is not valid JSON` };
  }
  if (leaf.index !== expected)
    return { problem: `entry ${expected} is out of place: it holds the entry written at index ${String(leaf.index)}` };
  const problem = columnProblem(expected, r, leaf);
  return problem ? { problem } : { prev: leaf.prev };
}

/** Entry `index` links to `claimed` as its predecessor's hash; the predecessor now hashes to `actual`. */
export function linkProblem(index: number, claimed: string, actual: Uint8Array): Checked | undefined {
  const hex = Buffer.from(actual).toString('hex');
  if (claimed === hex) return undefined;
  return {
    badIndex: index - 1,
    problem: `entry ${index - 1} was rewritten together with its stored hash: entry ${index} was appended after an entry hashing to ${claimed.slice(0, 16)}…, the stored one hashes to ${hex.slice(0, 16)}…`,
  };
}

/**
 * Scans positions [from, to) (to may be Infinity), chunk by chunk, trusting nothing stored:
 * every row must sit at the next position, match its stored hash, claim its own position, be
 * filed under the columns its content gives, and link to the entry before it.
 * Stops after the first problem, or where the stored rows end.
 */
export async function* scanRows(store: Store, from: number, to: number): AsyncGenerator<ScannedChunk> {
  let expected = from;
  let previous: { hash: Buffer; linked: boolean } | undefined;
  let headPrev: string | undefined;
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
    let found: Checked | undefined;
    for (const r of rows) {
      if (expected >= to) break;
      const h = leafHash(r.data);
      const checked = rowProblem(expected, r, h);
      found = checked.problem ? checked : linkCheck(expected, checked.prev, previous);
      if (found?.problem) break;
      if (expected === from && from > 0) headPrev = checked.prev;
      hashes.set(h, (expected - start) * HASH_BYTES);
      previous = { hash: h, linked: checked.prev !== undefined };
      expected++;
    }
    const count = expected - start;
    if (count > 0 || found?.problem) {
      yield {
        from: start,
        hashes: hashes.subarray(0, count * HASH_BYTES),
        count,
        problem: found?.problem,
        badIndex: found?.badIndex,
        headPrev,
      };
      headPrev = undefined;
    }
    if (found?.problem || !more) return;
  }
}

function linkCheck(
  index: number,
  prev: string | undefined,
  previous: { hash: Buffer; linked: boolean } | undefined,
): Checked | undefined {
  if (!previous) return undefined;
  if (prev === undefined)
    return previous.linked
      ? {
          problem: `entry ${index} was altered: it lost the link to entry ${index - 1} that every entry after a linked one carries`,
        }
      : undefined;
  return linkProblem(index, prev, previous.hash);
}
