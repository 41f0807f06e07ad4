// Ignore rules: differences a team has decided are not drift. By JSON pointer, by kind (the whole
// object) and by field manager (e.g. replicas written by an autoscaler).
import { ownersOf } from './managed-fields.ts';
import type { FieldDrift, KubeObject, ObjectId } from './model.ts';
import { idOf, splitApiVersion } from './object-id.ts';
import { pointerCovers } from './paths.ts';

export interface IgnoreRule {
  readonly group?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name?: string;
  /** RFC 6901 pointers; a token `*` matches any one token. A pointer also covers everything below it. */
  readonly jsonPointers?: readonly string[];
  /** Differences in fields these field managers own are ignored. */
  readonly managers?: readonly string[];
  /** Shown in reports next to what was ignored. */
  readonly reason?: string;
}

function matchesObject(rule: IgnoreRule, id: ObjectId): boolean {
  return (
    (rule.group === undefined || rule.group === id.group) &&
    (rule.kind === undefined || rule.kind === id.kind) &&
    (rule.namespace === undefined || rule.namespace === id.namespace) &&
    (rule.name === undefined || rule.name === id.name)
  );
}

function wholeObject(rule: IgnoreRule): boolean {
  return !rule.jsonPointers?.length && !rule.managers?.length;
}

/** The rule that ignores the whole object, if any. */
export function objectIgnoredBy(rules: readonly IgnoreRule[], id: ObjectId): IgnoreRule | undefined {
  return rules.find((r) => wholeObject(r) && matchesObject(r, id));
}

function describeRule(rule: IgnoreRule, what: string): string {
  return rule.reason ? `${what} (${rule.reason})` : what;
}

/** Why a field drift is ignored, or undefined when it is reported. */
export function fieldIgnoredBecause(
  rules: readonly IgnoreRule[],
  id: ObjectId,
  drift: FieldDrift,
  live: KubeObject | undefined,
): string | undefined {
  for (const rule of rules) {
    if (wholeObject(rule) || !matchesObject(rule, id)) continue;
    const pointer = rule.jsonPointers?.find((p) => pointerCovers(p, drift.pointer));
    if (pointer !== undefined) return describeRule(rule, `ignored by JSON pointer ${pointer}`);
    if (rule.managers?.length && live) {
      const owner = ownersOf(live.metadata.managedFields, drift.path, live).find((o) =>
        rule.managers?.includes(o.entry.manager ?? ''),
      );
      if (owner) return describeRule(rule, `ignored: owned by field manager ${owner.entry.manager}`);
    }
  }
  return undefined;
}

/**
 * One rule per HorizontalPodAutoscaler: its target's spec.replicas belongs to the autoscaler.
 * Git setting replicas on an autoscaled workload is a common and harmless pattern.
 */
export function autoscalerRules(objects: Iterable<KubeObject>, defaultNamespace: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const o of objects) {
    if (o.kind !== 'HorizontalPodAutoscaler') continue;
    const ref = (o.spec as { scaleTargetRef?: { apiVersion?: string; kind?: string; name?: string } } | undefined)
      ?.scaleTargetRef;
    if (!ref?.kind || !ref.name) continue;
    const hpa = idOf(o, defaultNamespace);
    rules.push({
      ...(ref.apiVersion ? { group: splitApiVersion(ref.apiVersion).group } : {}),
      kind: ref.kind,
      ...(hpa.namespace ? { namespace: hpa.namespace } : {}),
      name: ref.name,
      jsonPointers: ['/spec/replicas'],
      reason: `HorizontalPodAutoscaler ${hpa.namespace}/${hpa.name} owns the replica count`,
    });
  }
  return rules;
}
