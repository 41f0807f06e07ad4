// The ledger's place in the composition root: where its signing key comes from, where its
// checkpoints are published besides the database, and what serve says about both at start-up.
import { dirname, resolve } from 'node:path';
import { besideDatabaseWarning, KEY_ENV, KEY_FILE_ENV } from '../ledger/checkpoint.ts';
import { Ledger } from '../ledger/ledger.ts';
import { DirectorySink } from '../ledger/witness.ts';
import type { Store } from '../store/store.ts';
import type { ResolvedConfig } from './config.ts';

/**
 * `tether serve` signs checkpoints, creating the default key when none is configured. A gateway
 * signs only with a key it was given, or when the store is its own SQLite file: one sharing
 * serve's store must not sign with a key of its own, which verify would not trust. A key file
 * that is named but cannot be read stops start-up here, before anything listens.
 */
export async function openLedger(
  store: Store,
  config: ResolvedConfig,
  surface: 'serve' | 'gateway' = 'serve',
): Promise<Ledger> {
  const databaseFile = config.storeUrl.startsWith('sqlite:') ? config.storeUrl.slice('sqlite:'.length) : undefined;
  const ownStore = databaseFile !== undefined && dirname(resolve(databaseFile)) === resolve(config.dataDir);
  const keyFile = config.ledger?.signingKeyFile;
  const ledger = Ledger.withKey(store, {
    dataDir: config.dataDir,
    keyFile,
    databaseFile,
    mint: surface === 'serve' || ownStore,
  });
  const keyNamed =
    keyFile !== undefined || process.env[KEY_FILE_ENV] !== undefined || process.env[KEY_ENV] !== undefined;
  if (surface === 'serve' || ownStore || keyNamed) {
    try {
      void ledger.keyLocation;
    } catch (e) {
      await store.close();
      throw e;
    }
  }
  if (config.ledger?.maxUnsignedAgeSeconds) ledger.maxUnsignedAgeMs = config.ledger.maxUnsignedAgeSeconds * 1000;
  return ledger;
}

/** Loads the key now (a missing key file stops start-up), says where it is, and starts publishing checkpoints. */
export async function witnessLedger(
  ledger: Ledger,
  config: ResolvedConfig,
  log: { info(o: object, m: string): void; warn(o: object, m: string): void },
): Promise<void> {
  if (!ledger.canSign) {
    log.info(
      {},
      'no ledger signing key here: this process appends to the shared ledger and leaves signing to tether serve (give ledger.signingKeyFile to sign here too)',
    );
    return;
  }
  const location = ledger.keyLocation;
  if (location?.besideDatabase) log.warn({ key: location.where }, besideDatabaseWarning(location.where));
  else if (location) log.info({ key: location.where, keyId: location.signer.keyId }, 'ledger signing key loaded');
  const dir = config.ledger?.witnessDir;
  if (!dir) {
    log.info(
      {},
      'ledger checkpoints are published at GET /v1/ledger/checkpoints/latest only; set ledger.witnessDir to also keep them outside the database',
    );
    return;
  }
  const sink = new DirectorySink(dir);
  ledger.publishTo(sink, (e) => log.warn({ sink: sink.name, err: String(e) }, 'publishing a checkpoint failed'));
  await ledger.publishLatest();
}
