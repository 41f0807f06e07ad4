// The report for a terminal: per agent, its reach and its findings (severity, what exceeds the
// boundary, the witness path, the fix), then problems grouped by kind, then blind spots.
import type { AccessReport, AgentReport } from './analyze.ts';
import type { AccessProblem } from './inventory.ts';
import { formatSource } from '../../kube/object-dump.ts';
import { SEVERITIES } from './severity.ts';
import { formatPath } from './witness.ts';

const counts = (c: Record<string, number>) =>
  SEVERITIES.filter((s) => c[s])
    .map((s) => `${c[s]} ${s}`)
    .join(', ') || 'none';

function agentSection(a: AgentReport): string[] {
  const out: string[] = [];
  const b = a.boundary;
  out.push(
    `Agent ${a.name}${a.authorityClass ? ` (${a.authorityClass})` : ''} — boundary: ${b.namespaces.length ? `namespaces ${b.namespaces.join(', ')}` : 'no namespaces'}; ${b.rules} rule(s)`,
  );
  out.push(`  acts as: ${a.identities.join(', ') || 'no Kubernetes identity'}`);
  if (a.tools.length)
    out.push(
      `  tools:   ${a.tools.map((t) => `${t.server}/${t.tool} [${t.rbac}${t.runsAs ? `, runs as ${t.runsAs}` : ''}]`).join(', ')}`,
    );
  if (a.invokes.length) out.push(`  invokes: ${a.invokes.join(', ')}`);
  out.push(
    `  reach:   ${a.reach.identities} identities (${a.reach.serviceAccounts} service accounts), ${a.reach.rules} rules, ${a.reach.escalationsTotal} escalation(s)`,
  );
  for (const e of a.reach.escalations.slice(0, 10)) out.push(`           ${e.from} —${e.label}→ ${e.to}`);
  if (a.reach.escalationsTotal > 10) out.push(`           … ${a.reach.escalationsTotal - 10} more (see JSON)`);
  out.push(
    `  findings: ${a.totalFindings} (${counts(a.counts)})${a.findings.length < a.totalFindings ? `, the ${a.findings.length} most severe shown` : ''}`,
  );
  for (const f of a.findings) {
    out.push(`  ${f.severity.toUpperCase().padEnd(8)} ${f.summary}${f.routes > 1 ? `  [${f.routes} routes]` : ''}`);
    out.push(`           via ${formatPath(f.path)}`);
    out.push(`           fix: ${f.fix.summary} (affects ${f.fix.affects})`);
  }
  return out;
}

export function groupProblems(problems: readonly AccessProblem[]): string[] {
  const groups = new Map<string, AccessProblem[]>();
  for (const p of problems) {
    const k = `${p.severity}|${p.code}`;
    const g = groups.get(k) ?? [];
    g.push(p);
    groups.set(k, g);
  }
  const out: string[] = [];
  const order = { error: 0, warning: 1, info: 2 };
  for (const [k, list] of [...groups].sort(
    (a, b) => order[a[1][0]?.severity ?? 'info'] - order[b[1][0]?.severity ?? 'info'] || (a[0] < b[0] ? -1 : 1),
  )) {
    const [severity, code] = k.split('|');
    out.push(`${severity} [${code}] ×${list.length}`);
    for (const p of list.slice(0, 5))
      out.push(`  ${formatSource(p.source)}${p.object ? ` ${p.object}` : ''}: ${p.message}`);
    if (list.length > 5) out.push(`  … ${list.length - 5} more (see JSON)`);
  }
  return out;
}

export function renderText(r: AccessReport): string {
  const out: string[] = [];
  out.push(
    `Effective access: ${r.summary.agents} agent(s), ${r.summary.findings} finding(s) (${counts(r.summary.bySeverity)})`,
  );
  out.push(
    `Objects: ${Object.entries(r.summary.objects)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ')}`,
  );
  for (const a of r.agents) {
    out.push('');
    out.push(...agentSection(a));
  }
  if (r.problems.length) {
    out.push('', `Problems (${r.problems.length}):`);
    out.push(...groupProblems(r.problems).map((l) => `  ${l}`));
  }
  if (r.blindSpots.length) {
    out.push('', 'Could not see:');
    for (const b of r.blindSpots) out.push(`  - ${b}`);
  }
  return `${out.join('\n')}\n`;
}
