// The offline twin of `kubectl auth can-i`: would the API server's RBAC authorizer allow this
// request, and through which binding → role → rule.
import { ruleAllowsNonResource, ruleAllowsResource, type SubjectLike } from '../../kube/rbac-match.ts';
import { describePrincipal, PRIVILEGED_GROUP, type Principal, subjectKeys } from './identity.ts';
import { type Grant, type GrantedRule, matchedSubject, type RbacIndex } from './rbac-index.ts';

export interface ResourceQuestion {
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  readonly subresource?: string;
  /** Empty or absent: a cluster-scoped or all-namespaces request, which only ClusterRoleBindings answer. */
  readonly namespace?: string;
  readonly name?: string;
}

export interface NonResourceQuestion {
  readonly verb: string;
  readonly path: string;
}

export type AccessQuestion = ResourceQuestion | NonResourceQuestion;

export interface GrantWitness {
  readonly rule: GrantedRule;
  /** The binding subject that matched the principal. */
  readonly subject: SubjectLike;
}

export interface CanAnswer {
  readonly allowed: boolean;
  /** Set when the API server allows before RBAC is asked (system:masters). */
  readonly privilegedGroup?: string;
  /** The first grant that allows, in the authorizer's order (ClusterRoleBindings, then RoleBindings). */
  readonly witness?: GrantWitness;
}

export const isNonResource = (q: AccessQuestion): q is NonResourceQuestion => 'path' in q;

export function ruleAnswers(rule: GrantedRule, q: AccessQuestion): boolean {
  return isNonResource(q) ? ruleAllowsNonResource(rule.rule, q.verb, q.path) : ruleAllowsResource(rule.rule, q);
}

function* candidateGrants(index: RbacIndex, keys: readonly string[], namespace: string): Generator<Grant> {
  for (const k of keys) {
    const sg = index.bySubject.get(k);
    if (sg) yield* sg.cluster;
  }
  if (namespace === '') return;
  for (const k of keys) {
    const list = index.bySubject.get(k)?.byNamespace.get(namespace);
    if (list) yield* list;
  }
}

/** Every grant that allows the request (empty when denied). */
export function allWitnesses(index: RbacIndex, principal: Principal, q: AccessQuestion): GrantWitness[] {
  const keys = subjectKeys(principal);
  const namespace = isNonResource(q) ? '' : (q.namespace ?? '');
  const out: GrantWitness[] = [];
  for (const g of candidateGrants(index, keys, namespace)) {
    for (const r of g.rules) {
      if (ruleAnswers(r, q)) out.push({ rule: r, subject: matchedSubject(g, keys) as SubjectLike });
    }
  }
  return out;
}

export function can(index: RbacIndex, principal: Principal, q: AccessQuestion): CanAnswer {
  if (principal.groups.includes(PRIVILEGED_GROUP)) return { allowed: true, privilegedGroup: PRIVILEGED_GROUP };
  const keys = subjectKeys(principal);
  const namespace = isNonResource(q) ? '' : (q.namespace ?? '');
  for (const g of candidateGrants(index, keys, namespace)) {
    for (const r of g.rules) {
      if (ruleAnswers(r, q))
        return { allowed: true, witness: { rule: r, subject: matchedSubject(g, keys) as SubjectLike } };
    }
  }
  return { allowed: false };
}

export function describeQuestion(q: AccessQuestion): string {
  if (isNonResource(q)) return `${q.verb} ${q.path}`;
  const res = `${q.resource}${q.subresource ? `/${q.subresource}` : ''}${q.group ? `.${q.group}` : ''}`;
  return `${q.verb} ${res}${q.name ? ` ${q.name}` : ''}${q.namespace ? ` in namespace ${q.namespace}` : ' cluster-wide'}`;
}

export function describeSubject(s: SubjectLike, bindingNamespace: string): string {
  if (s.kind === 'ServiceAccount') return `ServiceAccount ${s.namespace || bindingNamespace}/${s.name}`;
  return `${s.kind} ${s.name}`;
}

/** `ClusterRoleBinding x (subject Group g) → ClusterRole y → rule 2: verbs [get] on pods` */
export function describeGrant(w: GrantWitness): string {
  const g = w.rule.grant;
  if (!g) return w.rule.synthetic ?? 'synthetic grant';
  const b = g.binding;
  const roleName = g.role
    ? `${g.role.kind} ${g.role.kind === 'Role' ? `${g.role.namespace}/` : ''}${g.role.name}${g.role.aggregated ? ' (aggregated)' : ''}`
    : `${b.roleRef.kind} ${b.roleRef.name} (missing)`;
  return `${b.kind} ${b.namespace ? `${b.namespace}/` : ''}${b.name} (subject ${describeSubject(w.subject, b.namespace)}) → ${roleName} → rule ${w.rule.ruleIndex}: ${describeRule(w.rule.rule)}`;
}

export function describeRule(r: GrantedRule['rule']): string {
  if (r.nonResourceURLs?.length) return `verbs [${r.verbs.join(',')}] on URLs [${r.nonResourceURLs.join(',')}]`;
  const groups = (r.apiGroups ?? []).map((g) => (g === '' ? '""' : g)).join(',');
  const names = r.resourceNames?.length ? ` names [${r.resourceNames.join(',')}]` : '';
  return `verbs [${r.verbs.join(',')}] on [${(r.resources ?? []).join(',')}] in groups [${groups}]${names}`;
}

export function explainAnswer(principal: Principal, q: AccessQuestion, a: CanAnswer): string {
  const who = describePrincipal(principal);
  if (a.privilegedGroup)
    return `yes: ${who} is in ${a.privilegedGroup}, which the API server allows everything before RBAC is asked`;
  if (!a.witness) return `no: no binding grants ${who} ${describeQuestion(q)}`;
  return `yes: ${describeGrant(a.witness)}`;
}
