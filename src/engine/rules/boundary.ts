import { firstChangeOutside } from '../../kube/field-diff.ts';
import { gitopsOwner, labelsOf } from '../../kube/gitops.ts';
import type { ResourceMatch, ResourceRule } from '../../policy/schema.ts';
import type { Action } from '../action.ts';
import { boundaryRulesMatching, namespaceInBoundary, verbsFor } from '../boundary-scope.ts';
import type { DecisionContext } from '../context.ts';
import { RULES } from '../decision.ts';
import { isAccompanyingCheck } from './containment.ts';

const how = (agent: string) =>
  `To ask for more, propose a wider spec.boundary on Agent ${agent}; a human must approve the expansion.`;

export function resourceMatch(m: ResourceMatch | undefined, a: Action): boolean {
  if (!m) return true;
  const t = a.target;
  if (m.verbs && !m.verbs.includes('*') && !m.verbs.includes(a.verb)) return false;
  if (m.apiGroups && !m.apiGroups.includes('*') && !m.apiGroups.includes(t.group)) return false;
  if (m.resources && !m.resources.includes('*')) {
    const full = t.subresource ? `${t.resource}/${t.subresource}` : t.resource;
    if (!m.resources.includes(full) && !m.resources.includes(t.resource)) return false;
  }
  if (m.namespaces && !m.namespaces.includes(t.namespace ?? '')) return false;
  if (m.names && !m.names.includes(t.name ?? '')) return false;
  return true;
}

/** Namespaces, RBAC-shaped rules (a ceiling), freezes and change windows, protected objects, CEL conditions. */
export function checkBoundary(ctx: DecisionContext): void {
  const { agent, action } = ctx;
  const b = agent.spec.boundary ?? {};
  const t = action.target;
  const namespaces = b.namespaces ?? [];
  if (t.namespace !== undefined && t.namespace !== '' && !namespaceInBoundary(b, t.namespace)) {
    ctx.deny(
      RULES.namespace,
      `${agent.name} may not ${ctx.describe()}: namespace ${t.namespace} is outside its boundary (${namespaces.length ? namespaces.join(', ') : 'no namespaces'}). ${how(agent.name)}`,
    );
  }
  // bind and escalate are the API server's checks on a role write: containment/identity decides them.
  if (!isAccompanyingCheck(action)) {
    const req = {
      verbs: verbsFor(action.source, action.verb),
      group: t.group,
      resource: t.resource,
      subresource: t.subresource,
      name: t.name,
      namespace: t.namespace,
    };
    const matching = boundaryRulesMatching(b, req);
    if (matching.length === 0) denyNoRule(ctx);
    else if (ctx.mutation) checkFields(ctx, matching);
  }
  if (!ctx.mutation) return;

  for (const f of b.freezes ?? []) {
    if (ctx.now >= Date.parse(f.from) && ctx.now < Date.parse(f.until)) {
      ctx.deny(
        RULES.freeze,
        `changes are frozen from ${f.from} until ${f.until}${f.reason ? ` (${f.reason})` : ''}; ${agent.name} may not ${ctx.describe()} before then. Ask ${agent.spec.owner.id} to lift the freeze.`,
      );
    }
  }
  const windows = b.changeWindows ?? [];
  if (windows.length > 0 && !inChangeWindow(windows, ctx.now)) {
    const list = windows.map((w) => `${w.days.join('/')} ${w.start}-${w.end} UTC`).join('; ');
    ctx.deny(
      RULES.changeWindow,
      `${agent.name} may change things only inside its change windows (${list}); retry inside one.`,
    );
  }
  const subject = action.object ?? action.oldObject;
  for (const p of b.protected ?? []) {
    if (!resourceMatch(p.match, action)) continue;
    if (p.labels) {
      const labels = { ...labelsOf(action.oldObject), ...labelsOf(action.object) };
      if (!Object.entries(p.labels).every(([k, v]) => labels[k] === v)) continue;
    }
    let owner: string | undefined;
    if (p.gitopsManaged) {
      owner = gitopsOwner(action.oldObject) ?? gitopsOwner(subject);
      if (!owner) continue;
    }
    ctx.propose(
      RULES.protectedObject,
      `${t.namespace ?? ''}/${t.name ?? ''} is protected${p.name ? ` (${p.name})` : ''}${owner ? `: it is managed by GitOps (${owner})` : ''}; ${agent.name} may only propose this change. It was recorded as a proposal; change the source of truth instead.`,
    );
  }
  checkConditions(ctx);
}

