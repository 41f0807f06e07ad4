// Wires `tether ledger …` to a store: the local data directory's SQLite by default, or --store.
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import type { LeafKind } from '../../ledger/leaf.ts';
import type { Ledger } from '../../ledger/ledger.ts';
import { printJson, UsageError } from '../output.ts';
import { parseDuration } from '../../common/duration.ts';
import {
  type CommandResult,
  ledgerExport,
  ledgerKeygen,
  ledgerProve,
  ledgerProveConsistency,
  ledgerPubkey,
  ledgerShow,
  ledgerVerify,
} from './ledger.ts';

interface StoreOptions {
  dataDir?: string;
  store?: string;
  signingKey?: string;
  output?: string;
}

async function withLedger<T>(o: StoreOptions, fn: (l: Ledger) => Promise<CommandResult<T>>): Promise<number> {
  const dataDir = resolve(o.dataDir ?? process.env.TETHER_DATA_DIR ?? '.tether');
  const { openStore } = await import('../../store/open.ts');
  const { Ledger } = await import('../../ledger/ledger.ts');
  const url = o.store ?? process.env.TETHER_STORE ?? `sqlite:${join(dataDir, 'tether.db')}`;
  const store = await openStore(url);
  try {
    const databaseFile = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : undefined;
    const r = await fn(Ledger.withKey(store, { dataDir, keyFile: o.signingKey, databaseFile, mint: false }));
    if (o.output === 'json') printJson(r.data);
    else console.log(r.text);
    return r.exitCode;
  } finally {
    await store.close();
  }
}

const storeOptions = (c: Command) =>
  c
    .option('--data-dir <dir>', 'Tether data directory (signing key, default SQLite store)', undefined)
    .option('--store <url>', 'sqlite:<file> or postgres://… (TETHER_STORE)')
    .option(
      '--signing-key <file>',
      'the ledger signing key (PEM), when kept outside the data directory (TETHER_LEDGER_KEY_FILE, or the PEM itself in TETHER_LEDGER_KEY)',
    )
    .option('-o, --output <format>', 'text or json', 'text');

const time = (v: string | undefined, flag: string) => {
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new UsageError(`${flag}: not a time: ${v}`);
  return t;
};

