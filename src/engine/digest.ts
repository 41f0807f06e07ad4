import { CanonicalText } from '../common/canonical-json.ts';
import { digestOf, sha256Hex } from '../common/digest.ts';
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

/** Tether's annotations on the object that stableObject drops but an approval binds (what the approver saw). */
function boundAnnotations(obj: unknown): [string, unknown][] {
  const ann = (obj as { metadata?: { annotations?: Record<string, unknown> } } | null)?.metadata?.annotations;
  if (typeof ann !== 'object' || ann === null) return [];
  return Object.entries(ann).filter(([k]) => k.startsWith('tether.dev/') && !CARRIER_ANNOTATIONS.has(k));
}

/** The object as an approval binds to it: like stableObject, but Tether's other annotations (what the approver saw) stay in. */
function boundObject(obj: unknown): unknown {
  const stable = stableObject(obj) as { metadata?: Record<string, unknown> } | null;
  if (typeof stable !== 'object' || stable === null) return stable;
  const ours = boundAnnotations(obj);
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
export function actionDigest(action: Action, boundText?: CanonicalText): string {
  const intent = action.intent;
  return digestOf({
    username: action.subject.username,
    verb: action.verb,
    target: action.target,
    object: action.object === undefined ? null : (boundText ?? boundObject(action.object)),
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

/**
 * A decision's two digests of one action: what an approval binds (actionDigest) and the object as
 * stored (stableObject). When the object carries none of Tether's bound annotations both cover the
 * same form of it, which is then canonicalised once.
 */
export function actionAndObjectDigests(action: Action & { readonly object: object }): {
  readonly action: string;
  readonly object: string;
} {
  const stable = new CanonicalText(stableObject(action.object));
  const object = `sha256:${sha256Hex(stable.text)}`;
  return { action: actionDigest(action, boundAnnotations(action.object).length === 0 ? stable : undefined), object };
}