function denyNoRule(ctx: DecisionContext): void {
  const { agent } = ctx;
  const t = ctx.action.target;
  const clusterWide = t.namespace === undefined || t.namespace === '';
  const granted = (agent.spec.boundary?.rules ?? [])
    .filter((r) => r.resources.some((res) => res === '*' || res === t.resource || res.startsWith(`${t.resource}/`)))
    .map((r) => `${r.verbs.join(',')} on ${r.resources.join(',')}${r.clusterScope ? ' (cluster-scoped)' : ''}`);
  ctx.deny(
    RULES.rule,
    `${agent.name} may not ${ctx.describe()}${clusterWide ? ' (cluster-wide)' : ''}: no rule in its boundary allows it${granted.length ? ` (it allows ${granted.join('; ')})` : ''}. ${how(agent.name)}`,
  );
}

/** The fields a rule lets an update change; undefined: any. The scale subresource only ever changes replicas. */
export function ruleFields(rule: ResourceRule, subresource: string | undefined): readonly string[] | undefined {
  return rule.fields ?? (subresource === 'scale' ? SCALE_FIELDS : undefined);
}
const SCALE_FIELDS = ['spec.replicas'];

/** boundary/fields: an update changes only what the rules that allow it name (old object → new object). */
function checkFields(ctx: DecisionContext, matching: readonly ResourceRule[]): void {
  const { action } = ctx;
  if (action.verb !== 'update' && action.verb !== 'patch') return;
  if (action.object === undefined || action.oldObject === undefined) return;
  const lists: (readonly string[])[] = [];
  for (const r of matching) {
    const f = ruleFields(r, action.target.subresource);
    if (f === undefined) return;
    lists.push(f);
  }
  // One rule (the usual case) keeps its own list, so its compiled patterns are reused.
  const patterns = lists.length === 1 ? (lists[0] as readonly string[]) : lists.flat();
  const path = firstChangeOutside(action.oldObject, action.object, patterns);
  if (path === undefined) return;
  ctx.deny(
    RULES.fields,
    `${ctx.agent.name} may not ${ctx.describe()}: it changes ${path}, and its boundary lets it change only ${patterns.join(', ')} there. ${how(ctx.agent.name)}`,
  );
}

function inChangeWindow(
  windows: readonly { days: readonly string[]; start: string; end: string }[],
  now: number,
): boolean {
  const d = new Date(now);
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()] as string;
  const hhmm = `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
  return windows.some((w) => w.days.includes(day) && hhmm >= w.start && hhmm < w.end);
}

export function celBindings(action: Action): Record<string, unknown> {
  const t = action.target;
  return {
    object: action.object ?? null,
    oldObject: action.oldObject ?? null,
    request: {
      verb: action.verb,
      namespace: t.namespace ?? '',
      name: t.name ?? '',
      resource: { group: t.group, version: t.version, resource: t.resource },
      subResource: t.subresource ?? '',
      userInfo: { username: action.subject.username, groups: [...action.subject.groups] },
      dryRun: action.dryRun ?? false,
    },
  };
}

function checkConditions(ctx: DecisionContext): void {
  const conditions = ctx.agent.conditions;
  if (conditions.length === 0) return;
  let bindings: Record<string, unknown> | undefined;
  for (const c of conditions) {
    if (!resourceMatch(c.match, ctx.action)) continue;
    bindings ??= celBindings(ctx.action);
    const r = c.program(bindings);
    if ('error' in r) {
      ctx.deny(
        RULES.condition,
        `condition ${c.name} (${c.expression}) could not be evaluated for ${ctx.describe()}: ${r.error}; refused to be safe. Guard optional fields with has(), or scope the condition with match.`,
      );
    } else if (!r.value) {
      ctx.deny(
        RULES.condition,
        `${ctx.agent.name} may not ${ctx.describe()}: condition ${c.name} failed${c.message ? ` (${c.message})` : ''}: ${c.expression}.`,
      );
    }
  }
}
