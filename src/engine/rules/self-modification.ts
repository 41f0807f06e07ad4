import { podSpecAt, podSpecPath, serviceAccountOf } from '../../kube/pod-template.ts';
import { API_GROUP } from '../../policy/schema.ts';
import type { DecisionContext } from '../context.ts';
import { RULES } from '../decision.ts';

const BINDING_RESOURCES = new Set(['rolebindings', 'clusterrolebindings']);

interface Binding {
  subjects?: { kind?: string; name?: string; namespace?: string }[];
}

/** The account a workload's pods run as, when the object names one (the one definition of where: src/kube/pod-template.ts). */
function podServiceAccount(obj: unknown, path: readonly string[]): string | undefined {
  const spec = podSpecAt(obj, path);
  return spec && (spec.serviceAccountName || spec.serviceAccount) ? serviceAccountOf(spec) : undefined;
}

/** A workload (new or old object) whose pods run as one of the agent's own service accounts. */
function ownRunAs(ctx: DecisionContext, path: readonly string[]): string | undefined {
  const { agent, action } = ctx;
  const ns = action.target.namespace;
  for (const obj of [action.object, action.oldObject]) {
    const sa = podServiceAccount(obj, path);
    if (sa && agent.serviceAccounts.some((s) => s.namespace === ns && s.name === sa)) return sa;
  }
  return undefined;
}

/**
 * Is the agent acting on itself — its own Agent object, the workload it runs as, its RBAC
 * bindings or its service account? Returns what it would change, or undefined.
 */
function selfTarget(ctx: DecisionContext): string | undefined {
  const { agent, action } = ctx;
  const t = action.target;
  if (t.group === API_GROUP && t.resource === 'agents' && t.name === agent.name) return `its own Agent ${agent.name}`;
  if (
    t.group === '' &&
    t.resource === 'serviceaccounts' &&
    agent.serviceAccounts.some((s) => s.namespace === t.namespace && s.name === t.name) &&
    !t.subresource
  ) {
    return `its own service account ${t.namespace}/${t.name}`;
  }
  if (
    agent.spec.workloads?.some((w) => w.namespace === t.namespace && w.resource === t.resource && w.name === t.name)
  ) {
    return `its own workload ${t.resource}/${t.name}`;
  }
  const path = podSpecPath(t.group, t.resource, ctx.policy.governance.spec.workloadKinds);
  const sa = path ? ownRunAs(ctx, path) : undefined;
  if (sa) return `a workload running as its own service account ${t.namespace}/${sa}`;
  if (t.group === 'rbac.authorization.k8s.io' && BINDING_RESOURCES.has(t.resource)) {
    for (const obj of [action.object, action.oldObject]) {
      for (const s of (obj as Binding | null | undefined)?.subjects ?? []) {
        const mine =
          (s.kind === 'ServiceAccount' &&
            agent.serviceAccounts.some((a) => a.namespace === (s.namespace ?? t.namespace) && a.name === s.name)) ||
          (s.kind === 'User' && s.name !== undefined && agent.usernames.has(s.name)) ||
          (s.kind === 'Group' && s.name !== undefined && agent.groups.has(s.name));
        if (mine) return `an RBAC binding that grants to itself (${t.resource}/${t.name ?? ''})`;
      }
    }
  }
  return undefined;
}

function changedSpecKeys(oldObj: unknown, newObj: unknown): string[] {
  const a = ((oldObj as { spec?: Record<string, unknown> } | null)?.spec ?? {}) as Record<string, unknown>;
  const b = ((newObj as { spec?: Record<string, unknown> } | null)?.spec ?? {}) as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

/**
 * No class may widen its own boundary, class or owner. A self-tuning agent may change only
 * spec.operatingParameters of its own Agent, within spec.selfTuning.limits.
 * Returns true when the action is a permitted self-tuning change (the boundary does not apply to it).
 */
export function checkSelfModification(ctx: DecisionContext): boolean {
  if (!ctx.mutation) return false;
  const what = selfTarget(ctx);
  if (!what) return false;
  const { agent, action } = ctx;
  const ownAgentObject = action.target.group === API_GROUP && action.target.resource === 'agents';
  if (ownAgentObject && agent.authorityClass === 'self-tuning' && action.verb !== 'delete') {
    const changed = changedSpecKeys(action.oldObject, action.object);
    if (changed.every((k) => k === 'operatingParameters')) {
      const problems = parameterProblems(agent.spec.selfTuning?.limits ?? {}, action.oldObject, action.object);
      if (problems.length === 0) return true;
      ctx.deny(
        RULES.selfTuningLimit,
        `${agent.name} may tune its own operating parameters only within spec.selfTuning.limits: ${problems.join('; ')}.`,
      );
      return false;
    }
    ctx.deny(
      RULES.selfModification,
      `${agent.name} may tune only spec.operatingParameters of itself, not ${changed.filter((k) => k !== 'operatingParameters').join(', ')}: no agent may change its own boundary, class or owner. Ask ${agent.spec.owner.id}.`,
    );
    return false;
  }
  ctx.deny(
    RULES.selfModification,
    `${agent.name} may not ${action.verb} ${what}: no agent may widen its own boundary, class, owner or access. Ask its owner ${agent.spec.owner.id} to make the change.`,
  );
  return false;
}

function parameterProblems(
  limits: Record<string, { min?: number; max?: number; values?: readonly unknown[] }>,
  oldObj: unknown,
  newObj: unknown,
): string[] {
  const before = ((oldObj as { spec?: { operatingParameters?: Record<string, unknown> } } | null)?.spec
    ?.operatingParameters ?? {}) as Record<string, unknown>;
  const after = ((newObj as { spec?: { operatingParameters?: Record<string, unknown> } } | null)?.spec
    ?.operatingParameters ?? {}) as Record<string, unknown>;
  const out: string[] = [];
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (JSON.stringify(before[key]) === JSON.stringify(after[key])) continue;
    const lim = limits[key];
    const v = after[key];
    if (!lim) out.push(`${key} has no declared limit`);
    else if (lim.values && !lim.values.includes(v as never))
      out.push(`${key}=${JSON.stringify(v)} is not one of ${JSON.stringify(lim.values)}`);
    else if ((lim.min !== undefined || lim.max !== undefined) && typeof v !== 'number')
      out.push(`${key} must be a number`);
    else if (lim.min !== undefined && (v as number) < lim.min) out.push(`${key}=${v} is below ${lim.min}`);
    else if (lim.max !== undefined && (v as number) > lim.max) out.push(`${key}=${v} is above ${lim.max}`);
  }
  return out;
}
