// Witnessed checkpoints. A checkpoint kept only in the database proves nothing against whoever
// can write the database and read the key: they delete it, or sign a new one over a rewritten
// log. So every signed checkpoint is also published outside the database (a sink: a directory
// on other storage, a witness polling GET /v1/ledger/checkpoints/latest), and verify proves the
// log consistent (RFC 6962 consistency proof) with each earlier checkpoint it is shown.
import type { KeyObject } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../common/canonical-json.ts';
import type { StoredCheckpoint } from '../store/store.ts';
import { CHECKPOINT_ORIGIN, verifyCheckpoint } from './checkpoint.ts';
import { leafHash } from './hash.ts';
import type { LedgerLeaf } from './leaf.ts';
import { verifyConsistency } from './proof.ts';
import type { MerkleTree } from './tree.ts';

/** A checkpoint as published: everything a witness needs to check the signature and later consistency. */
export interface PublishedCheckpoint {
  readonly origin: string;
  readonly size: number;
  /** hex */
  readonly root: string;
  /** ms since the epoch */
  readonly time: number;
  readonly keyId: string;
  /** base64 Ed25519 signature over checkpointBody() */
  readonly signature: string;
}

export function published(c: StoredCheckpoint): PublishedCheckpoint {
  return {
    origin: CHECKPOINT_ORIGIN,
    size: c.size,
    root: c.root.toString('hex'),
    time: c.time,
    keyId: c.keyId,
    signature: c.signature.toString('base64'),
  };
}

export function fromPublished(p: unknown, where: string): StoredCheckpoint {
  const c = p as Partial<PublishedCheckpoint> | null;
  const ok =
    c !== null &&
    typeof c === 'object' &&
    Number.isSafeInteger(c.size) &&
    (c.size as number) >= 0 &&
    typeof c.root === 'string' &&
    /^[0-9a-f]{64}$/.test(c.root) &&
    Number.isSafeInteger(c.time) &&
    typeof c.keyId === 'string' &&
    typeof c.signature === 'string';
  if (!ok) throw new Error(`${where}: not a Tether checkpoint (size, root, time, keyId, signature)`);
  return {
    size: c.size as number,
    root: Buffer.from(c.root as string, 'hex'),
    time: c.time as number,
    keyId: c.keyId as string,
    signature: Buffer.from(c.signature as string, 'base64'),
  };
}

/**
 * Where signed checkpoints are published besides the database. Implement this for other
 * places (a ConfigMap, an object store with retention lock, a transparency log); a sink must
 * keep what it was given, since a witness's value is its memory of old checkpoints.
 */
export interface CheckpointSink {
  readonly name: string;
  publish(c: StoredCheckpoint): Promise<void>;
}

/**
 * One file per checkpoint (never overwritten) plus latest.json, in a directory that should sit
 * on storage the database's writers cannot change (another volume, a synced bucket).
 */
