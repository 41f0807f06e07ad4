// `tether ledger …`: each command returns its data, the text to print and the exit code;
// parsing arguments and printing stay with the caller.
import type { KeyObject } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { besideDatabaseWarning, newSigningKeyPem, publicKeyFromPem } from '../../ledger/checkpoint.ts';
import { exportLedger, verifyExport } from '../../ledger/export.ts';
import type { ConsistencyProof, InclusionProof, Ledger } from '../../ledger/ledger.ts';
import { verifyConsistency, verifyInclusion } from '../../ledger/proof.ts';
import { type VerifyReport, verifyStore } from '../../ledger/verify.ts';
import { readWitnessed, type Witnessed } from '../../ledger/witness.ts';
import type { LedgerEntry, LedgerQuery, StoredCheckpoint } from '../../store/store.ts';

export interface CommandResult<T> {
  readonly data: T;
  readonly text: string;
  readonly exitCode: number;
}

const EXIT_OK = 0;
const EXIT_TAMPERED = 2;

function reportText(r: VerifyReport, what: string): string {
  const witnessed = r.witnessed?.length
    ? `, consistent with ${r.witnessed.length} witnessed checkpoint(s) (RFC 6962 consistency proofs)`
    : '';
  if (r.ok)
    return `ok: ${what} verifies: ${r.verified} entries, ${r.checkpoints} checkpoint(s), every leaf hash, position, indexed column and signed root checked${witnessed}`;
  const first = r.firstBadIndex === undefined ? '' : `first bad index: ${r.firstBadIndex}\n`;
  return `FAILED: ${what} does not verify\n${first}${r.problems.map((p) => `  - ${p}`).join('\n')}`;
}

const pemOf = async (keyOrFile: string) =>
  keyOrFile.includes('-----BEGIN') ? keyOrFile : await readFile(keyOrFile, 'utf8');

/** One Witnessed out of several --against sources. */
function witnessedFrom(paths: readonly string[]): Witnessed | undefined {
  if (paths.length === 0) return undefined;
  const all = paths.map(readWitnessed);
  const leafHashes = new Map(all.flatMap((w) => [...(w.leafHashes ?? [])]));
  return {
    source: paths.join(', '),
    checkpoints: all.flatMap((w) => w.checkpoints),
    ...(leafHashes.size ? { leafHashes } : {}),
  };
}

export interface StoreVerifyOptions {
  readonly ledger: Ledger;
  /** Other public keys (PEM text or files) whose checkpoints are trusted: old keys, a witness's copy. */
  readonly trustedKeys?: readonly string[];
  /** Earlier checkpoints held elsewhere: a published checkpoint file, a witness directory, an export. */
  readonly against?: readonly string[];
  readonly maxUnsignedAgeMs?: number;
  readonly now?: number;
}

/**
 * Verifies the stored log (trusting the local signing key and any `trustedKeys`), optionally
 * against checkpoints witnessed outside the database, or an exported file against a public key,
 * offline. Non-zero exit naming the first bad index.
 */
export async function ledgerVerify(
  opts: StoreVerifyOptions | { readonly file: string; readonly publicKey: string },
): Promise<CommandResult<VerifyReport>> {
  if ('file' in opts) {
    const report = await verifyExport(opts.file, await pemOf(opts.publicKey));
    return { data: report, text: reportText(report, opts.file), exitCode: report.ok ? EXIT_OK : EXIT_TAMPERED };
  }
  const trusted = await Promise.all((opts.trustedKeys ?? []).map(async (k) => publicKeyFromPem(await pemOf(k))));
  // The signing key's public half when this machine has it; --pubkey alone is enough to verify.
  let own: KeyObject | undefined;
  try {
    own = opts.ledger.signer.publicKey;
  } catch (e) {
    if (trusted.length === 0) throw e;
  }
  const keys = own ? [own, ...trusted] : trusted;
  const report = await verifyStore(opts.ledger.store, keys, {
    maxUnsignedAgeMs: opts.maxUnsignedAgeMs,
    now: opts.now,
    witnessed: witnessedFrom(opts.against ?? []),
  });
  const location = own ? opts.ledger.keyLocation : undefined;
  const warning = location?.besideDatabase ? `\nwarning: ${besideDatabaseWarning(location.where)}` : '';
  const unwitnessed =
    (opts.against ?? []).length === 0
      ? '\nnote: no --against: a rewrite re-signed with the key, or a cut tail with its checkpoints, shows only against a witnessed checkpoint'
      : '';
  const text = `${reportText(report, `the ${opts.ledger.store.backend} ledger`)}${warning}${report.ok ? unwitnessed : ''}`;
  return { data: report, text, exitCode: report.ok ? EXIT_OK : EXIT_TAMPERED };
}

