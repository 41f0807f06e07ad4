// `tether ledger witness`: a witness of its own. It polls GET /v1/ledger/checkpoints/latest (no
// token: checkpoints are public), checks the signature with the public key it was given (never
// one the server hands out), proves with GET /v1/ledger/consistency that the new checkpoint
// extends the last one it kept, and only then keeps it. A log that shrank or was rewritten
// fails loudly, even when the new checkpoint carries a valid signature.
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { publicKeyFromPem, verifyCheckpoint } from '../../ledger/checkpoint.ts';
import { verifyConsistency } from '../../ledger/proof.ts';
import { DirectorySink, fromPublished, readWitnessed } from '../../ledger/witness.ts';
import type { StoredCheckpoint } from '../../store/store.ts';
import type { CommandResult } from './ledger.ts';

const EXIT_OK = 0;
const EXIT_TAMPERED = 2;

export interface WitnessOptions {
  readonly server: string;
  /** PEM of the CA that signed the server's certificate, when not a public one. */
  readonly ca?: string;
  /** The ledger's public key (PEM), obtained once out of band. */
  readonly publicKeyPem: string;
  /** Where the kept checkpoints live: storage the server's database writers cannot change. */
  readonly dir: string;
}

function getJson(server: string, path: string, ca: string | undefined): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, server),
      { ca, headers: { accept: 'application/json' }, timeout: 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
          } catch (e) {
            reject(new Error(`GET ${path}: not JSON (${(e as Error).message})`));
          }
        });
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: timeout`)));
    req.end();
  });
}

/** The largest checkpoint kept so far, if any. */
function lastKept(dir: string): StoredCheckpoint | undefined {
  if (!existsSync(dir)) return undefined;
  return readWitnessed(dir).checkpoints.reduce<StoredCheckpoint | undefined>(
    (best, c) => (!best || c.size > best.size ? c : best),
    undefined,
  );
}

/** One poll: fetch, check, prove, keep. Exit 2 when the log is not an extension of what was kept. */
export async function witnessOnce(o: WitnessOptions): Promise<CommandResult<{ size: number; keptBefore?: number }>> {
  const key = publicKeyFromPem(o.publicKeyPem);
  const fail = (text: string, size: number, keptBefore?: number) => ({
    data: { size, keptBefore },
    text: `ALARM: ${text}`,
    exitCode: EXIT_TAMPERED,
  });
  const latest = await getJson(o.server, '/v1/ledger/checkpoints/latest', o.ca);
  if (latest.status === 404) return { data: { size: 0 }, text: 'no checkpoint signed yet', exitCode: EXIT_OK };
  if (latest.status !== 200) throw new Error(`GET /v1/ledger/checkpoints/latest: ${latest.status}`);
  const next = fromPublished(latest.body, 'the latest checkpoint');
  if (!verifyCheckpoint(next, key))
    return fail(`the latest checkpoint (size ${next.size}) is not signed by the ledger's key`, next.size);
  const kept = lastKept(o.dir);
  if (kept && next.size < kept.size)
    return fail(
      `the log shrank: a checkpoint of size ${kept.size} was kept, the server now signs ${next.size}`,
      next.size,
      kept.size,
    );
  if (kept && next.size > kept.size) {
    const r = await getJson(o.server, `/v1/ledger/consistency?from=${kept.size}&to=${next.size}`, o.ca);
    const proof = ((r.body as { proof?: unknown }).proof ?? []) as unknown[];
    const hashes = proof.filter((h): h is string => typeof h === 'string').map((h) => Buffer.from(h, 'hex'));
    if (r.status !== 200 || !verifyConsistency(kept.size, next.size, kept.root, next.root, hashes))
      return fail(
        `the log of ${next.size} entries is not an extension of the one of ${kept.size} kept on ${new Date(kept.time).toISOString()}: history was rewritten`,
        next.size,
        kept.size,
      );
  } else if (kept && !kept.root.equals(next.root))
    return fail(
      `the checkpoint of size ${next.size} has another root than the one kept: history was rewritten`,
      next.size,
      kept.size,
    );
  await new DirectorySink(o.dir).publish(next);
  const how = kept ? `consistent with the one of size ${kept.size} (RFC 6962 consistency proof)` : 'the first one kept';
  return {
    data: { size: next.size, keptBefore: kept?.size },
    text: `ok: checkpoint of size ${next.size} kept in ${o.dir}, ${how}`,
    exitCode: EXIT_OK,
  };
}

export function readPem(keyOrFile: string): string {
  return keyOrFile.includes('-----BEGIN') ? keyOrFile : readFileSync(keyOrFile, 'utf8');
}
