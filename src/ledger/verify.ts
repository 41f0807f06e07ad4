import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Store, StoredCheckpoint } from '../store/store.ts';
import { keyIdOf, verifyCheckpoint } from './checkpoint.ts';
import { HASH_BYTES } from './hash.ts';
import { type ScannedChunk, linkProblem, scanRows } from './scan.ts';
import { MerkleTree } from './tree.ts';
import { type Witnessed, witnessProblems } from './witness.ts';
import { siblingModule } from '../common/module-url.ts';

export interface VerifyReport {
  readonly ok: boolean;
  /** Entries checked (the stored rows that verified, in order). */
  readonly verified: number;
  /** The size the log claims. */
  readonly size: number;
  readonly checkpoints: number;
  /** The first entry that is missing, altered or out of place. */
  readonly firstBadIndex?: number;
  readonly problems: readonly string[];
  /** Earlier checkpoints held outside the database that the log was proved consistent with (or not). */
  readonly witnessed?: readonly {
    readonly size: number;
    readonly time: number;
    readonly consistent: boolean;
    readonly proofHashes: number;
  }[];
}

export interface VerifyOptions {
  readonly threads?: number;
  /**
   * Entries not covered by a signed checkpoint may be at most this old (ms): a ledger whose
   * checkpoints were deleted, or that Tether stopped signing, fails. Undefined: not checked.
   */
  readonly maxUnsignedAgeMs?: number;
  readonly now?: number;
  /** Checkpoints published outside the database earlier (a witness's copy, an export). */
  readonly witnessed?: Witnessed;
}

/** Below this many entries one thread is quicker than starting others. */
const PARALLEL_FROM = 300_000;

function defaultThreads(size: number): number {
  return size < PARALLEL_FROM ? 1 : Math.min(availableParallelism(), 4);
}

interface Range {
  /** Where this range ends (exclusive); the last range is open-ended. */
  readonly to: number;
  readonly chunks: AsyncIterable<ScannedChunk>;
  /** Ends the scan early: after a problem earlier in the log, the rest is not needed. */
  stop(): Promise<void>;
}

/** A range scanned by a worker thread; its chunks queue up until the caller reads them. */
function workerRange(location: string, from: number, to: number): Range {
  const worker = new Worker(siblingModule(import.meta.url, 'scan-worker'), { workerData: { location, from, to } });
  const queue: (ScannedChunk | { done: true } | { error: unknown })[] = [];
  let wake: (() => void) | undefined;
  const push = (m: (typeof queue)[number]) => {
    queue.push(m);
    wake?.();
  };
  worker.on('message', push);
  worker.on('error', (error) => push({ error }));
  worker.on('exit', () => push({ done: true }));
  // Its first message comes once its store is open. A thread stopped before that, still loading
  // SQLite's native module, would abort the whole process (a fatal N-API error).
  const opened = new Promise<void>((resolve) => {
    for (const event of ['message', 'error', 'exit']) worker.once(event, () => resolve());
  });
  async function* chunks(): AsyncGenerator<ScannedChunk> {
    for (;;) {
      if (queue.length === 0) await new Promise<void>((r) => (wake = r));
      const m = queue.shift();
      if (!m) continue;
      if ('error' in m) throw m.error;
      if ('done' in m) return;
      yield m;
    }
  }
  const stop = async () => {
    await opened;
    await worker.terminate();
  };
  return { to, chunks: chunks(), stop };
}

/** Contiguous ranges, one per thread, the last open-ended so rows past the head are seen too. */
function ranges(store: Store, size: number, threads: number): Range[] {
  if (threads < 2 || size < threads)
    return [
      {
        to: Number.POSITIVE_INFINITY,
        chunks: scanRows(store, 0, Number.POSITIVE_INFINITY),
        stop: async () => undefined,
      },
    ];
  const step = Math.ceil(size / threads);
  return Array.from({ length: threads }, (_, i) =>
    workerRange(store.location, i * step, i === threads - 1 ? Number.POSITIVE_INFINITY : (i + 1) * step),
  );
}