/** A consistency proof between two sizes of the log, checked before it is printed. */
export async function ledgerProveConsistency(opts: {
  readonly ledger: Ledger;
  readonly from: number;
  readonly to?: number;
}): Promise<CommandResult<ConsistencyProof>> {
  const p = await opts.ledger.proveConsistency(opts.from, opts.to);
  const holds = verifyConsistency(
    p.from,
    p.to,
    Buffer.from(p.fromRoot, 'hex'),
    Buffer.from(p.toRoot, 'hex'),
    p.proof.map((h) => Buffer.from(h, 'hex')),
  );
  const text = [
    `the tree of ${p.to} entries extends the tree of ${p.from} (RFC 6962 consistency proof)`,
    `root at ${p.from}: ${p.fromRoot}`,
    `root at ${p.to}: ${p.toRoot}`,
    `proof (${p.proof.length} hashes):`,
    ...p.proof.map((h) => `  ${h}`),
    holds ? 'the proof verifies' : 'THE PROOF DOES NOT VERIFY: run tether ledger verify',
  ].join('\n');
  return { data: p, text, exitCode: holds ? EXIT_OK : EXIT_TAMPERED };
}

/** A new signing key written to `file` (mode 0600, never overwriting), for ledger.signingKeyFile or a Secret. */
export async function ledgerKeygen(opts: { readonly file: string }): Promise<CommandResult<{ file: string }>> {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(opts.file, newSigningKeyPem(), { mode: 0o600, flag: 'wx' });
  const text = `wrote a new Ed25519 ledger signing key to ${opts.file}; keep it away from the database, e.g.\n  kubectl create secret generic tether-ledger-key --from-file=ledger-signing-key.pem=${opts.file}`;
  return { data: { file: opts.file }, text, exitCode: EXIT_OK };
}

function entryLine(e: LedgerEntry): string {
  const l = e.leaf;
  const t = l.target;
  const target = t
    ? ` ${t.resource}${t.subresource ? `/${t.subresource}` : ''}${t.namespace ? ` ${t.namespace}/` : ' '}${t.name ?? ''}`
    : '';
  const who = [l.agent, l.actor && `by ${l.actor}`].filter(Boolean).join(' ');
  const outcome = l.decision ? ` ${l.decision.toUpperCase()}` : '';
  const rules = l.rules?.length ? ` [${l.rules.join(', ')}]` : '';
  const why = l.intent ? ` — intent: ${l.intent.summary}` : l.message ? ` — ${l.message}` : '';
  return `#${e.index} ${l.time} ${l.kind} ${who}${outcome}${l.verb ? ` ${l.verb}` : ''}${target}${rules}${why}`;
}

export async function ledgerShow(
  opts: { readonly ledger: Ledger } & LedgerQuery,
): Promise<CommandResult<LedgerEntry[]>> {
  const { ledger, ...query } = opts;
  const entries = await ledger.store.queryLedger(query);
  const text = entries.length === 0 ? 'no ledger entries match' : entries.map(entryLine).join('\n');
  return { data: entries, text, exitCode: EXIT_OK };
}

export async function ledgerProve(opts: {
  readonly ledger: Ledger;
  readonly index: number;
  readonly size?: number;
}): Promise<CommandResult<InclusionProof>> {
  const p = await opts.ledger.prove(opts.index, opts.size);
  const holds = verifyInclusion(
    p.index,
    p.size,
    Buffer.from(p.leafHash, 'hex'),
    p.proof.map((h) => Buffer.from(h, 'hex')),
    Buffer.from(p.root, 'hex'),
  );
  const signed = p.checkpoint
    ? `signed checkpoint: size ${p.checkpoint.size}, key ${p.checkpoint.keyId}, ${new Date(p.checkpoint.time).toISOString()}`
    : 'no signed checkpoint at this size yet (tether ledger export signs one)';
  const text = [
    `entry ${p.index} in the tree of ${p.size} entries`,
    `leaf hash: ${p.leafHash}`,
    `root:      ${p.root}`,
    signed,
    `audit path (${p.proof.length} hashes, leaf side first):`,
    ...p.proof.map((h) => `  ${h}`),
    holds ? 'the proof verifies against the root' : 'THE PROOF DOES NOT VERIFY: run tether ledger verify',
  ].join('\n');
  return { data: p, text, exitCode: holds ? EXIT_OK : EXIT_TAMPERED };
}

/** Writes JSON Lines to `out` ('-' for standard output). */
export async function ledgerExport(opts: {
  readonly ledger: Ledger;
  readonly out: string;
}): Promise<CommandResult<{ entries: number; checkpoint: StoredCheckpoint }>> {
  const stream = opts.out === '-' ? process.stdout : createWriteStream(opts.out, { mode: 0o644 });
  const result = await exportLedger(opts.ledger, stream);
  if (stream !== process.stdout) {
    stream.end();
    await finished(stream);
  }
  const text = `exported ${result.entries} entries with inclusion proofs against the checkpoint of size ${result.checkpoint.size} (key ${result.checkpoint.keyId})${opts.out === '-' ? '' : ` to ${opts.out}`}; check it anywhere with: tether ledger verify --file ${opts.out === '-' ? 'FILE' : opts.out} --pubkey KEY.pem`;
  return { data: result, text, exitCode: EXIT_OK };
}

export async function ledgerPubkey(opts: {
  readonly ledger: Ledger;
}): Promise<CommandResult<{ keyId: string; pem: string }>> {
  const signer = opts.ledger.signer;
  return {
    data: { keyId: signer.keyId, pem: signer.publicKeyPem },
    text: signer.publicKeyPem.trimEnd(),
    exitCode: EXIT_OK,
  };
}
