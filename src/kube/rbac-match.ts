// Kubernetes RBAC rule matching, exactly as the API server's RBAC authorizer does it.
// Shared by the engine (boundary rules are RBAC-shaped ceilings) and the access analyzer.

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
  /** Empty or absent for list/create/collection requests: never matches a rule with resourceNames. */
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
    if (subresource && r.length === subresource.length + 2 && r.startsWith('*/') && r.endsWith(`/${subresource}`)) return true;
  }
  return false;
}

export function resourceNameMatches(rule: RuleLike, name: string | undefined): boolean {
  const names = rule.resourceNames ?? [];
  if (names.length === 0) return true;
  return name !== undefined && name !== '' && names.includes(name);
}

export function nonResourceURLMatches(rule: RuleLike, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === '*' || u === path) return true;
    if (u.endsWith('*') && path.startsWith(u.slice(0, -1))) return true;
  }
  return false;
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
