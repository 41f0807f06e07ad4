// The human-readable report: one row per drifted field, missing or extra object, then problems.
import type { Attribution, DriftReport } from './model.ts';
import { describeId } from './object-id.ts';

function short(v: unknown, width = 32): string {
  if (v === undefined) return '(absent)';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > width ? `${s.slice(0, width - 1)}…` : s;
}

export function describeActor(a: Attribution): string {
  const actor = a.actor;
  const who = actor.name ?? actor.username;
  let s: string = actor.class;
  if (who) s += ` ${who}`;
  if (actor.owner) s += ` (owner ${actor.owner})`;
  if (a.pendingSync) s += ' [Git changed, sync pending]';
  return s;
}

function sources(a: Attribution): string {
  return [...new Set(a.evidence.map((e) => e.source))].join('+');
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatTable(report: DriftReport): string {
  const out: string[] = [];
  const at = report.revision ? ` at ${report.revision.ref} (${report.revision.commit.slice(0, 12)})` : '';
  const differ = report.findings.filter((f) => f.state !== 'extra').length;
  const extras = report.findings.length - differ;
  out.push(
    `${differ} of ${report.compared} object(s) differ from Git${at}; ${extras} extra object(s); ${report.inSync} in sync.`,
  );
  const rows: string[][] = [['OBJECT', 'FIELD', 'GIT', 'LIVE', 'ACTOR', 'CONFIDENCE', 'WHEN', 'EVIDENCE']];
  const intents: string[] = [];
  for (const f of report.findings) {
    const obj = describeId(f.id);
    if (f.state === 'drifted') {
      for (const d of f.fields) {
        rows.push([
          obj,
          d.display,
          short(d.desired),
          short(d.live),
          describeActor(d.attribution),
          d.attribution.confidence,
          d.attribution.time ?? '?',
          sources(d.attribution),
        ]);
        const intent = d.attribution.actor.intent;
        if (intent)
          intents.push(
            `  ${obj} ${d.display}: intent "${intent.summary}"${intent.trigger ? ` (trigger ${intent.trigger})` : ''}`,
          );
      }
    } else if (f.attribution) {
      const label =
        f.state === 'missing'
          ? '(object missing from cluster)'
          : `(extra: ${f.gitopsOwner ?? 'GitOps-labelled'}, absent from Git)`;
      rows.push([
        obj,
        label,
        f.state === 'missing' ? 'present' : '(absent)',
        f.state === 'missing' ? '(absent)' : 'present',
        describeActor(f.attribution),
        f.attribution.confidence,
        f.attribution.time ?? '?',
        sources(f.attribution),
      ]);
    }
  }
  if (rows.length > 1) out.push('', table(rows));
  if (intents.length) out.push('', 'Intent recorded by agents:', ...intents);
  if (report.problems.length) {
    out.push('', 'Problems (the rest was still compared):');
    for (const p of report.problems) out.push(`  ${p.severity}: ${p.where}: ${p.message}`);
  }
  for (const n of report.notes) out.push('', `Note: ${n}`);
  return `${out.join('\n')}\n`;
}
