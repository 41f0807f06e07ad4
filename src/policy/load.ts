import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { PolicyProblem } from './errors.ts';
import { AgentDocument, API_GROUP, GovernancePolicyDocument, KINDS, type KindName } from './schema.ts';
import { validate } from './validate.ts';

export interface Located<T> {
  readonly doc: T;
  readonly file: string;
  readonly document: number;
}

export interface PolicyDocuments {
  readonly agents: readonly Located<AgentDocument>[];
  readonly governance: readonly Located<GovernancePolicyDocument>[];
}

export interface ParsedPolicy extends PolicyDocuments {
  readonly problems: readonly PolicyProblem[];
}

const POLICY_FILE = /\.(ya?ml|json)$/i;

/** Every policy file below a directory (or the file itself), sorted for a stable version digest. */
export function policyFiles(path: string): string[] {
  const st = statSync(path);
  if (st.isFile()) return [path];
  const out: string[] = [];
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const full = join(path, entry.name);
    if (entry.isDirectory()) out.push(...policyFiles(full));
    else if (POLICY_FILE.test(entry.name)) out.push(full);
  }
  return out.sort();
}

/** Reads Tether documents from a directory; documents of other API groups are skipped, not errors. */
export function parsePolicyDir(path: string): ParsedPolicy {
  const files = policyFiles(path);
  const sources = files.map((f) => ({ name: relative(process.cwd(), f) || f, text: readFileSync(f, 'utf8') }));
  return parsePolicySources(sources);
}

export function parsePolicySources(sources: readonly { name: string; text: string }[]): ParsedPolicy {
  const agents: Located<AgentDocument>[] = [];
  const governance: Located<GovernancePolicyDocument>[] = [];
  const problems: PolicyProblem[] = [];
  for (const { name, text } of sources) {
    const docs = parseAllDocuments(text, { prettyErrors: true });
    const list = Array.isArray(docs) ? docs : [docs];
    list.forEach((d, index) => {
      if (d.errors.length > 0) {
        for (const e of d.errors) {
          const pos = e.linePos?.[0];
          problems.push({
            file: name,
            document: index,
            severity: 'error',
            code: 'yaml',
            message: `${pos ? `line ${pos.line} column ${pos.col}: ` : ''}${e.message.split('\n')[0]}`,
          });
        }
        return;
      }
      const value: unknown = d.toJS();
      if (value === null || value === undefined) return;
      const r = classifyObject(value, name, index);
      problems.push(...r.problems);
      if (r.agent) agents.push(r.agent);
      if (r.governance) governance.push(r.governance);
    });
  }
  return { agents, governance, problems };
}

/** Validates one decoded object (from a file or from the cluster). */
export function classifyObject(
  value: unknown,
  file: string,
  document: number,
): { agent?: Located<AgentDocument>; governance?: Located<GovernancePolicyDocument>; problems: PolicyProblem[] } {
  const at = (path: string | undefined, message: string): PolicyProblem => ({
    file,
    document,
    path,
    message,
    severity: 'error',
  });
  if (typeof value !== 'object' || Array.isArray(value) || value === null) {
    return { problems: [at(undefined, 'expected a Kubernetes object (a mapping with apiVersion and kind)')] };
  }
  const obj = value as { apiVersion?: unknown; kind?: unknown };
  if (typeof obj.apiVersion !== 'string' || !obj.apiVersion.startsWith(`${API_GROUP}/`)) return { problems: [] };
  if (typeof obj.kind !== 'string' || !(obj.kind in KINDS)) {
    return {
      problems: [
        at(
          'kind',
          `unknown kind ${JSON.stringify(obj.kind)} in ${API_GROUP}; expected one of ${Object.keys(KINDS).join(', ')}`,
        ),
      ],
    };
  }
  const kind = obj.kind as KindName;
  const schema = kind === 'Agent' ? AgentDocument : GovernancePolicyDocument;
  const errors = validate(schema, value);
  if (errors.length > 0) return { problems: errors.map((e) => at(e.path || undefined, e.message)) };
  return kind === 'Agent'
    ? { agent: { doc: value as AgentDocument, file, document }, problems: [] }
    : { governance: { doc: value as GovernancePolicyDocument, file, document }, problems: [] };
}
