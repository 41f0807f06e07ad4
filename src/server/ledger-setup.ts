// The ledger's place in the composition root: where its signing key comes from, where its
// checkpoints are published besides the database, and what serve says about both at start-up.
import { besideDatabaseWarning } from '../ledger/checkpoint.ts';
import { Ledger } from '../ledger/ledger.ts';
import { DirectorySink } from '../ledger/witness.ts';
import type { Store } from '../store/store.ts';
import type { ResolvedConfig } from './config.ts';

/** A key file that cannot be read stops start-up here, before anything listens (and the store is closed again). */
export async function openLedger(store: Store, config: ResolvedConfig): Promise<Ledger> {
  const databaseFile = config.storeUrl.startsWith('sqlite:') ? config.storeUrl.slice('sqlite:'.length) : undefined;
  const ledger = Ledger.withKey(store, { dataDir: config.dataDir, keyFile: config.ledger?.signingKeyFile, databaseFile });
  try {
    void ledger.keyLocation;
  } catch (e) {
    await store.close();
    throw e;
  }
  if (config.ledger?.maxUnsignedAgeSeconds) ledger.maxUnsignedAgeMs = config.ledger.maxUnsignedAgeSeconds * 1000;
  return ledger;
}

/** Loads the key now (a missing key file stops start-up), says where it is, and starts publishing checkpoints. */
export async function witnessLedger(ledger: Ledger, config: ResolvedConfig, log: { info(o: object, m: string): void; warn(o: object, m: string): void }): Promise<void> {
  const location = ledger.keyLocation;
  if (location?.besideDatabase) log.warn({ key: location.where }, besideDatabaseWarning(location.where));
  else if (location) log.info({ key: location.where, keyId: location.signer.keyId }, 'ledger signing key loaded');
  const dir = config.ledger?.witnessDir;
  if (!dir) {
    log.info({}, 'ledger checkpoints are published at GET /v1/ledger/checkpoints/latest only; set ledger.witnessDir to also keep them outside the database');
    return;
  }
  const sink = new DirectorySink(dir);
  ledger.publishTo(sink, (e) => log.warn({ sink: sink.name, err: String(e) }, 'publishing a checkpoint failed'));
  await ledger.publishLatest();
}
