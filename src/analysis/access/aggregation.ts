// Emulates the clusterrole-aggregation controller: a ClusterRole with an aggregationRule holds the
// union of the rules of every other ClusterRole selected by any of its clusterRoleSelectors, and
// nothing of its own. Computed transitively, which is the controller's steady state (an aggregated
// role selected by another contributes its own aggregated rules).
import { evaluateLabelSelector } from '../../kube/label-selector.ts';
import type { RuleLike } from '../../kube/rbac-match.ts';
import type { AccessProblem, RoleObject } from './inventory.ts';

export function ruleKey(r: RuleLike): string {
  return JSON.stringify([
    r.verbs,
    r.apiGroups ?? [],
    r.resources ?? [],
    r.resourceNames ?? [],
    r.nonResourceURLs ?? [],
  ]);
}

export interface AggregationResult {
  /** Effective rules of every aggregated ClusterRole, by name. Non-aggregated roles are absent. */
  readonly rules: Map<string, readonly RuleLike[]>;
  readonly problems: AccessProblem[];
}

export function emulateAggregation(clusterRoles: ReadonlyMap<string, RoleObject>): AggregationResult {
  const problems: AccessProblem[] = [];
  const aggregated = [...clusterRoles.values()].filter((r) => r.aggregationRule);
  const selected = new Map<string, RoleObject[]>();
  const sortedRoles = [...clusterRoles.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const role of aggregated) {
    const picks: RoleObject[] = [];
    const selectors = role.aggregationRule?.clusterRoleSelectors ?? [];
    let broken = false;
    for (const sel of selectors) {
      for (const other of sortedRoles) {
        if (other.name === role.name || picks.includes(other)) continue;
        const r = evaluateLabelSelector(sel, other.labels);
        if ('error' in r) {
          problems.push({
            source: role.source,
            severity: 'error',
            code: 'invalid-aggregation',
            object: `ClusterRole ${role.name}`,
            message: `aggregationRule: ${r.error}; the controller would not aggregate this role, so its stored rules are used`,
          });
          broken = true;
          break;
        }
        if (r.matches) picks.push(other);
      }
      if (broken) break;
    }
    if (!broken) selected.set(role.name, picks);
  }

  const rules = new Map<string, readonly RuleLike[]>();
  const resolving = new Set<string>();
  const resolve = (role: RoleObject): readonly RuleLike[] => {
    const done = rules.get(role.name);
    if (done) return done;
    const picks = selected.get(role.name);
    if (!picks) return role.rules;
    // A cycle of aggregated roles converges on what the others hold at that moment; the stored rules are the best witness.
    if (resolving.has(role.name)) return role.rules;
    resolving.add(role.name);
    const seen = new Set<string>();
    const out: RuleLike[] = [];
    for (const p of picks) {
      for (const rule of resolve(p)) {
        const k = ruleKey(rule);
        if (seen.has(k)) continue;
        seen.add(k);
        out.push(rule);
      }
    }
    resolving.delete(role.name);
    rules.set(role.name, out);
    return out;
  };
  for (const role of aggregated) {
    if (!selected.has(role.name)) continue;
    const effective = resolve(role);
    if (role.rules.length > 0 && !sameRules(role.rules, effective)) {
      problems.push({
        source: role.source,
        severity: 'info',
        code: 'aggregation-differs',
        object: `ClusterRole ${role.name}`,
        message: `stored rules (${role.rules.length}) differ from what its aggregationRule selects (${effective.length}); the aggregated rules are used, as the controller would write them`,
      });
    }
  }
  return { rules, problems };
}

function sameRules(a: readonly RuleLike[], b: readonly RuleLike[]): boolean {
  if (a.length !== b.length) return false;
  const keys = new Set(a.map(ruleKey));
  return b.every((r) => keys.has(ruleKey(r)));
}
