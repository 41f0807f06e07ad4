// What the engine may know of the cluster: who can do what, and who pods run as. It reaches the
// engine as data (informers in `tether serve`, a dump in the CLI, fixtures in tests), so the
// engine stays pure. Containment rules that need a fact the view lacks fail closed for agents.
import type { RuleLike, UserInfoLike } from '../kube/rbac-match.ts';
import type { ScopedRule } from './boundary-scope.ts';

export interface RoleRef {
  readonly kind: 'Role' | 'ClusterRole';
  /** The binding's namespace for a Role; ignored for a ClusterRole. */
  readonly namespace: string;
  readonly name: string;
}

export interface ClusterView {
  /** false until every informer has listed once: no fact can be trusted before. */
  readonly synced: boolean;
  /** Every rule the user holds, as the RBAC authorizer grants it (bindings, aggregation). */
  rulesOf(user: UserInfoLike): readonly ScopedRule[];
  /** A role's effective rules (aggregated ClusterRoles included); undefined when it does not exist. */
  roleRules(ref: RoleRef): readonly RuleLike[] | undefined;
  /** The rules of every ClusterRole an aggregationRule's selectors pick (what a new aggregated role would hold). */
  rulesSelectedBy(selectors: readonly unknown[]): readonly RuleLike[] | undefined;
  /** The service account a pod runs as; undefined when the pod is not in the view. */
  podServiceAccount(namespace: string, name: string): string | undefined;
}
