// Signed checkpoints: "the log had this many entries and this root at this time", signed with
// an Ed25519 key that never leaves the data directory. Anyone holding the public key can check
// an exported log, or a checkpoint published elsewhere, without trusting the database.
import { createPrivateKey, createPublicKey, generateKeyPairSync, hash, type KeyObject, sign, verify } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StoredCheckpoint } from '../store/store.ts';

export const SIGNING_KEY_FILE = 'ledger-signing-key.pem';
const CHECKPOINT_ORIGIN = 'tether.dev/ledger/v1';

/** The exact bytes a checkpoint signature covers. */
export function checkpointBody(c: { readonly size: number; readonly root: Uint8Array; readonly time: number }): Buffer {
  return Buffer.from(`${CHECKPOINT_ORIGIN}\n${c.size}\n${Buffer.from(c.root).toString('base64')}\n${c.time}\n`, 'utf8');
}

/** A short, stable name for a public key: the first 16 hex digits of SHA-256 over its DER (SPKI) form. */
export function keyIdOf(publicKey: KeyObject): string {
  return hash('sha256', publicKey.export({ type: 'spki', format: 'der' }), 'hex').slice(0, 16);
}

export function publicKeyFromPem(pem: string): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`expected an Ed25519 public key, got ${key.asymmetricKeyType}`);
  return key;
}

export function verifyCheckpoint(c: StoredCheckpoint, publicKey: KeyObject): boolean {
  return keyIdOf(publicKey) === c.keyId && verify(null, checkpointBody(c), publicKey, c.signature);
}

export class CheckpointSigner {
  readonly #privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly keyId: string;

  constructor(privateKey: KeyObject) {
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`the ledger signing key must be Ed25519, not ${privateKey.asymmetricKeyType}`);
    this.#privateKey = privateKey;
    this.publicKey = createPublicKey(privateKey);
    this.keyId = keyIdOf(this.publicKey);
  }

  /**
   * The key in `dir`, created on first use with mode 0600. Creation is exclusive, so processes
   * starting together end up sharing whichever key was written first.
   */
  static inDirectory(dir: string): CheckpointSigner {
    const file = join(dir, SIGNING_KEY_FILE);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      const { privateKey } = generateKeyPairSync('ed25519');
      writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    return new CheckpointSigner(createPrivateKey(readFileSync(file, 'utf8')));
  }

  get publicKeyPem(): string {
    return this.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }

  sign(size: number, root: Uint8Array, time: number): StoredCheckpoint {
    const c = { size, root: Buffer.from(root), time, keyId: this.keyId };
    return { ...c, signature: sign(null, checkpointBody(c), this.#privateKey) };
  }
}
