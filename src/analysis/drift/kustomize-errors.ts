// Reads kustomize's nested error chain ("accumulating resources from 'base': … from 'x.yaml': …")
// down to the innermost failure: which kustomization listed which entry, and what went wrong.

export interface KustomizeFailure {
  /** Absolute directory of the kustomization that lists the failing entry (undefined: the unit itself). */
  readonly dir?: string;
  /** The failing entry exactly as the kustomization lists it. */
  readonly entry?: string;
  /** The innermost message, without the accumulation chain. */
  readonly detail: string;
}

function lastMatch(text: string, re: RegExp): RegExpExecArray | undefined {
  let last: RegExpExecArray | undefined;
  for (const m of text.matchAll(re)) last = m as RegExpExecArray;
  return last;
}

function tidy(detail: string): string {
  return detail
    .replace(/evalsymlink failure on '([^']+)' : lstat [^:]+: no such file or directory/, "'$1' does not exist")
    .replace(/^MalformedYAMLError: /, 'invalid YAML: ')
    .replace(/\s+/g, ' ')
    .trim();
}

export function parseKustomizeError(stderr: string): KustomizeFailure {
  // kubectl logs through klog: `err="…"` on one line, or `err=<` then tab-indented lines and ` >`.
  // Standalone kustomize prints `Error: …`.
  const quoted = /err="((?:[^"\\]|\\.)*)"/.exec(stderr);
  const block = /err=<\n((?:\t.*\n?)*)\s*>/.exec(stderr);
  const text =
    quoted?.[1] !== undefined
      ? quoted[1].replace(/\\"/g, '"').replace(/\\\\/g, '\\')
      : block?.[1] !== undefined
        ? block[1]
            .replace(/^\t/gm, '')
            .replace(/`\n(.*)\n`/g, '`$1`')
            .trim()
        : stderr.replace(/^Error: /m, '').trim();
  const dir = lastMatch(text, /recursed accumulation of path '([^']+)'/g)?.[1];
  const from = lastMatch(text, /accumulating resources from '([^']+)'/g);
  if (!from) return { ...(dir ? { dir } : {}), detail: tidy(text) };
  let rest = text.slice((from.index ?? 0) + from[0].length).replace(/^'?:\s*/, '');
  const cut = rest.search(/'?: must build at directory|': /);
  if (cut > 0) rest = rest.slice(0, cut);
  return { ...(dir ? { dir } : {}), entry: from[1] as string, detail: tidy(rest) };
}
