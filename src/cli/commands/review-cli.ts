// `tether review …`: the console's reviewer views in a terminal, over the same /v1/review API.
// `review proof` checks the entry here, against a key you hold, rather than taking the server's word.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { keyIdOf, publicKeyFromPem, verifyCheckpoint } from '../../ledger/checkpoint.ts';
import { leafHash } from '../../ledger/hash.ts';
import { rootFromInclusionProof } from '../../ledger/proof.ts';
import type { ChainHop, ChainNode, ChainView } from '../../service/chain-tree.ts';
import type { ApprovalDetail } from '../../service/review-approvals.ts';
import type { DriftFinding, ProofBundle } from '../../service/review-ledger.ts';
import { apiClient, type ClientOptions } from '../client.ts';
import { printJson, UsageError } from '../output.ts';

type Run = (fn: () => Promise<number>) => void;
type Opts = ClientOptions & { output?: string };

const show = (v: unknown) => (v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v));

function client(cmd: Command): Command {
  return cmd
    .option('--server <url>', 'Tether API URL (TETHER_SERVER)')
    .option('--token <token>', 'bearer token of a person (TETHER_TOKEN)')
    .option('--ca <file>', "Tether's CA certificate (TETHER_CA)")
    .option('--data-dir <dir>', 'where a local tether serve keeps its data')
    .option('-o, --output <format>', 'text or json', 'text');
}

export function approvalText(d: ApprovalDetail): string {
  const r = d.request;
  const lines = [
    `${d.approval.id}: ${d.approval.summary} [${d.approval.status}]`,
    `  agent ${d.agent?.name} (owner ${d.agent?.owner}, ${d.agent?.authorityClass})`,
    `  wants ${r?.verb ?? '?'} ${r?.target ? `${r.target.resource} ${r.target.namespace ?? ''}/${r.target.name ?? ''}` : ''}${r?.tool ? ` via ${r.tool.server}/${r.tool.name}` : ''}`,
    `  intent ${r?.intent?.summary ?? '—'}`,
    `  chain ${r?.chain ? `${r.chain.id} (depth ${r.chain.depth})` : '—'}`,
    `  review asked by ${(r?.rules ?? d.approval.rules).join(', ')}`,
    `  ${Math.round(d.ttlLeftMs / 1000)} s left; ${d.approval.approvedBy.length} of ${d.approval.minApprovals} approvals; you ${d.you.mayDecide ? 'may decide' : `cannot decide: ${d.you.why}`}`,
  ];
  if (d.diff.kind === 'update')
    for (const c of d.diff.changes)
      lines.push(`  ${c.change.padEnd(8)} ${c.path}: ${show(c.before)} → ${show(c.after)}`);
  else if (d.diff.kind === 'create')
    for (const x of d.diff.highlights) lines.push(`  creates  ${x.path} = ${show(x.value)} (${x.why})`);
  else
    lines.push(d.diff.kind === 'delete' ? '  deletes the object' : '  no object kept (Secrets and tokens never are)');
  return lines.join('\n');
}

function hopText(h: ChainHop, pad: string): string[] {
  const head = `${pad}#${h.index} ${h.refused ? 'REFUSED' : (h.decision ?? h.status ?? '')} ${h.kind === 'tool-result' ? `tool ${h.tool}` : (h.source ?? h.kind)} ${h.verb ?? ''} ${h.target ?? ''}`;
  const extra = `${h.latencyMs !== undefined ? ` ${h.latencyMs} ms` : ''}${h.rules.length ? ` [${h.rules.join(', ')}]` : ''}`;
  return [`${head.trimEnd()}${extra}`, ...h.decisions.flatMap((d) => hopText(d, `${pad}  `))];
}

function nodeText(n: ChainNode, pad = ''): string[] {
  return [
    `${pad}${n.agent} (depth ${n.depth})`,
    ...n.hops.flatMap((h) => hopText(h, `${pad}  `)),
    ...n.children.flatMap((c) => nodeText(c, `${pad}  `)),
  ];
}

