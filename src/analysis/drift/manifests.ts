// Parses manifest files into Kubernetes objects, document by document, so one broken document
// costs only itself: every problem names the file, the document and the line.
import { LineCounter, parseAllDocuments } from 'yaml';
import type { InputProblem, KubeObject } from './model.ts';

export interface ParsedObject {
  readonly object: KubeObject;
  /** 0-based document index in the file. */
  readonly doc: number;
  /** 1-based line where the document starts. */
  readonly line: number;
}

export interface ParsedFile {
  readonly objects: ParsedObject[];
  readonly problems: InputProblem[];
  /** Documents that are not Kubernetes objects (values files, kustomize configuration). */
  readonly skipped: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const TOOL_CONFIG_GROUPS = ['kustomize.config.k8s.io/', 'config.kubernetes.io/', 'kustomize.toolkit.fluxcd.io/'];

function isToolConfig(v: Record<string, unknown>): boolean {
  const av = typeof v.apiVersion === 'string' ? v.apiVersion : '';
  return (
    (TOOL_CONFIG_GROUPS.some((g) => av.startsWith(g)) && (v.kind === 'Kustomization' || v.kind === 'Component')) ||
    v.kind === 'Chart'
  );
}

/** What is wrong with a document as a Kubernetes object, or undefined when nothing is. */
function objectProblem(v: Record<string, unknown>): string | undefined {
  const md = v.metadata;
  if (typeof v.apiVersion !== 'string' || !v.apiVersion) return 'apiVersion is missing';
  if (typeof v.kind !== 'string' || !v.kind) return 'kind is missing';
  if (!isRecord(md)) return `${v.kind}: metadata is missing`;
  if (typeof md.name !== 'string' || !md.name) {
    return typeof md.generateName === 'string'
      ? `${v.kind} ${md.generateName}*: uses generateName, so it has no stable name to compare`
      : `${v.kind}: metadata.name is missing`;
  }
  if (md.namespace !== undefined && typeof md.namespace !== 'string')
    return `${v.kind} ${md.name}: metadata.namespace is not a string`;
  return undefined;
}

export function parseManifests(text: string, file: string): ParsedFile {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: false });
  const list = Array.isArray(docs) ? docs : [docs];
  const objects: ParsedObject[] = [];
  const problems: InputProblem[] = [];
  let skipped = 0;
  list.forEach((doc, i) => {
    const line = lines.linePos(doc.range[0]).line;
    const docName = `document ${i + 1} (line ${line})`;
    if (doc.errors.length > 0) {
      const e = doc.errors[0];
      const at = e?.linePos?.[0];
      problems.push({
        where: file,
        message: `document ${i + 1}${at ? ` line ${at.line} column ${at.col}` : ` (line ${line})`}: invalid YAML: ${(e?.message.split('\n')[0] ?? 'parse error').replace(/ at line \d+, column \d+:?$/, '')}`,
        severity: 'error',
      });
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      problems.push({ where: file, message: `${docName}: cannot be read: ${(e as Error).message}`, severity: 'error' });
      return;
    }
    if (value === null || value === undefined) return;
    if (!isRecord(value)) {
      skipped++;
      return;
    }
    const items =
      typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items)
        ? value.items
        : [value];
    items.forEach((item, j) => {
      const at = items.length > 1 ? `${docName}, item ${j + 1}` : docName;
      if (!isRecord(item)) {
        problems.push({ where: file, message: `${at}: is not an object`, severity: 'error' });
        return;
      }
      if (isToolConfig(item)) {
        skipped++;
        return;
      }
      if (item.apiVersion === undefined && item.kind === undefined) {
        skipped++;
        return;
      }
      const problem = objectProblem(item);
      if (problem) problems.push({ where: file, message: `${at}: ${problem}`, severity: 'error' });
      else objects.push({ object: item as unknown as KubeObject, doc: i, line });
    });
  });
  return { objects, problems, skipped };
}
