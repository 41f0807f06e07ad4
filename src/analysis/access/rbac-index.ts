// The RBAC objects indexed for fast questions: every binding becomes a Grant (binding → role, in
// a namespace or cluster-wide) filed under the subject keys it applies to, and every rule of the
// bound role becomes a GrantedRule with a numeric id, so per-agent walks can mark rules seen in
// flat arrays instead of maps.
import { serviceAccountUsername, type RuleLike, type SubjectLike } from '../../kube/rbac-match.ts';
import { emulateAggregation } from './aggregation.ts';
import type { AccessInventory, AccessProblem, BindingObject, RoleObject } from './inventory.ts';

export interface RoleRecord {
  readonly kind: 'Role' | 'ClusterRole';
  readonly namespace: string;
  readonly name: string;
  /** Effective rules: aggregated for ClusterRoles with an aggregationRule (when emulated). */
  readonly rules: readonly RuleLike[];
  readonly aggregated: boolean;
  readonly object: RoleObject;
}

/** Why a tool-restricted rule is narrower than the rule it came from. */
export interface ToolRestriction {
  readonly server: string;
  readonly tool: string;
  readonly requirement: number;
}

export interface GrantedRule {
  readonly id: number;
  readonly rule: RuleLike;
  /** Namespace it applies in; undefined means every namespace and cluster-scoped requests. */
  readonly namespace: string | undefined;
  /** The binding grant it comes from (absent for synthetic stand-ins such as "bind any role in shop"). */
  readonly grant?: Grant;
  readonly ruleIndex: number;
  /** For synthetic rules: what the rule stands for. */
  readonly synthetic?: string;
  /** For a tool's view of its runtime identity's rule: the rule it narrows, and by which requirement. */
  readonly base?: GrantedRule;
  readonly restrictedBy?: ToolRestriction;
  /** Escalation triggers this rule matches on its own (bitmask, see escalation.ts); -1 until computed. */
  triggers: number;
  /** A number per distinct rule content (see boundary.ts contentId); -1 until computed. */
  content: number;
  /** The namespace's number (see RuleIds.namespaces); -1 for cluster-wide. */
  readonly nsNumber: number;
}

export interface Grant {
  readonly id: number;
  readonly binding: BindingObject;
  /** Undefined when the binding refers to a role that does not exist. */
  readonly role: RoleRecord | undefined;
  readonly namespace: string | undefined;
  readonly rules: readonly GrantedRule[];
}

export interface SubjectGrants {
  /** From ClusterRoleBindings. */
  readonly cluster: Grant[];
  /** From RoleBindings, by namespace. */
  readonly byNamespace: Map<string, Grant[]>;
}

/** Numbering shared by everything that makes GrantedRules over one index. */
export interface RuleIds {
  next: number;
  readonly namespaces: Map<string, number>;
}

export function namespaceNumber(ids: RuleIds, ns: string): number {
  let n = ids.namespaces.get(ns);
  if (n === undefined) {
    n = ids.namespaces.size;
    ids.namespaces.set(ns, n);
  }
  return n;
}

export interface RbacIndex {
  readonly clusterRoles: ReadonlyMap<string, RoleRecord>;
  /** Keyed `namespace/name`. */
  readonly roles: ReadonlyMap<string, RoleRecord>;
  readonly grants: readonly Grant[];
  /** Keyed by subject key (`u:<username>`, `g:<group>`). */
  readonly bySubject: ReadonlyMap<string, SubjectGrants>;
  /** Grants by role id (`ClusterRole/<name>`, `Role/<ns>/<name>`): who else a role change touches. */
  readonly grantsByRole: ReadonlyMap<string, Grant[]>;
  readonly ruleIds: RuleIds;
  readonly problems: AccessProblem[];
}

export type AggregationMode = 'emulate' | 'stored';

export function roleId(kind: 'Role' | 'ClusterRole', namespace: string, name: string): string {
  return kind === 'ClusterRole' ? `ClusterRole/${name}` : `Role/${namespace}/${name}`;
}

/** The key a subject is filed under, or undefined when it can never match (see subjectAppliesTo). */
export function subjectKey(s: SubjectLike, bindingNamespace: string): string | undefined {
  switch (s.kind) {
    case 'User':
      return `u:${s.name}`;
    case 'Group':
      return `g:${s.name}`;
    case 'ServiceAccount': {
      const ns = s.namespace || bindingNamespace;
      return ns ? `u:${serviceAccountUsername(ns, s.name)}` : undefined;
    }
    default:
      return undefined;
  }
}

