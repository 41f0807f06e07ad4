// Signed checkpoints: "the log had this many entries and this root at this time", signed with
// an Ed25519 key. Anyone holding the public key can check an exported log, or a checkpoint
// published elsewhere, without trusting the database. The key belongs somewhere the database's
// writers cannot read (a mounted Secret, another volume, the environment); the zero-config
// default keeps it in the data directory, and Tether says so.
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  hash,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { StoredCheckpoint } from '../store/store.ts';

export const SIGNING_KEY_FILE = 'ledger-signing-key.pem';
export const CHECKPOINT_ORIGIN = 'tether.dev/ledger/v1';

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
  if (key.asymmetricKeyType !== 'ed25519')
    throw new Error(`expected an Ed25519 public key, got ${key.asymmetricKeyType}`);
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
    if (privateKey.asymmetricKeyType !== 'ed25519')
      throw new Error(`the ledger signing key must be Ed25519, not ${privateKey.asymmetricKeyType}`);
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

/** Where the signing key came from, and whether it sits next to the database it signs for. */
export interface KeyLocation {
  readonly signer: CheckpointSigner;
  readonly where: string;
  readonly besideDatabase: boolean;
}

export interface KeyOptions {
  /** The data directory: holds the default key. */
  readonly dataDir: string;
  /** A PEM file (PKCS#8 Ed25519) kept elsewhere, e.g. a mounted Kubernetes Secret. */
  readonly keyFile?: string;
  /** The SQLite database file, when the store is SQLite: a key in its directory is "beside" it. */
  readonly databaseFile?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Create the default key when there is none (serve); false for tools that must use the server's key (the CLI). */
  readonly mint?: boolean;
}

/** Environment variables that carry the key (PEM text) or name its file. */
export const KEY_ENV = 'TETHER_LEDGER_KEY';
export const KEY_FILE_ENV = 'TETHER_LEDGER_KEY_FILE';

/**
 * The signing key, from the first of: `keyFile`, $TETHER_LEDGER_KEY_FILE, $TETHER_LEDGER_KEY,
 * else `<dataDir>/ledger-signing-key.pem` (created on first use). A named file must exist: a
 * typo must not silently fall back to a fresh key beside the database.
 */
export function locateSigningKey(o: KeyOptions): KeyLocation {
  const env = o.env ?? process.env;
  const file = o.keyFile ?? env[KEY_FILE_ENV];
  const dbDir = o.databaseFile ? dirname(resolve(o.databaseFile)) : undefined;
  if (file) {
    let pem: string;
    try {
      pem = readFileSync(file, 'utf8');
    } catch (e) {
      throw new Error(
        `cannot read the ledger signing key ${file}: ${(e as Error).message} (create one with: tether ledger keygen ${file})`,
      );
    }
    return {
      signer: new CheckpointSigner(createPrivateKey(pem)),
      where: `file ${resolve(file)}`,
      besideDatabase: dirname(resolve(file)) === dbDir,
    };
  }
  const inline = env[KEY_ENV];
  if (inline)
    return {
      signer: new CheckpointSigner(createPrivateKey(inline)),
      where: `environment variable ${KEY_ENV}`,
      besideDatabase: false,
    };
  const defaultFile = join(resolve(o.dataDir), SIGNING_KEY_FILE);
  if (o.mint === false && !existsSync(defaultFile))
    throw new Error(
      `no ledger signing key: none in ${defaultFile}, ${KEY_FILE_ENV} or ${KEY_ENV} (pass --signing-key, or --pubkey to verify with the public key alone)`,
    );
  const signer = CheckpointSigner.inDirectory(o.dataDir);
  return {
    signer,
    where: `file ${join(resolve(o.dataDir), SIGNING_KEY_FILE)} (the default, in the data directory)`,
    besideDatabase: dbDir === undefined || dbDir === resolve(o.dataDir),
  };
}

/** What serve and verify print when the key sits beside the database. */
export function besideDatabaseWarning(where: string): string {
  return `the ledger signing key (${where}) sits beside the database: whoever can write the database can also read the key and re-sign a rewritten log. Keep the key elsewhere (ledger.signingKeyFile, ${KEY_FILE_ENV}, ${KEY_ENV} or a mounted Kubernetes Secret) and publish checkpoints to a witness (ledger.witnessDir, GET /v1/ledger/checkpoints/latest)`;
}

/** A new Ed25519 key as PKCS#8 PEM, for a file or a Kubernetes Secret. */
export function newSigningKeyPem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}