/**
 * Recomputes the log from the stored rows, trusting nothing stored but the checkpoint
 * signatures made with `publicKeys`: every leaf hash, index continuity, each entry's own idea of
 * its position, its indexed columns and its link to the entry before, and every checkpoint's
 * root; then, optionally, the age of unsigned entries and consistency with checkpoints witnessed
 * outside the database. Large logs are rehashed by several threads.
 */
export async function verifyStore(
  store: Store,
  publicKeys: readonly KeyObject[],
  opts: VerifyOptions = {},
): Promise<VerifyReport> {
  let size = await store.ledgerSize();
  const checkpoints = await store.checkpoints();
  const problems: string[] = [];
  const trusted = new Map(publicKeys.map((k) => [keyIdOf(k), k]));
  const signed: StoredCheckpoint[] = [];
  for (const c of checkpoints) {
    const key = trusted.get(c.keyId);
    if (!key) problems.push(`checkpoint at size ${c.size} is signed by unknown key ${c.keyId}`);
    else if (!verifyCheckpoint(c, key))
      problems.push(`checkpoint at size ${c.size} has a bad signature: it was forged or edited`);
    else signed.push(c);
  }

  const tree = new MerkleTree();
  let firstBadIndex: number | undefined;
  let lastGood = 0;
  let pending = 0;
  /** Compares every signed root the tree has now reached; false at the first that differs. */
  const rootsHold = () => {
    while (pending < signed.length && (signed[pending] as StoredCheckpoint).size <= tree.size) {
      const c = signed[pending++] as StoredCheckpoint;
      if (Buffer.compare(tree.root(c.size), c.root) === 0) {
        lastGood = c.size;
        continue;
      }
      problems.push(
        `entries ${lastGood}..${c.size - 1} differ from what the checkpoint at size ${c.size} (${new Date(c.time).toISOString()}) signed: one of them was rewritten together with its stored hash`,
      );
      return false;
    }
    return true;
  };

  /** One scanned chunk into the tree: its link to the entry before, its hashes, the signed roots it reaches. */
  const take = (chunk: ScannedChunk): boolean => {
    const link =
      chunk.headPrev !== undefined && chunk.from === tree.size && tree.size > 0
        ? linkProblem(chunk.from, chunk.headPrev, tree.leafHash(tree.size - 1))
        : undefined;
    if (link) {
      problems.push(link.problem as string);
      firstBadIndex = link.badIndex;
      return false;
    }
    for (let k = 0; k < chunk.count; k++) {
      tree.append(chunk.hashes.subarray(k * HASH_BYTES, (k + 1) * HASH_BYTES));
      if (pending < signed.length && (signed[pending] as StoredCheckpoint).size === tree.size && !rootsHold()) {
        firstBadIndex = lastGood;
        return false;
      }
    }
    if (!chunk.problem) return true;
    problems.push(chunk.problem);
    firstBadIndex = chunk.badIndex ?? tree.size;
    return false;
  };

  const all = ranges(store, size, opts.threads ?? defaultThreads(size));
  try {
    scan: for (const range of all) {
      for await (const chunk of range.chunks) if (!take(chunk)) break scan;
      if (tree.size < range.to && range.to !== Number.POSITIVE_INFINITY) {
        problems.push(`entry ${tree.size} is missing`);
        firstBadIndex = tree.size;
        break;
      }
    }
  } finally {
    await Promise.all(all.map((r) => r.stop()));
  }

  // Appends made while we scanned are not tampering. The head is read again, and the rows committed
  // after the scan passed their place are read up to it: a commit writes its rows and the head together,
  // so every row below the head read now is there to be read.
  if (firstBadIndex === undefined) {
    size = await store.ledgerSize();
    if (tree.size < size) for await (const chunk of scanRows(store, tree.size, size)) if (!take(chunk)) break;
  }
  if (firstBadIndex === undefined) {
    if (!rootsHold()) firstBadIndex = lastGood;
    else if (tree.size < size) {
      firstBadIndex = tree.size;
      problems.push(`entries ${tree.size}..${size - 1} are missing: the log says it holds ${size}`);
    } else if (tree.size > size) {
      firstBadIndex = size;
      problems.push(`entries ${size}..${tree.size - 1} were added behind Tether's back: the log says it holds ${size}`);
    }
    const beyond = signed.find((c) => c.size > tree.size);
    if (firstBadIndex === undefined && beyond) {
      firstBadIndex = tree.size;
      problems.push(`entries ${tree.size}..${beyond.size - 1} are missing: a checkpoint signed ${beyond.size}`);
    }
    // The rows hold; what files them for queries (by agent, owner, object, kind, chain) must too.
    const misfiled = firstBadIndex === undefined ? await store.ledgerKeyProblem() : undefined;
    if (misfiled) {
      firstBadIndex = misfiled.index;
      problems.push(misfiled.problem);
    }
  }
  const outside = await beyondTheRows(
    store,
    tree,
    { lastGood, complete: firstBadIndex === undefined, checkpoints, trusted },
    opts,
  );
  problems.push(...outside.problems);
  if (outside.firstBadIndex !== undefined)
    firstBadIndex = Math.min(firstBadIndex ?? outside.firstBadIndex, outside.firstBadIndex);
  const witnessed = outside.witnessed;
  return {
    ok: problems.length === 0,
    verified: firstBadIndex ?? tree.size,
    size,
    checkpoints: checkpoints.length,
    firstBadIndex,
    problems,
    ...(witnessed ? { witnessed } : {}),
  };
}

