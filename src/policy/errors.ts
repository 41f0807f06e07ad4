/** Where a problem sits: file, document index within the file (0-based), dotted field path. */
export interface PolicyProblem {
  readonly file: string;
  readonly document?: number;
  readonly path?: string;
  readonly message: string;
  readonly severity: 'error' | 'warning';
  /** Stable id for lint findings, e.g. owner-required. */
  readonly code?: string;
}

export function formatProblem(p: PolicyProblem): string {
  const where = `${p.file}${p.document !== undefined ? `#${p.document}` : ''}${p.path ? ` ${p.path}` : ''}`;
  return `${p.severity}: ${where}: ${p.message}${p.code ? ` [${p.code}]` : ''}`;
}

export class PolicyLoadError extends Error {
  readonly problems: readonly PolicyProblem[];
  constructor(problems: readonly PolicyProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'PolicyLoadError';
    this.problems = problems;
  }
}

/** JSON pointer (/spec/rules/0/verbs) → dotted path (spec.rules[0].verbs). */
export function pointerToPath(pointer: string): string {
  if (pointer === '' || pointer === '/') return '';
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (/^[0-9]+$/.test(seg)) out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}
