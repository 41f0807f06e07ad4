// Who asks: a service account, a user (with groups), or "some member of a group". The groups the
// API server adds on authentication are added here too, unless a caller wants the bare identity
// (a SubjectAccessReview carries exactly the groups it is given).
import { parseServiceAccountUsername, serviceAccountGroups, serviceAccountUsername } from '../../kube/rbac-match.ts';

export interface Principal {
  /** Graph id: sa:<ns>/<name>, user:<name>, group:<name>. */
  readonly id: string;
  readonly kind: 'ServiceAccount' | 'User' | 'Group';
  /** Absent for a Group principal: it stands for any member. */
  readonly username?: string;
  readonly groups: readonly string[];
  readonly name: string;
  readonly namespace?: string;
}

export const AUTHENTICATED = 'system:authenticated';
export const UNAUTHENTICATED = 'system:unauthenticated';
export const ANONYMOUS = 'system:anonymous';
/** The API server lets this group do anything before RBAC is asked. */
export const PRIVILEGED_GROUP = 'system:masters';

const uniq = (xs: readonly string[]) => [...new Set(xs)];

export function serviceAccountPrincipal(
  namespace: string,
  name: string,
  extraGroups: readonly string[] = [],
  implicitGroups = true,
): Principal {
  const groups = uniq([...extraGroups, ...(implicitGroups ? serviceAccountGroups(namespace) : [])]);
  return {
    id: `sa:${namespace}/${name}${extraGroups.length ? `[${extraGroups.join(',')}]` : ''}`,
    kind: 'ServiceAccount',
    username: serviceAccountUsername(namespace, name),
    groups,
    name,
    namespace,
  };
}

/** A username with groups; service-account usernames become ServiceAccount principals. */
export function userPrincipal(username: string, groups: readonly string[] = [], implicitGroups = true): Principal {
  const sa = parseServiceAccountUsername(username);
  if (sa) return serviceAccountPrincipal(sa.namespace, sa.name, groups, implicitGroups);
  const implicit = implicitGroups ? addedOnAuthentication(username, groups) : [];
  const all = uniq([...groups, ...implicit]);
  return {
    id: `user:${username}${groups.length ? `[${groups.join(',')}]` : ''}`,
    kind: 'User',
    username,
    groups: all,
    name: username,
  };
}

/** As the API server's group adder: system:authenticated joins unless the user is anonymous or already says which it is. */
function addedOnAuthentication(username: string, groups: readonly string[]): string[] {
  if (username === ANONYMOUS) return groups.includes(UNAUTHENTICATED) ? [] : [UNAUTHENTICATED];
  return groups.includes(AUTHENTICATED) || groups.includes(UNAUTHENTICATED) ? [] : [AUTHENTICATED];
}

export function groupPrincipal(group: string): Principal {
  const groups = group === UNAUTHENTICATED ? [group] : uniq([group, AUTHENTICATED]);
  return { id: `group:${group}`, kind: 'Group', groups, name: group };
}

/** Keys under which the RBAC index files grants: `u:<username>` and `g:<group>`. */
export function subjectKeys(p: Principal): string[] {
  const keys = p.username !== undefined ? [`u:${p.username}`] : [];
  for (const g of p.groups) keys.push(`g:${g}`);
  return keys;
}

export function describePrincipal(p: Principal): string {
  switch (p.kind) {
    case 'ServiceAccount':
      return `ServiceAccount ${p.namespace}/${p.name}`;
    case 'Group':
      return `Group ${p.name}`;
    default:
      return `User ${p.name}`;
  }
}
