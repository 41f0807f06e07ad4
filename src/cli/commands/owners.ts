// Owners and answerability, as a client of the HTTP API: who owns what, orphans, attestation,
// "who is answerable for this change?" and the owner report an auditor asks for.
import type { Command } from 'commander';
import type { OwnerSummary } from '../../service/owners.ts';
import type { AnsweredChange, WhyAnswer } from '../../service/why.ts';
import type { ProvenEntry } from '../../service/evidence.ts';
import { apiClient, type ClientOptions } from '../client.ts';
import { printJson, UsageError } from '../output.ts';
import { table, withClientOptions } from './operate.ts';

type Run = (fn: () => Promise<number>) => void;
type Opts = ClientOptions & { output?: string };

const proofMark = (p: ProvenEntry) => (p.proof.verified ? `#${p.index} ✓` : `#${p.index} ✗ ${p.proof.problem ?? ''}`);

function renderChange(c: AnsweredChange): string[] {
  const leaf = c.change.leaf;
  const intent = (c.intent as { summary?: string } | undefined)?.summary;
  const lines = [
    `${leaf.time}  ${c.verb} by agent ${c.agent} (${c.authorityClass}), owner ${c.owner}   [${proofMark(c.change)}]`,
    `    intent: ${intent ?? '(none declared)'}`,
    `    policy: ${c.policyVersion}`,
  ];
  for (const a of c.approvals) {
    lines.push(`    approval ${a.id}${a.request ? ` requested [${proofMark(a.request)}]` : ''}`);
    for (const v of a.verdicts)
      lines.push(`      ${v.leaf.detail?.verdict} by ${v.leaf.actor}: ${v.leaf.message ?? ''} [${proofMark(v)}]`);
  }
  for (const a of c.audit)
    lines.push(`    audit event ${a.leaf.auditId} (${a.leaf.detail?.seenBy ?? ''}) [${proofMark(a)}]`);
  for (const d of c.drift) lines.push(`    drift: ${d.leaf.message ?? ''} [${proofMark(d)}]`);
  return lines;
}

function everyProof(w: WhyAnswer): ProvenEntry[] {
  const ofChange = (c: AnsweredChange) => [
    c.change,
    ...c.approvals.flatMap((a) => [...(a.request ? [a.request] : []), ...a.verdicts]),
    ...c.audit,
    ...c.drift,
  ];
  return [...w.changes.flatMap(ofChange), ...w.attempts, ...w.unattributedDrift];
}

export function renderWhy(w: WhyAnswer): string {
  const lines = [`${w.object}${w.at ? ` as of ${w.at}` : ''}`];
  if (w.checkpoint)
    lines.push(
      `checkpoint: size ${w.checkpoint.size}, root ${w.checkpoint.root.slice(0, 16)}…, key ${w.checkpoint.keyId}, signature ${w.checkpoint.signatureValid ? 'valid' : 'INVALID'}`,
    );
  if (w.changes.length === 0) lines.push('no governed change recorded');
  for (const c of w.changes) lines.push('', ...renderChange(c));
  if (w.attempts.length)
    lines.push(
      '',
      'refused or pending attempts:',
      ...w.attempts.map(
        (a) =>
          `  ${a.leaf.time} ${a.leaf.verb} by ${a.leaf.agent}: ${a.leaf.decision ?? a.leaf.kind} ${(a.leaf.rules ?? []).join(',')} [${proofMark(a)}]`,
      ),
    );
  if (w.unattributedDrift.length)
    lines.push(
      '',
      'drift not following a governed change:',
      ...w.unattributedDrift.map((d) => `  ${d.leaf.time} ${d.leaf.message ?? ''} [${proofMark(d)}]`),
    );
  if (w.truncated) lines.push('', '(older entries left out)');
  return lines.join('\n');
}

export function ownersCommands(program: Command, run: Run): void {
  const out = (o: Opts, data: unknown, text: () => string) =>
    o.output === 'json' ? printJson(data) : console.log(text());
  const owners = program.command('owners').description('accountable owners: standing, orphaned agents, re-attestation');
  withClientOptions(
    owners.command('list').description('every owner, their agents, status and attestation due dates'),
  ).action((o: Opts) =>
    run(async () => {
      const list = await apiClient(o).get<OwnerSummary[]>('/v1/owners');
      const rows = list.flatMap((x) =>
        x.agents.map((a) => ({
          owner: x.owner,
          directory: typeof x.directory === 'string' ? x.directory : x.directory.problem,
          agent: a.agent,
          class: a.authorityClass,
          status: a.status,
          attestedUntil: a.attestedUntil,
        })),
      );
      out(o, list, () => table(rows, ['owner', 'directory', 'agent', 'class', 'status', 'attestedUntil']));
      return 0;
    }),
  );
  withClientOptions(
    owners.command('orphans').description('agents whose owner is missing, inactive or lapsed (none of them may act)'),
  ).action((o: Opts) =>
    run(async () => {
      const rows = await apiClient(o).get<Record<string, unknown>[]>('/v1/owners/orphans');
      out(o, rows, () => table(rows, ['agent', 'owner', 'status', 'problem']));
      return rows.length === 0 ? 0 : 1;
    }),
  );
  withClientOptions(
    owners
      .command('attest')
      .description('as the owner (your own token), attest that you still answer for an agent; ledgered')
      .argument('<agent>')
      .requiredOption('--until <date>', 'when this attestation lapses (ISO date or time)')
      .option('--reason <text>', 'why you still answer for it (recorded in the ledger)'),
  ).action((agent: string, o: Opts & { until: string; reason?: string }) =>
    run(async () => {
      if (!o.reason?.trim())
        throw new UsageError('--reason is required: the ledger records why the owner still answers for the agent');
      const r = await apiClient(o).post<{ agent: string; until: string; ledgerIndex: number }>('/v1/owners/attest', {
        agent,
        until: o.until,
        reason: o.reason,
      });
      out(o, r, () => `${r.agent}: ownership attested until ${r.until} (ledger #${r.ledgerIndex})`);
      return 0;
    }),
  );

  withClientOptions(
    program
      .command('why')
      .description(
        'who is answerable for the changes to an object: agent, owner, class, intent, approval, audit, drift, with verified proofs',
      )
      .argument('<object>', '<kind>/<namespace>/<name>, or <kind>/<name> when cluster-scoped')
      .option('--at <time>', 'only changes up to this time'),
  ).action((object: string, o: Opts & { at?: string }) =>
    run(async () => {
      const q = new URLSearchParams({ object, ...(o.at ? { at: o.at } : {}) });
      const w = await apiClient(o).get<WhyAnswer>(`/v1/why?${q}`);
      out(o, w, () => renderWhy(w));
      return everyProof(w).every((p) => p.proof.verified) ? 0 : 1;
    }),
  );
  withClientOptions(
    program
      .command('report')
      .description("an owner's agents and what they did in a period, verifiable against a signed checkpoint")
      .requiredOption('--owner <id>')
      .requiredOption('--since <date>')
      .option('--until <date>'),
  ).action((o: Opts & { owner: string; since: string; until?: string }) =>
    run(async () => {
      const q = new URLSearchParams({ owner: o.owner, since: o.since, ...(o.until ? { until: o.until } : {}) });
      if (o.output === 'json') printJson(await apiClient(o).get(`/v1/report?${q}`));
      else process.stdout.write(await apiClient(o).get<string>(`/v1/report?${q}&format=markdown`));
      return 0;
    }),
  );
}
