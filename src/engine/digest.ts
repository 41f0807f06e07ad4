import { digestOf } from '../common/digest.ts';
import type { Action } from './action.ts';

const VOLATILE_METADATA = ['resourceVersion', 'managedFields', 'uid', 'creationTimestamp', 'generation', 'selfLink'];

/** The object as an approval binds to it: without server bookkeeping and without Tether's own annotations. */
export function stableObject(obj: unknown): unknown {
  if (typeof obj !== 'object' || obj === null) return obj ?? null;
  const { metadata, status: _status, ...rest } = obj as { metadata?: Record<string, unknown>; status?: unknown };
  if (!metadata) return rest;
  const md: Record<string, unknown> = { ...metadata };
  for (const k of VOLATILE_METADATA) delete md[k];
  const ann = md.annotations as Record<string, string> | undefined;
  if (ann) {
    const kept = Object.fromEntries(Object.entries(ann).filter(([k]) => !k.startsWith('tether.dev/') && k !== 'kubectl.kubernetes.io/last-applied-configuration'));
    if (Object.keys(kept).length > 0) md.annotations = kept;
    else delete md.annotations;
  }
  return { ...rest, metadata: md };
}

/** What exactly an approval approves: who, which verb on which target, and the object's content. */
export function actionDigest(action: Action): string {
  return digestOf({
    username: action.subject.username,
    verb: action.verb,
    target: action.target,
    object: action.object === undefined ? null : stableObject(action.object),
    tool: action.tool ? { server: action.tool.server, name: action.tool.name, arguments: action.tool.argumentsDigest ?? null } : null,
  });
}
