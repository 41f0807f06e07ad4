// The cluster view the engine's containment rules read (src/engine/cluster-view.ts), kept from
// the same objects `tether access` reads, with the access analyzer's model of the authorizer:
// its inventory normalises RBAC objects, subjectKey files bindings under the users and groups
// they apply to, emulateAggregation gives aggregated ClusterRoles their rules. Kept incrementally
// (an informer event touches one entry; aggregation is redone only when a ClusterRole changes),
// so an RBAC change is reflected in the next answer. Pods are kept only as their service account.
import { emulateAggregation } from '../analysis/access/aggregation.ts';
import {
  type AccessInventory,
  type BindingObject,
  buildInventory,
  emptyInventory,
} from '../analysis/access/inventory.ts';
import { subjectKey } from '../analysis/access/rbac-index.ts';
import type { ScopedRule } from '../engine/boundary-scope.ts';
import type { ClusterView, RoleRef } from '../engine/cluster-view.ts';
import { evaluateLabelSelector, type LabelSelector } from './label-selector.ts';
import type { KubeObject } from './object-dump.ts';
import { serviceAccountOf } from './pod-template.ts';
import { AUTHORITY_KINDS, RBAC_KINDS, type RuleLike, type UserInfoLike } from './rbac-match.ts';

export const VIEW_KINDS = AUTHORITY_KINDS;
export type ViewKind = (typeof VIEW_KINDS)[number];

const podKey = (namespace: string, name: string) => `${namespace}/${name}`;
const SOURCE = { origin: 'cluster' };
const IS_RBAC_KIND: ReadonlySet<string> = new Set(RBAC_KINDS);

export class ClusterState implements ClusterView {
  #synced = false;
  readonly #inv: AccessInventory = emptyInventory();
  /** Subject key (u:<user>, g:<group>) → the bindings that name it. */
  readonly #bySubject = new Map<string, Set<BindingObject>>();
  readonly #pods = new Map<string, string>();
  readonly #serviceAccounts = new Set<string>();
  #aggregated: Map<string, readonly RuleLike[]> | undefined;
  readonly #rulesCache = new Map<string, readonly ScopedRule[]>();
  /** Bumped on every RBAC change. */
  rbacGeneration = 0;

  get synced(): boolean {
    return this.#synced;
  }

  /** Every informer has listed once: facts can be trusted from now on. */
  markSynced(): void {
    this.#synced = true;
  }

  upsert(input: KubeObject): void {
    // Informers' listed items may lack apiVersion; the inventory checks the group.
    const o =
      input.apiVersion || !IS_RBAC_KIND.has(input.kind ?? '')
        ? input
        : { ...input, apiVersion: 'rbac.authorization.k8s.io/v1' };
    const kind = o.kind ?? '';
    const ns = o.metadata?.namespace ?? '';
    const name = o.metadata?.name ?? '';
    if (kind === 'Pod')
      this.#pods.set(
        podKey(ns, name),
        serviceAccountOf(((o as { spec?: Record<string, unknown> }).spec ?? {}) as Record<string, unknown>),
      );
    else if (kind === 'ServiceAccount') this.#serviceAccounts.add(podKey(ns, name));
    else if (kind === 'RoleBinding' || kind === 'ClusterRoleBinding') {
      this.#dropBinding(kind, ns, name);
      buildInventory([{ object: o, source: SOURCE }], this.#inv);
      const b =
        kind === 'RoleBinding' ? this.#inv.roleBindings.get(`${ns}/${name}`) : this.#inv.clusterRoleBindings.get(name);
      if (b) this.#fileBinding(b);
      this.#changed(false);
    } else if (kind === 'Role' || kind === 'ClusterRole') {
      buildInventory([{ object: o, source: SOURCE }], this.#inv);
      this.#changed(kind === 'ClusterRole');
    }
    // The inventory's notes (unknown kinds, duplicates) are for the analyzer's reports, not kept here.
    this.#inv.problems.length = 0;
  }

  remove(o: KubeObject): void {
    const kind = o.kind ?? '';
    const ns = o.metadata?.namespace ?? '';
    const name = o.metadata?.name ?? '';
    if (kind === 'Pod') this.#pods.delete(podKey(ns, name));
    else if (kind === 'ServiceAccount') this.#serviceAccounts.delete(podKey(ns, name));
    else if (kind === 'RoleBinding' || kind === 'ClusterRoleBinding') {
      this.#dropBinding(kind, ns, name);
      this.#changed(false);
    } else if (kind === 'Role') {
      this.#inv.roles.delete(`${ns}/${name}`);
      this.#changed(false);
    } else if (kind === 'ClusterRole') {
      this.#inv.clusterRoles.delete(name);
      this.#changed(true);
    }
  }

  #fileBinding(b: BindingObject): void {
    for (const s of b.subjects) {
      const k = subjectKey(s, b.namespace);
      if (!k) continue;
      let set = this.#bySubject.get(k);
      if (!set) {
        set = new Set();
        this.#bySubject.set(k, set);
      }
      set.add(b);
    }
  }

