// `tether ledger …`: each command returns its data, the text to print and the exit code;
// parsing arguments and printing stay with the caller.
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { publicKeyFromPem } from '../../ledger/checkpoint.ts';
import { exportLedger, verifyExport } from '../../ledger/export.ts';
import type { InclusionProof, Ledger } from '../../ledger/ledger.ts';
import { verifyInclusion } from '../../ledger/proof.ts';
import { type VerifyReport, verifyStore } from '../../ledger/verify.ts';
import type { LedgerEntry, LedgerQuery, StoredCheckpoint } from '../../store/store.ts';

export interface CommandResult<T> {
  readonly data: T;
  readonly text: string;
  readonly exitCode: number;
}

const EXIT_OK = 0;
const EXIT_TAMPERED = 2;

function reportText(r: VerifyReport, what: string): string {
  if (r.ok) return `ok: ${what} verifies: ${r.verified} entries, ${r.checkpoints} checkpoint(s), every leaf hash, position and signed root checked`;
  const first = r.firstBadIndex === undefined ? '' : `first bad index: ${r.firstBadIndex}\n`;
  return `FAILED: ${what} does not verify\n${first}${r.problems.map((p) => `  - ${p}`).join('\n')}`;
}

/**
 * Verifies the stored log (trusting the local signing key and any `trustedKeys` PEMs), or an
 * exported file against a public key, offline. Non-zero exit naming the first bad index.
 */
export async function ledgerVerify(
  opts: { readonly ledger: Ledger; readonly trustedKeys?: readonly string[] } | { readonly file: string; readonly publicKey: string },
): Promise<CommandResult<VerifyReport>> {
  let report: VerifyReport;
  let what: string;
  if ('file' in opts) {
    const pem = opts.publicKey.includes('-----BEGIN') ? opts.publicKey : await readFile(opts.publicKey, 'utf8');
    report = await verifyExport(opts.file, pem);
    what = opts.file;
  } else {
    const keys = [opts.ledger.signer.publicKey, ...(opts.trustedKeys ?? []).map(publicKeyFromPem)];
    report = await verifyStore(opts.ledger.store, keys);
    what = `the ${opts.ledger.store.backend} ledger`;
  }
  return { data: report, text: reportText(report, what), exitCode: report.ok ? EXIT_OK : EXIT_TAMPERED };
}

function entryLine(e: LedgerEntry): string {
  const l = e.leaf;
  const t = l.target;
  const target = t ? ` ${t.resource}${t.subresource ? `/${t.subresource}` : ''}${t.namespace ? ` ${t.namespace}/` : ' '}${t.name ?? ''}` : '';
  const who = [l.agent, l.actor && `by ${l.actor}`].filter(Boolean).join(' ');
  const outcome = l.decision ? ` ${l.decision.toUpperCase()}` : '';
  const rules = l.rules?.length ? ` [${l.rules.join(', ')}]` : '';
  const why = l.intent ? ` — intent: ${l.intent.summary}` : l.message ? ` — ${l.message}` : '';
  return `#${e.index} ${l.time} ${l.kind} ${who}${outcome}${l.verb ? ` ${l.verb}` : ''}${target}${rules}${why}`;
}

export async function ledgerShow(opts: { readonly ledger: Ledger } & LedgerQuery): Promise<CommandResult<LedgerEntry[]>> {
  const { ledger, ...query } = opts;
  const entries = await ledger.store.queryLedger(query);
  const text = entries.length === 0 ? 'no ledger entries match' : entries.map(entryLine).join('\n');
  return { data: entries, text, exitCode: EXIT_OK };
}

export async function ledgerProve(opts: { readonly ledger: Ledger; readonly index: number; readonly size?: number }): Promise<CommandResult<InclusionProof>> {
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
export async function ledgerExport(opts: { readonly ledger: Ledger; readonly out: string }): Promise<CommandResult<{ entries: number; checkpoint: StoredCheckpoint }>> {
  const stream = opts.out === '-' ? process.stdout : createWriteStream(opts.out, { mode: 0o644 });
  const result = await exportLedger(opts.ledger, stream);
  if (stream !== process.stdout) {
    stream.end();
    await finished(stream);
  }
  const text = `exported ${result.entries} entries with inclusion proofs against the checkpoint of size ${result.checkpoint.size} (key ${result.checkpoint.keyId})${opts.out === '-' ? '' : ` to ${opts.out}`}; check it anywhere with: tether ledger verify --file ${opts.out === '-' ? 'FILE' : opts.out} --pubkey KEY.pem`;
  return { data: result, text, exitCode: EXIT_OK };
}

export async function ledgerPubkey(opts: { readonly ledger: Ledger }): Promise<CommandResult<{ keyId: string; pem: string }>> {
  const signer = opts.ledger.signer;
  return { data: { keyId: signer.keyId, pem: signer.publicKeyPem }, text: signer.publicKeyPem.trimEnd(), exitCode: EXIT_OK };
}
