// Wires `tether ledger …` to a store: the local data directory's SQLite by default, or --store.
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import type { LeafKind } from '../../ledger/leaf.ts';
import type { Ledger } from '../../ledger/ledger.ts';
import { printJson, UsageError } from '../output.ts';
import { type CommandResult, ledgerExport, ledgerProve, ledgerPubkey, ledgerShow, ledgerVerify } from './ledger.ts';

interface StoreOptions {
  dataDir?: string;
  store?: string;
  output?: string;
}

async function withLedger<T>(o: StoreOptions, fn: (l: Ledger) => Promise<CommandResult<T>>): Promise<number> {
  const dataDir = resolve(o.dataDir ?? process.env.TETHER_DATA_DIR ?? '.tether');
  const { openStore } = await import('../../store/open.ts');
  const { Ledger } = await import('../../ledger/ledger.ts');
  const store = await openStore(o.store ?? process.env.TETHER_STORE ?? `sqlite:${join(dataDir, 'tether.db')}`);
  try {
    const r = await fn(Ledger.inDataDir(store, dataDir));
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
    .option('-o, --output <format>', 'text or json', 'text');

const time = (v: string | undefined, flag: string) => {
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new UsageError(`${flag}: not a time: ${v}`);
  return t;
};

export function ledgerCommand(run: (fn: () => Promise<number>) => void): Command {
  const ledger = new Command('ledger').description('the tamper-evident record: verify, show, prove, export');
  storeOptions(ledger.command('verify').description('recompute the Merkle tree and check every checkpoint; non-zero exit names the first bad index'))
    .option('--file <export.jsonl>', 'verify an exported file offline instead of the store')
    .option('--pubkey <file|pem>', 'public key for --file')
    .action((o: StoreOptions & { file?: string; pubkey?: string }) =>
      run(async () => {
        if (o.file) {
          if (!o.pubkey) throw new UsageError('--file needs --pubkey (from tether ledger pubkey)');
          const r = await ledgerVerify({ file: o.file, publicKey: o.pubkey });
          if (o.output === 'json') printJson(r.data);
          else console.log(r.text);
          return r.exitCode;
        }
        return withLedger(o, (l) => ledgerVerify({ ledger: l }));
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
    .action((o: StoreOptions & { agent?: string; owner?: string; object?: string; kind?: string; since?: string; until?: string; limit: string }) =>
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
  storeOptions(ledger.command('prove').description('an inclusion proof for one entry').argument('<index>'))
    .option('--size <n>', 'prove against the tree of this size')
    .action((index: string, o: StoreOptions & { size?: string }) =>
      run(() => {
        const i = Number(index);
        if (!Number.isInteger(i) || i < 0) throw new UsageError(`<index> must be a non-negative integer, got ${index}`);
        return withLedger(o, (l) => ledgerProve({ ledger: l, index: i, size: o.size === undefined ? undefined : Number(o.size) }));
      }),
    );
  storeOptions(ledger.command('export').description('JSON Lines with inclusion proofs and a signed checkpoint').argument('[out]', 'file, or - for stdout', '-')).action(
    (out: string, o: StoreOptions) => run(() => withLedger(o, (l) => ledgerExport({ ledger: l, out }))),
  );
  storeOptions(ledger.command('pubkey').description('the public key that signs checkpoints')).action((o: StoreOptions) =>
    run(() => withLedger(o, (l) => ledgerPubkey({ ledger: l }))),
  );
  return ledger;
}
