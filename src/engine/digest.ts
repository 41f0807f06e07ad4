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
    const kept = Object.fromEntries(
      Object.entries(ann).filter(
        ([k]) => !k.startsWith('tether.dev/') && k !== 'kubectl.kubernetes.io/last-applied-configuration',
      ),
    );
    if (Object.keys(kept).length > 0) md.annotations = kept;
    else delete md.annotations;
  }
  return { ...rest, metadata: md };
}

/**
 * Tether's annotations that only carry context from one attempt to the next (which approval is
 * presented, where in a chain the call sits) and so may change between asking and retrying.
 * The intent annotation is bound through `action.intent`, whichever carrier brought it.
 */
const CARRIER_ANNOTATIONS = new Set(['tether.dev/approval', 'tether.dev/chain', 'tether.dev/intent']);

/** The object as an approval binds to it: like stableObject, but Tether's other annotations (what the approver saw) stay in. */
function boundObject(obj: unknown): unknown {
  const stable = stableObject(obj) as { metadata?: Record<string, unknown> } | null;
  const ann = (obj as { metadata?: { annotations?: Record<string, unknown> } } | null)?.metadata?.annotations;
  if (typeof stable !== 'object' || stable === null || !ann) return stable;
  const ours = Object.entries(ann).filter(([k]) => k.startsWith('tether.dev/') && !CARRIER_ANNOTATIONS.has(k));
  if (ours.length === 0) return stable;
  const md = stable.metadata ?? {};
  return {
    ...stable,
    metadata: { ...md, annotations: { ...(md.annotations as object | undefined), ...Object.fromEntries(ours) } },
  };
}

/**
 * What exactly an approval approves: who, which verb on which target, the object's content,
 * and the intent the approver was shown (summary, goal, trigger, declared targets): a request
 * that says something else is a different request.
 */
export function actionDigest(action: Action): string {
  const intent = action.intent;
  return digestOf({
    username: action.subject.username,
    verb: action.verb,
    target: action.target,
    object: action.object === undefined ? null : boundObject(action.object),
    tool: action.tool
      ? { server: action.tool.server, name: action.tool.name, arguments: action.tool.argumentsDigest ?? null }
      : null,
    intent: intent
      ? {
          summary: intent.summary,
          goal: intent.goal ?? null,
          trigger: intent.trigger ?? null,
          targets: intent.targets ?? null,
        }
      : null,
  });
}
