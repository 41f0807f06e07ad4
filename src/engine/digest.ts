import { canonicalJson } from '../common/canonical-json.ts';
import { sha256Hex } from '../common/digest.ts';
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

/** Canonical JSON of an object as an approval binds to it (null when there is none). */
export function stableObjectJson(obj: unknown): string {
  return canonicalJson(obj === undefined ? null : stableObject(obj));
}

/**
 * What exactly an approval approves: who, which verb on which target, and the object's content.
 * The digest of canonical {object, target, tool, username, verb}; a caller that already holds
 * the object's canonical text (the ledger leaf digests the object too) passes it in.
 */
export function actionDigest(action: Action, objectJson: string = stableObjectJson(action.object)): string {
  const rest = canonicalJson({
    username: action.subject.username,
    verb: action.verb,
    target: action.target,
    tool: action.tool ? { server: action.tool.server, name: action.tool.name, arguments: action.tool.argumentsDigest ?? null } : null,
  });
  // "object" sorts before every other key: the canonical text is the object's, then the rest's members.
  return `sha256:${sha256Hex(rest === '{}' ? `{"object":${objectJson}}` : `{"object":${objectJson},${rest.slice(1)}`)}`;
}