export function newGrantedRule(
  ids: RuleIds,
  fields: Omit<GrantedRule, 'id' | 'triggers' | 'content' | 'nsNumber'>,
): GrantedRule {
  return {
    id: ids.next++,
    triggers: -1,
    content: -1,
    nsNumber: fields.namespace === undefined ? -1 : namespaceNumber(ids, fields.namespace),
    ...fields,
  };
}

export function buildRbacIndex(inv: AccessInventory, opts: { aggregation?: AggregationMode } = {}): RbacIndex {
  const problems: AccessProblem[] = [];
  const aggregated = opts.aggregation === 'stored' ? undefined : emulateAggregation(inv.clusterRoles);
  if (aggregated) problems.push(...aggregated.problems);
  const clusterRoles = new Map<string, RoleRecord>();
  for (const r of inv.clusterRoles.values()) {
    const agg = aggregated?.rules.get(r.name);
    clusterRoles.set(r.name, {
      kind: 'ClusterRole',
      namespace: '',
      name: r.name,
      rules: agg ?? r.rules,
      aggregated: agg !== undefined,
      object: r,
    });
  }
  const roles = new Map<string, RoleRecord>();
  for (const [key, r] of inv.roles)
    roles.set(key, {
      kind: 'Role',
      namespace: r.namespace,
      name: r.name,
      rules: r.rules,
      aggregated: false,
      object: r,
    });

  const ruleIds: RuleIds = { next: 0, namespaces: new Map() };
  const grants: Grant[] = [];
  const bySubject = new Map<string, SubjectGrants>();
  const grantsByRole = new Map<string, Grant[]>();
  const add = (b: BindingObject) => {
    const role =
      b.roleRef.kind === 'ClusterRole'
        ? clusterRoles.get(b.roleRef.name)
        : roles.get(`${b.namespace}/${b.roleRef.name}`);
    if (!role) {
      const what =
        b.roleRef.kind === 'ClusterRole' ? `ClusterRole ${b.roleRef.name}` : `Role ${b.namespace}/${b.roleRef.name}`;
      problems.push({
        source: b.source,
        severity: 'warning',
        code: 'missing-role',
        object: `${b.kind} ${b.namespace ? `${b.namespace}/` : ''}${b.name}`,
        message: `refers to ${what}, which is not in the input: it grants nothing here (if the role exists but was not loaded, its grants are missing from this analysis; anyone who can create it later gets what this binding gives)`,
      });
    }
    const namespace = b.kind === 'ClusterRoleBinding' ? undefined : b.namespace;
    const rules: GrantedRule[] = [];
    const grant: Grant = { id: grants.length, binding: b, role, namespace, rules };
    (role?.rules ?? []).forEach((rule, ruleIndex) => {
      rules.push(newGrantedRule(ruleIds, { rule, namespace, grant, ruleIndex }));
    });
    grants.push(grant);
    const rid = roleId(b.roleRef.kind, b.namespace, b.roleRef.name);
    const byRole = grantsByRole.get(rid);
    if (byRole) byRole.push(grant);
    else grantsByRole.set(rid, [grant]);
    const keys = new Set<string>();
    for (const s of b.subjects) {
      const k = subjectKey(s, b.namespace);
      if (k) keys.add(k);
    }
    for (const k of keys) {
      let sg = bySubject.get(k);
      if (!sg) {
        sg = { cluster: [], byNamespace: new Map() };
        bySubject.set(k, sg);
      }
      if (namespace === undefined) sg.cluster.push(grant);
      else {
        const list = sg.byNamespace.get(namespace);
        if (list) list.push(grant);
        else sg.byNamespace.set(namespace, [grant]);
      }
    }
  };
  for (const b of inv.clusterRoleBindings.values()) add(b);
  for (const b of inv.roleBindings.values()) add(b);
  return { clusterRoles, roles, grants, bySubject, grantsByRole, ruleIds, problems };
}

/** Every grant that applies to the subject keys, cluster-wide first. */
export function* grantsFor(index: RbacIndex, keys: readonly string[]): Generator<Grant> {
  for (const k of keys) {
    const sg = index.bySubject.get(k);
    if (sg) yield* sg.cluster;
  }
  for (const k of keys) {
    const sg = index.bySubject.get(k);
    if (!sg) continue;
    for (const list of sg.byNamespace.values()) yield* list;
  }
}

/** The subjects of a grant's binding that match one of the keys (how a principal got it). */
export function matchedSubject(grant: Grant, keys: readonly string[]): SubjectLike | undefined {
  for (const s of grant.binding.subjects) {
    const k = subjectKey(s, grant.binding.namespace);
    if (k && keys.includes(k)) return s;
  }
  return undefined;
}