/** The checks that look past the rows themselves: entries left unsigned too long, and checkpoints held outside the database. */
async function beyondTheRows(
  store: Store,
  tree: MerkleTree,
  scan: {
    readonly lastGood: number;
    readonly complete: boolean;
    readonly checkpoints: readonly StoredCheckpoint[];
    readonly trusted: ReadonlyMap<string, KeyObject>;
  },
  opts: VerifyOptions,
): Promise<{ problems: string[]; firstBadIndex?: number; witnessed?: VerifyReport['witnessed'] }> {
  const problems: string[] = [];
  let firstBadIndex: number | undefined;
  if (scan.complete && opts.maxUnsignedAgeMs !== undefined) {
    const stale = await staleUnsigned(store, scan.lastGood, tree.size, opts.maxUnsignedAgeMs, opts.now ?? Date.now());
    if (stale) {
      problems.push(stale);
      firstBadIndex = scan.lastGood;
    }
  }
  if (!opts.witnessed) return { problems, firstBadIndex };
  const w = witnessProblems(tree, opts.witnessed, scan.trusted, scan.complete, scan.checkpoints);
  problems.push(...w.problems);
  if (w.firstBadIndex !== undefined) firstBadIndex = Math.min(firstBadIndex ?? w.firstBadIndex, w.firstBadIndex);
  return { problems, firstBadIndex, witnessed: w.checked };
}

/**
 * Entries past the last signed checkpoint are only as good as the database. Tether signs every
 * few seconds, so an old unsigned entry means checkpoints were deleted or signing stopped.
 */
async function staleUnsigned(
  store: Store,
  covered: number,
  size: number,
  maxAgeMs: number,
  now: number,
): Promise<string | undefined> {
  if (size <= covered) return undefined;
  const [first] = await store.entries(covered, covered + 1);
  const written = first ? Date.parse(first.leaf.time) : Number.NaN;
  if (!(now - written > maxAgeMs)) return undefined;
  const what =
    covered === 0 ? 'no signed checkpoint covers any entry' : `the last signed checkpoint covers ${covered} entries`;
  return `entries ${covered}..${size - 1} are not covered by any signed checkpoint and entry ${covered} was written ${new Date(written).toISOString()}, more than ${Math.round(maxAgeMs / 1000)} s ago: ${what} (were checkpoints deleted?)`;
}
