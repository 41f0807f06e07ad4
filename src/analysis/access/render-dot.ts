// A picture of the witness paths: every finding's path from agent to rule, merged into one
// Graphviz graph (shared hops drawn once), rules coloured by severity. SVG comes from Graphviz's
// `dot` when it is installed.
import { spawnSync } from 'node:child_process';
import type { AccessReport } from './analyze.ts';
import type { Severity } from './severity.ts';
import type { PathStep } from './witness.ts';

const SHAPE: Record<PathStep['kind'], string> = {
  agent: 'shape=box style="rounded,filled" fillcolor="#cfe2ff"',
  tool: 'shape=box style=filled fillcolor="#ffe5b4"',
  principal: 'shape=ellipse style=filled fillcolor="#e8f5e9"',
  pool: 'shape=hexagon style=filled fillcolor="#f3e5f5"',
  synthetic: 'shape=octagon style=filled fillcolor="#ffcdd2"',
  webhook: 'shape=hexagon style=filled fillcolor="#ffe0b2"',
  capability: 'shape=doubleoctagon',
  binding: 'shape=note',
  role: 'shape=folder',
  rule: 'shape=box style="filled" fontsize=10',
};
const COLOR: Record<Severity, string> = { critical: '#e53935', high: '#fb8c00', medium: '#fdd835', low: '#c5e1a5' };

export const dotString = (s: string) =>
  `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`;
const wrap = (s: string, width = 48) => s.replace(new RegExp(`(.{1,${width}})(\\s+|$)`, 'g'), '$1\n').trim();

export function renderDot(r: AccessReport, opts: { maxFindingsPerAgent?: number } = {}): string {
  const max = opts.maxFindingsPerAgent ?? 25;
  const nodes = new Map<string, string>();
  const edges = new Map<string, string>();
  for (const a of r.agents) {
    for (const f of a.findings.slice(0, max)) {
      let prev: string | undefined;
      f.path.forEach((step, i) => {
        // Rules are per finding (their excess differs); everything else is shared.
        const id = step.kind === 'rule' ? `${step.ref}@${f.id}` : step.ref;
        if (!nodes.has(id)) {
          const label =
            step.kind === 'rule' ? `${f.severity.toUpperCase()}: ${f.summary}\n(${step.label})` : step.label;
          const color = step.kind === 'rule' ? ` fillcolor=${dotString(COLOR[f.severity])}` : '';
          nodes.set(id, `  ${dotString(id)} [label=${dotString(wrap(label))} ${SHAPE[step.kind]}${color}];`);
        }
        if (prev !== undefined && i > 0) {
          const key = `${prev}\n${id}`;
          if (!edges.has(key))
            edges.set(
              key,
              `  ${dotString(prev)} -> ${dotString(id)} [label=${dotString(wrap(step.via ?? '', 32))} fontsize=9];`,
            );
        }
        prev = id;
      });
    }
  }
  return [
    'digraph access {',
    '  rankdir=LR;',
    '  node [fontname="Helvetica"]; edge [fontname="Helvetica" color="#555555"];',
    ...nodes.values(),
    ...edges.values(),
    '}',
    '',
  ].join('\n');
}

/** SVG via Graphviz, or the reason it is not available. */
export function dotToSvg(dot: string): { svg: string } | { error: string } {
  const r = spawnSync('dot', ['-Tsvg'], { input: dot, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error)
    return {
      error: (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'Graphviz `dot` is not installed' : r.error.message,
    };
  if (r.status !== 0) return { error: `dot failed: ${r.stderr.trim()}` };
  return { svg: r.stdout };
}
