// The ledger as JSON Lines, checkable offline with nothing but the public key: a signed
// checkpoint first, then every entry with its inclusion proof against that checkpoint.
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { canonicalJson } from '../common/canonical-json.ts';
import type { StoredCheckpoint } from '../store/store.ts';
import { keyIdOf, publicKeyFromPem, verifyCheckpoint } from './checkpoint.ts';
import { leafHash } from './hash.ts';
import type { LedgerLeaf } from './leaf.ts';
import type { Ledger } from './ledger.ts';
import { verifyInclusion } from './proof.ts';
import { MerkleTree } from './tree.ts';
import { type VerifyReport, verifyStore } from './verify.ts';

const CHUNK = 10_000;

interface CheckpointLine {
  readonly type: 'checkpoint';
  readonly size: number;
  readonly root: string;
  readonly time: number;
  readonly keyId: string;
  readonly signature: string;
}

interface EntryLine {
  readonly type: 'entry';
  readonly index: number;
  readonly leafHash: string;
  readonly proof: readonly string[];
  readonly leaf: LedgerLeaf;
}

/**
 * Writes the log to `out`. The stored log is verified first: a fresh checkpoint over altered
 * rows would lend them a signature they never had.
 */
export async function exportLedger(
  ledger: Ledger,
  out: NodeJS.WritableStream,
): Promise<{ entries: number; checkpoint: StoredCheckpoint }> {
  const report = await verifyStore(ledger.store, [ledger.signer.publicKey]);
  if (!report.ok) throw new Error(`refusing to export a ledger that does not verify: ${report.problems[0]}`);
  const checkpoint = await ledger.checkpoint();
  const tree = await ledger.tree();
  const write = async (line: CheckpointLine | EntryLine) => {
    if (!out.write(`${JSON.stringify(line)}\n`)) await once(out, 'drain');
  };
  await write({
    type: 'checkpoint',
    size: checkpoint.size,
    root: checkpoint.root.toString('hex'),
    time: checkpoint.time,
    keyId: checkpoint.keyId,
    signature: checkpoint.signature.toString('base64'),
  });
  for (let from = 0; from < checkpoint.size; from += CHUNK) {
    for (const r of await ledger.store.ledgerRows(from, Math.min(CHUNK, checkpoint.size - from))) {
      const proof = tree.inclusionProof(r.index, checkpoint.size).map((h) => h.toString('hex'));
      await write({
        type: 'entry',
        index: r.index,
        leafHash: r.leafHash.toString('hex'),
        proof,
        leaf: JSON.parse(r.data) as LedgerLeaf,
      });
    }
  }
  return { entries: checkpoint.size, checkpoint };
}

function parseCheckpoint(line: string): StoredCheckpoint {
  const c = JSON.parse(line) as CheckpointLine;
  if (c.type !== 'checkpoint') throw new Error('the first line of an export must be its checkpoint');
  return {
    size: c.size,
    root: Buffer.from(c.root, 'hex'),
    time: c.time,
    keyId: c.keyId,
    signature: Buffer.from(c.signature, 'base64'),
  };
}

/** Checks an exported file: the checkpoint's signature, then every entry's hash, position and proof, then the whole tree. */
export async function verifyExport(file: string, publicKeyPem: string): Promise<VerifyReport> {
  const key = publicKeyFromPem(publicKeyPem);
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
  const fail = (
    size: number,
    checkpoints: number,
    verified: number,
    problem: string,
    firstBadIndex?: number,
  ): VerifyReport => {
    lines.close();
    return { ok: false, verified, size, checkpoints, firstBadIndex, problems: [problem] };
  };
  let checkpoint: StoredCheckpoint | undefined;
  const tree = new MerkleTree();
  for await (const line of lines) {
    if (line.trim() === '') continue;
    if (!checkpoint) {
      try {
        checkpoint = parseCheckpoint(line);
      } catch (err) {
        return fail(0, 0, 0, `not a Tether ledger export: ${(err as Error).message}`);
      }
      if (checkpoint.keyId !== keyIdOf(key))
        return fail(
          checkpoint.size,
          1,
          0,
          `the checkpoint is signed by key ${checkpoint.keyId}, not by the given key ${keyIdOf(key)}`,
        );
      if (!verifyCheckpoint(checkpoint, key))
        return fail(checkpoint.size, 1, 0, 'the checkpoint signature is invalid: the checkpoint was forged or edited');
      continue;
    }
    const at = tree.size;
    let e: EntryLine;
    try {
      e = JSON.parse(line) as EntryLine;
    } catch {
      return fail(checkpoint.size, 1, at, `entry ${at} is not valid JSON`, at);
    }
    if (e.index !== at)
      return fail(checkpoint.size, 1, at, `entry ${at} is missing or out of order (found ${e.index})`, at);
    if (e.leaf?.index !== at)
      return fail(checkpoint.size, 1, at, `entry ${at} holds the entry written at index ${String(e.leaf?.index)}`, at);
    const h = leafHash(canonicalJson(e.leaf));
    if (
      !verifyInclusion(
        at,
        checkpoint.size,
        h,
        e.proof.map((p) => Buffer.from(p, 'hex')),
        checkpoint.root,
      )
    ) {
      return fail(
        checkpoint.size,
        1,
        at,
        `entry ${at} was altered: it is not in the signed tree (its inclusion proof fails)`,
        at,
      );
    }
    tree.append(h);
  }
  if (!checkpoint) return fail(0, 0, 0, 'the export is empty');
  if (tree.size !== checkpoint.size)
    return fail(
      checkpoint.size,
      1,
      tree.size,
      `entries ${tree.size}..${checkpoint.size - 1} are missing from the export`,
      tree.size,
    );
  if (Buffer.compare(tree.root(), checkpoint.root) !== 0)
    return fail(checkpoint.size, 1, tree.size, 'the entries do not add up to the signed root');
  return { ok: true, verified: tree.size, size: checkpoint.size, checkpoints: 1, problems: [] };
}