export function chainText(v: ChainView): string {
  const trips = v.breakers.map(
    (b) => `breaker ${b.scope} ${b.key}: ${b.from} → ${b.to}${b.cause !== undefined ? ` (caused by #${b.cause})` : ''}`,
  );
  return [
    `chain ${v.id}: ${v.entries} entries, ${v.refused} refused`,
    ...v.roots.flatMap((r) => nodeText(r, '  ')),
    ...trips,
  ].join('\n');
}

/** The same checks as the console's, in Node: entry bytes → leaf hash → path → signed root, with the key given or served. */
export function verifyProof(b: ProofBundle, trustedPem?: string): { ok: boolean; why: string } {
  const c = b.checkpoint;
  if (!c) return { ok: false, why: `no signed checkpoint covers entry ${b.index} yet (POST /v1/ledger/checkpoint)` };
  if ((JSON.parse(b.data) as { index?: number }).index !== b.index)
    return { ok: false, why: 'the entry does not commit to its position' };
  const root =
    c.size === b.size
      ? rootFromInclusionProof(
          b.index,
          b.size,
          leafHash(b.data),
          b.proof.map((p) => Buffer.from(p, 'hex')),
        )
      : undefined;
  if (!root?.equals(Buffer.from(c.root, 'hex')))
    return { ok: false, why: `the Merkle path does not lead to the root checkpoint ${c.size} signs` };
  const key = publicKeyFromPem(trustedPem ?? b.publicKey.pem);
  const stored = { size: c.size, root, time: c.time, keyId: c.keyId, signature: Buffer.from(c.signature, 'base64') };
  if (!verifyCheckpoint(stored, key))
    return { ok: false, why: `checkpoint ${c.size} is not signed by key ${keyIdOf(key)}` };
  return {
    ok: true,
    why: `verified against checkpoint ${c.size}, signed by key ${keyIdOf(key)}${trustedPem ? ' (your key)' : ' (the key the server serves: pass --key to hold it to yours)'}`,
  };
}

export function reviewCommand(run: Run): Command {
  const cmd = new Command('review').description(
    'what a reviewer sees: an approval’s diff, a chain, drift, a verified ledger entry',
  );
  const emit = (o: Opts, data: unknown, text: () => string) =>
    o.output === 'json' ? printJson(data) : console.log(text());
  client(
    cmd.command('approval').argument('<id>').description('a pending action: who, why, and the change as a diff'),
  ).action((id: string, o: Opts) =>
    run(async () => {
      const d = await apiClient(o).get<ApprovalDetail>(`/v1/review/approvals/${encodeURIComponent(id)}`);
      emit(o, d, () => approvalText(d));
      return 0;
    }),
  );
  client(
    cmd.command('chain').argument('<id>').description('every ledger entry of one chain (trace) id, as a tree'),
  ).action((id: string, o: Opts) =>
    run(async () => {
      const v = await apiClient(o).get<ChainView>(`/v1/review/chains/${encodeURIComponent(id)}`);
      emit(o, v, () => chainText(v));
      return 0;
    }),
  );
  client(
    cmd.command('drift').description('the latest drift finding per object, with the commands that act on it'),
  ).action((o: Opts) =>
    run(async () => {
      const f = await apiClient(o).get<DriftFinding[]>('/v1/review/drift');
      emit(
        o,
        f,
        () =>
          f
            .map(
              (x) => `#${x.index} ${x.leaf.message}\n${x.actions.map((a) => `  ${a.label}: ${a.command}`).join('\n')}`,
            )
            .join('\n') || '(no drift recorded)',
      );
      return 0;
    }),
  );
  client(
    cmd
      .command('proof')
      .argument('<index>')
      .option('--key <pem>', 'the ledger public key you trust (PEM file)')
      .description('check one ledger entry here, not on the server'),
  ).action((index: string, o: Opts & { key?: string }) =>
    run(async () => {
      if (!/^[0-9]+$/.test(index)) throw new UsageError(`<index> must be a ledger index, got ${JSON.stringify(index)}`);
      const b = await apiClient(o).get<ProofBundle>(`/v1/review/proof/${index}`);
      const r = verifyProof(b, o.key ? readFileSync(o.key, 'utf8') : undefined);
      emit(
        o,
        { ...r, index: b.index, checkpoint: b.checkpoint?.size },
        () => `${r.ok ? 'OK' : 'FAILED'}: entry ${b.index} ${r.why}`,
      );
      return r.ok ? 0 : 1;
    }),
  );
  return cmd;
}