  #dropBinding(kind: string, ns: string, name: string): void {
    const map = kind === 'RoleBinding' ? this.#inv.roleBindings : this.#inv.clusterRoleBindings;
    const key = kind === 'RoleBinding' ? `${ns}/${name}` : name;
    const old = map.get(key);
    if (!old) return;
    map.delete(key);
    for (const s of old.subjects) {
      const k = subjectKey(s, old.namespace);
      const set = k ? this.#bySubject.get(k) : undefined;
      set?.delete(old);
      if (k && set?.size === 0) this.#bySubject.delete(k);
    }
  }

  #changed(clusterRoles: boolean): void {
    if (clusterRoles) this.#aggregated = undefined;
    this.#rulesCache.clear();
    this.rbacGeneration++;
  }

  /** Effective rules of aggregated ClusterRoles, as the aggregation controller keeps them. */
  #aggregation(): Map<string, readonly RuleLike[]> {
    this.#aggregated ??= emulateAggregation(this.#inv.clusterRoles).rules;
    return this.#aggregated;
  }

  rulesOf(user: UserInfoLike): readonly ScopedRule[] {
    const cacheKey = `${user.username}\n${user.groups.join('\n')}`;
    const hit = this.#rulesCache.get(cacheKey);
    if (hit) return hit;
    const out: ScopedRule[] = [];
    const seen = new Set<BindingObject>();
    for (const k of [`u:${user.username}`, ...user.groups.map((g) => `g:${g}`)]) {
      for (const b of this.#bySubject.get(k) ?? []) {
        if (seen.has(b)) continue;
        seen.add(b);
        const rules = this.roleRules({ kind: b.roleRef.kind, namespace: b.namespace, name: b.roleRef.name }) ?? [];
        const namespace = b.kind === 'ClusterRoleBinding' ? undefined : b.namespace;
        for (const rule of rules) out.push({ rule, namespace });
      }
    }
    this.#rulesCache.set(cacheKey, out);
    return out;
  }

  roleRules(ref: RoleRef): readonly RuleLike[] | undefined {
    if (ref.kind === 'Role') return this.#inv.roles.get(`${ref.namespace}/${ref.name}`)?.rules;
    const role = this.#inv.clusterRoles.get(ref.name);
    if (!role) return undefined;
    return this.#aggregation().get(ref.name) ?? role.rules;
  }

  rulesSelectedBy(selectors: readonly unknown[]): readonly RuleLike[] | undefined {
    const out: RuleLike[] = [];
    for (const role of this.#inv.clusterRoles.values()) {
      let picked = false;
      for (const sel of selectors) {
        if (typeof sel !== 'object' || sel === null) return undefined;
        const r = evaluateLabelSelector(sel as LabelSelector, role.labels);
        if ('error' in r) return undefined;
        picked ||= r.matches;
      }
      if (picked) out.push(...(this.#aggregation().get(role.name) ?? role.rules));
    }
    return out;
  }

  podServiceAccount(namespace: string, name: string): string | undefined {
    return this.#pods.get(podKey(namespace, name));
  }

  /** Makes the next answers cheap (aggregation computed); informers call it off the decision path. */
  warm(): void {
    this.#aggregation();
  }

  get sizes(): { rbacObjects: number; pods: number; serviceAccounts: number } {
    const inv = this.#inv;
    return {
      rbacObjects: inv.clusterRoles.size + inv.roles.size + inv.clusterRoleBindings.size + inv.roleBindings.size,
      pods: this.#pods.size,
      serviceAccounts: this.#serviceAccounts.size,
    };
  }
}

/** A synced view of a fixed set of objects: a dump (tether decide --cluster) or a test fixture. */
export function clusterViewOf(objects: Iterable<KubeObject>): ClusterState {
  const view = new ClusterState();
  for (const o of objects) view.upsert(o);
  view.markSynced();
  return view;
}
