// Reads Kubernetes objects from files: `kubectl get … -o yaml|json` List dumps, multi-document
// YAML, JSON, and directories of them. Every object keeps where it came from (file, document,
// List item), and every unreadable piece becomes a precise problem instead of an exception, so a
// caller can carry on with what it could read and say what it could not.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export interface ObjectMetaLike {
  readonly name?: string;
  readonly namespace?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly [key: string]: unknown;
}

export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: ObjectMetaLike;
  readonly [key: string]: unknown;
}

/** Where an object came from: a file (document index 0-based, item index within a List) or a cluster. */
export interface ObjectSource {
  readonly origin: string;
  readonly document?: number;
  readonly item?: number;
}

export interface LocatedObject {
  readonly object: KubeObject;
  readonly source: ObjectSource;
}

export interface DumpProblem {
  readonly source: ObjectSource;
  readonly severity: 'error' | 'warning' | 'info';
  /** Stable id: yaml, json, read, not-an-object, no-kind, … */
  readonly code: string;
  readonly message: string;
  /** `Kind namespace/name` of the object concerned, when known. */
  readonly object?: string;
}

export interface ObjectDump {
  readonly objects: LocatedObject[];
  readonly problems: DumpProblem[];
  /** Files read, in order. */
  readonly files: string[];
}

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

export function formatSource(s: ObjectSource): string {
  return `${s.origin}${s.document !== undefined ? `#${s.document}` : ''}${s.item !== undefined ? `[${s.item}]` : ''}`;
}

export function describeObject(o: KubeObject): string {
  const md = o.metadata ?? {};
  const name = md.namespace ? `${md.namespace}/${md.name ?? '?'}` : (md.name ?? '?');
  return `${o.kind ?? '?'} ${name}`;
}

/** Every manifest file under the paths (files are taken as given), sorted per directory, dot-files skipped. */
export function manifestFiles(paths: readonly string[], problems: DumpProblem[] = []): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (entry.name.startsWith('.')) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (MANIFEST_FILE.test(entry.name)) out.push(full);
    }
  };
  for (const p of paths) {
    try {
      if (statSync(p).isDirectory()) walk(p);
      else out.push(p);
    } catch (e) {
      problems.push({
        source: { origin: p },
        severity: 'error',
        code: 'read',
        message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      });
    }
  }
  return out;
}

export function readObjectDump(paths: readonly string[]): ObjectDump {
  const problems: DumpProblem[] = [];
  const files = manifestFiles(paths, problems);
  const objects: LocatedObject[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      problems.push({
        source: { origin: file },
        severity: 'error',
        code: 'read',
        message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      });
      continue;
    }
    const r = parseObjectDump(text, file);
    for (const o of r.objects) objects.push(o);
    for (const p of r.problems) problems.push(p);
  }
  return { objects, problems, files };
}

/** Parses one file's text. JSON files take the fast path; anything else is multi-document YAML. */
export function parseObjectDump(text: string, origin: string): { objects: LocatedObject[]; problems: DumpProblem[] } {
  const objects: LocatedObject[] = [];
  const problems: DumpProblem[] = [];
  const trimmed = text.trimStart();
  if (/\.json$/i.test(origin) || trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let value: unknown;
    let parsed = false;
    try {
      value = JSON.parse(text);
      parsed = true;
    } catch (e) {
      // JSON-looking YAML (flow style) still parses as YAML; only .json files must be JSON.
      if (/\.json$/i.test(origin)) {
        problems.push({
          source: { origin, document: 0 },
          severity: 'error',
          code: 'json',
          message: `not valid JSON: ${(e as Error).message}`,
        });
        return { objects, problems };
      }
    }
    if (parsed) {
      addDocument(value, { origin, document: 0 }, objects, problems);
      return { objects, problems };
    }
  }
  const docs = parseAllDocuments(text, { uniqueKeys: false });
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((d, document) => {
    const source = { origin, document };
    if (d.errors.length > 0) {
      for (const e of d.errors) {
        const pos = e.linePos?.[0];
        problems.push({
          source,
          severity: 'error',
          code: 'yaml',
          message: `broken YAML${pos ? ` at line ${pos.line} column ${pos.col}` : ''}: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}; this document was skipped`,
        });
      }
      return;
    }
    addDocument(d.toJS({ maxAliasCount: 1000 }), source, objects, problems);
  });
  return { objects, problems };
}

/** Adds one decoded document: a List is flattened (items inherit kind from `FooList`), null is skipped. */
export function addDocument(
  value: unknown,
  source: ObjectSource,
  objects: LocatedObject[],
  problems: DumpProblem[],
): void {
  if (value === null || value === undefined) return;
  if (Array.isArray(value)) {
    value.forEach((v, item) => {
      addItem(v, { ...source, item }, undefined, objects, problems);
    });
    return;
  }
  if (typeof value !== 'object') {
    problems.push({
      source,
      severity: 'error',
      code: 'not-an-object',
      message: `expected a Kubernetes object, found a ${typeof value}`,
    });
    return;
  }
  const o = value as KubeObject & { items?: unknown };
  if (typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o.items)) {
    // Typed lists from the API (ClusterRoleList) omit kind and apiVersion on their items.
    const itemKind = o.kind === 'List' ? undefined : o.kind.slice(0, -'List'.length);
    const inherit = itemKind ? { kind: itemKind, apiVersion: o.apiVersion } : undefined;
    o.items.forEach((v, item) => {
      addItem(v, { ...source, item }, inherit, objects, problems);
    });
    return;
  }
  addItem(value, source, undefined, objects, problems);
}

function addItem(
  value: unknown,
  source: ObjectSource,
  inherit: { kind: string; apiVersion?: string } | undefined,
  objects: LocatedObject[],
  problems: DumpProblem[],
): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push({
      source,
      severity: 'error',
      code: 'not-an-object',
      message: 'expected a Kubernetes object (a mapping with apiVersion and kind)',
    });
    return;
  }
  let o = value as KubeObject;
  if (inherit && (o.kind === undefined || o.apiVersion === undefined))
    o = { ...o, kind: o.kind ?? inherit.kind, apiVersion: o.apiVersion ?? inherit.apiVersion };
  if (typeof o.kind !== 'string' || o.kind === '' || typeof o.apiVersion !== 'string' || o.apiVersion === '') {
    problems.push({
      source,
      severity: 'error',
      code: 'no-kind',
      message: 'object has no apiVersion or kind; skipped',
      object: o.metadata?.name ? describeObject(o) : undefined,
    });
    return;
  }
  if (typeof o.metadata?.name !== 'string' || o.metadata.name === '') {
    problems.push({ source, severity: 'error', code: 'no-name', message: `${o.kind} has no metadata.name; skipped` });
    return;
  }
  objects.push({ object: o, source });
}
