// What a pending action would write, kept beside its approval request so the reviewer sees the
// change itself (src/service/review.ts diffs it). Credential-bearing targets keep nothing: a
// Secret's data must not sit in the store for a reviewer's convenience.
import type { Action } from '../engine/action.ts';
import type { RequestedObjects } from '../store/store.ts';
import { carriesCredentials } from '../ledger/leaves.ts';

const BOOKKEEPING = ['managedFields', 'resourceVersion', 'uid', 'generation', 'creationTimestamp', 'selfLink'];

/** The object without what the API server owns (status, bookkeeping): the reviewer judges intent, and rows stay small. */
function trimmed(obj: unknown): unknown {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return obj;
  const { status: _status, metadata, ...rest } = obj as Record<string, unknown>;
  if (typeof metadata !== 'object' || metadata === null) return rest;
  const md = { ...(metadata as Record<string, unknown>) };
  for (const k of BOOKKEEPING) delete md[k];
  return { ...rest, metadata: md };
}

export function requestedObjects(action: Action): RequestedObjects | undefined {
  if (carriesCredentials(action.target)) return undefined;
  if (action.object === undefined && action.oldObject === undefined) return undefined;
  return { object: trimmed(action.object), oldObject: trimmed(action.oldObject) };
}
