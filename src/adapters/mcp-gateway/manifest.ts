// A manifest argument (YAML or JSON, several documents, or a List) → the objects it names.
import { parseAllDocuments } from 'yaml';
import { DecodeError } from '../shared/decode-error.ts';

export interface ManifestObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly object: Readonly<Record<string, unknown>>;
}

export function readManifest(raw: unknown, where: string): ManifestObject[] {
  const docs: unknown[] = [];
  if (typeof raw === 'string') {
    for (const d of parseAllDocuments(raw)) {
      if (d.errors.length > 0)
        throw new DecodeError(where, `not valid YAML or JSON: ${d.errors[0]?.message.split('\n')[0]}`);
      const v: unknown = d.toJS();
      if (v !== null && v !== undefined) docs.push(v);
    }
  } else if (raw !== undefined && raw !== null) docs.push(raw);
  if (docs.length === 0) throw new DecodeError(where, 'the manifest is empty: it must name at least one object');
  const out: ManifestObject[] = [];
  for (const [i, d] of docs.entries()) collect(d, `${where}[${i}]`, out);
  return out;
}

function collect(value: unknown, where: string, out: ManifestObject[]): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new DecodeError(where, 'each document must be a Kubernetes object');
  const o = value as Record<string, unknown>;
  if (typeof o.apiVersion !== 'string' || o.apiVersion === '')
    throw new DecodeError(`${where}.apiVersion`, 'is required');
  if (typeof o.kind !== 'string' || o.kind === '') throw new DecodeError(`${where}.kind`, 'is required');
  if (o.kind.endsWith('List') && Array.isArray(o.items)) {
    for (const [i, item] of o.items.entries()) collect(item, `${where}.items[${i}]`, out);
    return;
  }
  const md = (typeof o.metadata === 'object' && o.metadata !== null ? o.metadata : {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  out.push({ apiVersion: o.apiVersion, kind: o.kind, namespace: str(md.namespace), name: str(md.name), object: o });
}