export class DirectorySink implements CheckpointSink {
  readonly name: string;
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
    this.name = `directory ${dir}`;
  }

  async publish(c: StoredCheckpoint): Promise<void> {
    mkdirSync(this.#dir, { recursive: true });
    const text = `${JSON.stringify(published(c))}\n`;
    try {
      writeFileSync(join(this.#dir, `checkpoint-${String(c.size).padStart(12, '0')}-${c.keyId}.json`), text, {
        flag: 'wx',
      });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const tmp = join(this.#dir, `.latest.${process.pid}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, join(this.#dir, 'latest.json'));
  }
}

/** Earlier checkpoints to hold the log to, and (from an export) the leaf hashes they covered. */
export interface Witnessed {
  readonly source: string;
  readonly checkpoints: readonly StoredCheckpoint[];
  /** Leaf hashes by index, when the source held the entries too: finds the exact rewritten entry. */
  readonly leafHashes?: ReadonlyMap<number, Buffer>;
}

/** Reads a published checkpoint file, a sink directory, or a `tether ledger export` file. */
export function readWitnessed(path: string): Witnessed {
  if (statSync(path).isDirectory()) {
    const files = readdirSync(path).filter((f) => f.endsWith('.json'));
    const all = files.map((f) => fromPublished(JSON.parse(readFileSync(join(path, f), 'utf8')), join(path, f)));
    // latest.json repeats the newest checkpoint file.
    const checkpoints = all.filter(
      (c, i) => all.findIndex((d) => d.size === c.size && d.keyId === c.keyId && d.signature.equals(c.signature)) === i,
    );
    return { source: path, checkpoints };
  }
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const first = JSON.parse(lines[0] ?? 'null') as { type?: string } | null;
  if (first?.type !== 'checkpoint') return { source: path, checkpoints: [fromPublished(JSON.parse(text), path)] };
  // An export: its checkpoint line, then one entry per line with the leaf as written.
  const leafHashes = new Map<number, Buffer>();
  for (const line of lines.slice(1)) {
    const e = JSON.parse(line) as { index: number; leaf: LedgerLeaf };
    leafHashes.set(e.index, leafHash(canonicalJson(e.leaf)));
  }
  return { source: path, checkpoints: [fromPublished(first, path)], leafHashes };
}

export interface WitnessResult {
  readonly problems: string[];
  readonly firstBadIndex?: number;
  readonly checked: { size: number; time: number; consistent: boolean; proofHashes: number }[];
}

/**
 * Holds the tree rebuilt from the stored rows to each witnessed checkpoint: its signature, then
 * a consistency proof from its size to the tree's. `complete` is false when the scan stopped
 * early, so a shorter tree is not mistaken for a truncated log.
 */
export function witnessProblems(
  tree: MerkleTree,
  w: Witnessed,
  trusted: ReadonlyMap<string, KeyObject>,
  complete: boolean,
  stored: readonly StoredCheckpoint[],
): WitnessResult {
  const out: WitnessResult = { problems: [], checked: [] };
  let firstBad: number | undefined;
  let consistentUpTo = 0;
  const when = (c: StoredCheckpoint) => new Date(c.time).toISOString();
  for (const c of [...w.checkpoints].sort((a, b) => a.size - b.size)) {
    const key = trusted.get(c.keyId);
    if (!key) {
      out.problems.push(
        `the checkpoint of size ${c.size} from ${w.source} is signed by key ${c.keyId}, which this verify does not trust (pass its public key with --pubkey)`,
      );
      continue;
    }
    if (!verifyCheckpoint(c, key)) {
      out.problems.push(`the checkpoint of size ${c.size} from ${w.source} has a bad signature`);
      continue;
    }
    if (c.size > tree.size) {
      if (!complete) continue;
      out.problems.push(
        `the log holds ${tree.size} entries, but a checkpoint witnessed in ${w.source} (${when(c)}) signed ${c.size}: entries ${tree.size}..${c.size - 1} were cut off`,
      );
      firstBad = Math.min(firstBad ?? tree.size, tree.size);
      out.checked.push({ size: c.size, time: c.time, consistent: false, proofHashes: 0 });
      continue;
    }
    const proof = tree.consistencyProof(c.size, tree.size);
    const consistent = verifyConsistency(c.size, tree.size, c.root, tree.root(), proof);
    out.checked.push({ size: c.size, time: c.time, consistent, proofHashes: proof.length });
    if (consistent) {
      consistentUpTo = Math.max(consistentUpTo, c.size);
      if (!stored.some((s) => s.size === c.size && s.keyId === c.keyId && s.root.equals(c.root)))
        out.problems.push(
          `the database no longer holds the checkpoint of size ${c.size} witnessed in ${w.source} (${when(c)}): checkpoints were deleted or replaced`,
        );
      continue;
    }
    const exact = firstDifference(tree, w.leafHashes, c.size);
    const where = exact === undefined ? `one of entries ${consistentUpTo}..${c.size - 1}` : `entry ${exact}`;
    out.problems.push(
      `the log is not an extension of the checkpoint of size ${c.size} witnessed in ${w.source} (${when(c)}): the consistency proof fails, ${where} was rewritten or removed since (even if the checkpoints in the database were re-signed)`,
    );
    firstBad = Math.min(firstBad ?? Number.POSITIVE_INFINITY, exact ?? consistentUpTo);
  }
  return { ...out, firstBadIndex: firstBad };
}

function firstDifference(
  tree: MerkleTree,
  hashes: ReadonlyMap<number, Buffer> | undefined,
  size: number,
): number | undefined {
  if (!hashes) return undefined;
  for (let i = 0; i < size; i++) {
    const h = hashes.get(i);
    if (h && Buffer.compare(h, tree.leafHash(i)) !== 0) return i;
  }
  return undefined;
}
