// Removes what the API server owns before comparing: status, bookkeeping metadata and the
// annotations tools add. Both sides go through here; the diff then only sees intent.
import type { KubeObject } from './model.ts';

const SERVER_METADATA = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'managedFields',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
];
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
export const KUSTOMIZE_ORIGIN = 'config.kubernetes.io/origin';
const TOOL_ANNOTATIONS = [LAST_APPLIED, KUSTOMIZE_ORIGIN];

function withoutAnnotations(md: KubeObject['metadata'], drop: readonly string[]): KubeObject['metadata'] {
  const ann = md.annotations;
  if (!ann || !drop.some((k) => k in ann)) return md;
  const kept = Object.fromEntries(Object.entries(ann).filter(([k]) => !drop.includes(k)));
  const { annotations: _gone, ...rest } = md;
  return Object.keys(kept).length > 0 ? { ...rest, annotations: kept } : rest;
}

function stripped(obj: KubeObject): KubeObject {
  const { status: _status, metadata, ...rest } = obj;
  const md: KubeObject['metadata'] = { ...metadata };
  for (const k of SERVER_METADATA) delete md[k];
  return { ...rest, metadata: withoutAnnotations(md, TOOL_ANNOTATIONS) } as KubeObject;
}

/** Git's object as the API server would store it: stringData folded into data, server fields gone. */
export function normalizeDesired(obj: KubeObject): KubeObject {
  const out = stripped(obj);
  if (out.kind === 'Secret' && out.apiVersion === 'v1' && out.stringData && typeof out.stringData === 'object') {
    const data: Record<string, unknown> = { ...((out.data as Record<string, unknown> | undefined) ?? {}) };
    for (const [k, v] of Object.entries(out.stringData as Record<string, unknown>))
      data[k] = Buffer.from(String(v), 'utf8').toString('base64');
    const { stringData: _s, ...rest } = out;
    return { ...rest, data } as KubeObject;
  }
  return out;
}

/** The live object without status and server bookkeeping (used for digests and revert/codify). */
export function normalizeLive(obj: KubeObject): KubeObject {
  return stripped(obj);
}