export function ledgerCommand(run: (fn: () => Promise<number>) => void): Command {
  const ledger = new Command('ledger').description('the tamper-evident record: verify, show, prove, export');
  const collect = (v: string, all: string[] = []) => [...all, v];
  storeOptions(
    ledger
      .command('verify')
      .description(
        'recompute the Merkle tree, check every indexed column, link and checkpoint, and (with --against) prove the log consistent with checkpoints witnessed outside the database; non-zero exit names the first bad index',
      ),
  )
    .option('--file <export.jsonl>', 'verify an exported file offline instead of the store')
    .option('--pubkey <file|pem>', 'public key for --file; with the store, another trusted key (repeatable)', collect)
    .option(
      '--against <checkpoint|dir|export>',
      'an earlier checkpoint held outside the database: a published checkpoint file, a witness directory (ledger.witnessDir) or a tether ledger export; repeatable',
      collect,
    )
    .option(
      '--max-unsigned-age <duration>',
      'fail when entries older than this are covered by no signed checkpoint (e.g. 10m, 1h)',
      '1h',
    )
    .action((o: StoreOptions & { file?: string; pubkey?: string[]; against?: string[]; maxUnsignedAge: string }) =>
      run(async () => {
        if (o.file) {
          const [pubkey] = o.pubkey ?? [];
          if (!pubkey) throw new UsageError('--file needs --pubkey (from tether ledger pubkey)');
          const r = await ledgerVerify({ file: o.file, publicKey: pubkey });
          if (o.output === 'json') printJson(r.data);
          else console.log(r.text);
          return r.exitCode;
        }
        let maxUnsignedAgeMs: number;
        try {
          maxUnsignedAgeMs = parseDuration(o.maxUnsignedAge);
        } catch (e) {
          throw new UsageError(`--max-unsigned-age: ${(e as Error).message}`);
        }
        return withLedger(o, (l) =>
          ledgerVerify({ ledger: l, trustedKeys: o.pubkey, against: o.against, maxUnsignedAgeMs }),
        );
      }),
    );
  storeOptions(ledger.command('show').description('entries by agent, owner, object, kind or time'))
    .option('--agent <name>')
    .option('--owner <id>')
    .option('--object <key>', 'e.g. deployments.apps:shop/web')
    .option('--kind <kind>')
    .option('--since <time>')
    .option('--until <time>')
    .option('--limit <n>', 'at most this many', '100')
    .action(
      (
        o: StoreOptions & {
          agent?: string;
          owner?: string;
          object?: string;
          kind?: string;
          since?: string;
          until?: string;
          limit: string;
        },
      ) =>
        run(() =>
          withLedger(o, (l) =>
            ledgerShow({
              ledger: l,
              agent: o.agent,
              owner: o.owner,
              object: o.object,
              kind: o.kind as LeafKind | undefined,
              since: time(o.since, '--since'),
              until: time(o.until, '--until'),
              limit: Number(o.limit),
            }),
          ),
        ),
    );
  const count = (v: string | undefined, what: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`${what} must be a non-negative integer, got ${v}`);
    return n;
  };
  storeOptions(
    ledger
      .command('prove')
      .description(
        'an inclusion proof for one entry, or with --consistency <from> a consistency proof that the log of --size entries extends the log of <from>',
      )
      .argument('[index]'),
  )
    .option('--size <n>', 'prove against the tree of this size (default: the latest checkpoint, or the current size)')
    .option(
      '--consistency <from>',
      'a consistency proof from the tree of this size (e.g. a witnessed checkpoint) instead of an inclusion proof',
    )
    .action((index: string | undefined, o: StoreOptions & { size?: string; consistency?: string }) =>
      run(() => {
        const size = count(o.size, '--size');
        const from = count(o.consistency, '--consistency');
        if (from !== undefined) return withLedger(o, (l) => ledgerProveConsistency({ ledger: l, from, to: size }));
        const i = count(index, '<index>');
        if (i === undefined) throw new UsageError('give an <index> for an inclusion proof, or --consistency <from>');
        return withLedger(o, (l) => ledgerProve({ ledger: l, index: i, size }));
      }),
    );
  ledger
    .command('witness')
    .description(
      'be a witness: fetch the latest checkpoint, check its signature and its consistency with the last one kept, keep it; exit 2 on a rewritten or shortened log',
    )
    .requiredOption('--server <url>', 'the Tether server (GET /v1/ledger/checkpoints/latest needs no token)')
    .requiredOption('--pubkey <file|pem>', 'the ledger public key, obtained once out of band (tether ledger pubkey)')
    .requiredOption('--dir <dir>', 'where kept checkpoints live (storage the server cannot write)')
    .option('--ca <file>', "the CA of the server's certificate")
    .option('--every <duration>', 'poll at this interval instead of once (e.g. 30s)')
    .action((o: { server: string; pubkey: string; dir: string; ca?: string; every?: string }) =>
      run(async () => {
        const { witnessOnce, readPem } = await import('./ledger-witness.ts');
        const opts = {
          server: o.server,
          publicKeyPem: readPem(o.pubkey),
          dir: o.dir,
          ca: o.ca ? readPem(o.ca) : undefined,
        };
        const everyMs = o.every === undefined ? undefined : parseDuration(o.every);
        for (;;) {
          const r = await witnessOnce(opts);
          console.log(`${new Date().toISOString()} ${r.text}`);
          if (everyMs === undefined || r.exitCode !== 0) return r.exitCode;
          await new Promise((done) => setTimeout(done, everyMs));
        }
      }),
    );
  ledger
    .command('keygen')
    .description(
      'write a new ledger signing key (PEM) to a file, to keep outside the data directory (ledger.signingKeyFile, a Kubernetes Secret)',
    )
    .argument('<file>')
    .action((file: string) =>
      run(async () => {
        const r = await ledgerKeygen({ file });
        console.log(r.text);
        return r.exitCode;
      }),
    );
  storeOptions(
    ledger
      .command('export')
      .description('JSON Lines with inclusion proofs and a signed checkpoint')
      .argument('[out]', 'file, or - for stdout', '-'),
  ).action((out: string, o: StoreOptions) => run(() => withLedger(o, (l) => ledgerExport({ ledger: l, out }))));
  storeOptions(ledger.command('pubkey').description('the public key that signs checkpoints')).action(
    (o: StoreOptions) => run(() => withLedger(o, (l) => ledgerPubkey({ ledger: l }))),
  );
  return ledger;
}
