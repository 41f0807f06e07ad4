// Kubernetes RBAC rule matching, exactly as the API server's RBAC authorizer does it.
// Shared by the engine (boundary rules are RBAC-shaped ceilings) and the access analyzer.

/** The resources that grant permissions: writing one is handing out access. */
export const RBAC_RESOURCES: ReadonlySet<string> = new Set([
  'roles',
  'clusterroles',
  'rolebindings',
  'clusterrolebindings',
]);

/** The kinds of the RBAC API's objects, whose resources are RBAC_RESOURCES. */
export const RBAC_KINDS = ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'] as const;

/**
 * What decides who may do what in a cluster: the RBAC objects, and the service accounts and pods
 * their bindings reach. The engine's cluster view keeps these; the access analyzer reads more.
 */
export const AUTHORITY_KINDS = [...RBAC_KINDS, 'ServiceAccount', 'Pod'] as const;

export interface RuleLike {
  readonly verbs: readonly string[];
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly nonResourceURLs?: readonly string[];
}

export interface ResourceRequest {
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  readonly subresource?: string;
  /**
   * Empty or absent for list/create/collection requests. A rule with resourceNames then matches only
   * if it lists the empty name, which the API server accepts and so do we.
   */
  readonly name?: string;
}

export function verbMatches(rule: RuleLike, verb: string): boolean {
  return rule.verbs.includes('*') || rule.verbs.includes(verb);
}

export function apiGroupMatches(rule: RuleLike, group: string): boolean {
  const groups = rule.apiGroups ?? [];
  return groups.includes('*') || groups.includes(group);
}

/** `*` covers every resource and subresource; `pods` does not cover `pods/log`; `*\/log` covers every log. */
export function resourceMatches(rule: RuleLike, resource: string, subresource?: string): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  for (const r of rule.resources ?? []) {
    if (r === '*' || r === combined) return true;
    if (subresource && r.length === subresource.length + 2 && r.startsWith('*/') && r.endsWith(`/${subresource}`))
      return true;
  }
  return false;
}

export function resourceNameMatches(rule: RuleLike, name: string | undefined): boolean {
  const names = rule.resourceNames ?? [];
  if (names.length === 0) return true;
  return names.includes(name ?? '');
}

export function nonResourceURLMatches(rule: RuleLike, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === '*' || u === path) return true;
    // The authorizer trims every trailing '*', so '/apis**' is the prefix '/apis'.
    if (u.endsWith('*') && path.startsWith(trimTrailingStars(u))) return true;
  }
  return false;
}

function trimTrailingStars(s: string): string {
  let end = s.length;
  while (end > 0 && s[end - 1] === '*') end--;
  return s.slice(0, end);
}

export function ruleAllowsResource(rule: RuleLike, req: ResourceRequest): boolean {
  return (
    verbMatches(rule, req.verb) &&
    apiGroupMatches(rule, req.group) &&
    resourceMatches(rule, req.resource, req.subresource) &&
    resourceNameMatches(rule, req.name)
  );
}

export function ruleAllowsNonResource(rule: RuleLike, verb: string, path: string): boolean {
  return verbMatches(rule, verb) && nonResourceURLMatches(rule, path);
}

export function serviceAccountUsername(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/** Parses system:serviceaccount:<ns>:<name>; undefined for other usernames. */
export function parseServiceAccountUsername(username: string): { namespace: string; name: string } | undefined {
  const prefix = 'system:serviceaccount:';
  if (!username.startsWith(prefix)) return undefined;
  const rest = username.slice(prefix.length);
  const i = rest.indexOf(':');
  if (i <= 0 || i === rest.length - 1 || rest.indexOf(':', i + 1) !== -1) return undefined;
  return { namespace: rest.slice(0, i), name: rest.slice(i + 1) };
}

/** The groups the API server adds for a service account. */
export function serviceAccountGroups(namespace: string): string[] {
  return ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'];
}

export interface SubjectLike {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  readonly apiGroup?: string;
}

export interface UserInfoLike {
  readonly username: string;
  readonly groups: readonly string[];
}

/**
 * Whether a binding subject applies to a user, as the RBAC authorizer decides it. A ServiceAccount
 * subject without a namespace takes the binding's namespace (so it never matches in a
 * ClusterRoleBinding, whose namespace is empty). Unknown kinds never match.
 */
export function subjectAppliesTo(subject: SubjectLike, bindingNamespace: string, user: UserInfoLike): boolean {
  switch (subject.kind) {
    case 'User':
      return user.username === subject.name;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount': {
      const ns = subject.namespace || bindingNamespace;
      return ns !== '' && user.username === serviceAccountUsername(ns, subject.name);
    }
    default:
      return false;
  }
}
