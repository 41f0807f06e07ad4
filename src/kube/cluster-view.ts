// The cluster view the engine's containment rules read (src/engine/cluster-view.ts), kept from
// the same objects `tether access` reads: RBAC objects go through the access analyzer's
// inventory and RBAC index (the one model of the authorizer), pods are kept only as the service
// account they run as. Fed by informers in `tether serve`, by a dump in the CLI, by fixtures in
// tests. RBAC changes mark the index stale; it is rebuilt once, on the next question.
import { buildInventory } from '../analysis/access/inventory.ts';
import { buildRbacIndex, grantsFor, type RbacIndex } from '../analysis/access/rbac-index.ts';
import type { ScopedRule } from '../engine/boundary-scope.ts';
import type { ClusterView, RoleRef } from '../engine/cluster-view.ts';
import { evaluateLabelSelector, type LabelSelector } from './label-selector.ts';
import type { KubeObject, LocatedObject } from './object-dump.ts';
import { serviceAccountOf } from './pod-template.ts';
import type { RuleLike, UserInfoLike } from './rbac-match.ts';

export const VIEW_KINDS = ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'ServiceAccount', 'Pod'] as const;
export type ViewKind = (typeof VIEW_KINDS)[number];
const RBAC_KINDS = new Set<string>(['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

const keyOf = (o: KubeObject) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
const podKey = (namespace: string, name: string) => `${namespace}/${name}`;

export class ClusterState implements ClusterView {
  #synced = false;
  readonly #rbac = new Map<string, KubeObject>();
  readonly #pods = new Map<string, string>();
  readonly #serviceAccounts = new Set<string>();
  #index: RbacIndex | undefined;
  readonly #rulesCache = new Map<string, readonly ScopedRule[]>();
  /** Bumped on every RBAC change: callers can tell whether an answer reflects a change. */
  rbacGeneration = 0;

  get synced(): boolean {
    return this.#synced;
  }

  /** Every informer has listed once: facts can be trusted from now on. */
  markSynced(): void {
    this.#synced = true;
  }

  upsert(o: KubeObject): void {
    const kind = o.kind ?? '';
    const ns = o.metadata?.namespace ?? '';
    const name = o.metadata?.name ?? '';
    if (kind === 'Pod') this.#pods.set(podKey(ns, name), serviceAccountOf(((o as { spec?: Record<string, unknown> }).spec ?? {}) as Record<string, unknown>));
    else if (kind === 'ServiceAccount') this.#serviceAccounts.add(podKey(ns, name));
    else if (RBAC_KINDS.has(kind)) {
      this.#rbac.set(keyOf(o), o);
      this.#stale();
    }
  }

  remove(o: KubeObject): void {
    const kind = o.kind ?? '';
    const ns = o.metadata?.namespace ?? '';
    const name = o.metadata?.name ?? '';
    if (kind === 'Pod') this.#pods.delete(podKey(ns, name));
    else if (kind === 'ServiceAccount') this.#serviceAccounts.delete(podKey(ns, name));
    else if (RBAC_KINDS.has(kind) && this.#rbac.delete(keyOf(o))) this.#stale();
  }

  /** Replaces every object of one kind (an informer's relist). */
  replaceKind(kind: ViewKind, objects: readonly KubeObject[]): void {
    if (kind === 'Pod') this.#pods.clear();
    else if (kind === 'ServiceAccount') this.#serviceAccounts.clear();
    else {
      for (const [k, o] of this.#rbac) if (o.kind === kind) this.#rbac.delete(k);
      this.#stale();
    }
    for (const o of objects) this.upsert({ ...o, kind });
  }

  #stale(): void {
    this.#index = undefined;
    this.#rulesCache.clear();
    this.rbacGeneration++;
  }

  get index(): RbacIndex {
    if (!this.#index) {
      const located: LocatedObject[] = [];
      for (const object of this.#rbac.values()) located.push({ object, source: { origin: 'cluster' } });
      this.#index = buildRbacIndex(buildInventory(located));
    }
    return this.#index;
  }

  rulesOf(user: UserInfoLike): readonly ScopedRule[] {
    const cacheKey = `${user.username}\n${user.groups.join('\n')}`;
    const hit = this.#rulesCache.get(cacheKey);
    if (hit) return hit;
    const keys = [`u:${user.username}`, ...user.groups.map((g) => `g:${g}`)];
    const out: ScopedRule[] = [];
    for (const grant of grantsFor(this.index, keys)) for (const r of grant.rules) out.push(r);
    this.#rulesCache.set(cacheKey, out);
    return out;
  }

  roleRules(ref: RoleRef): readonly RuleLike[] | undefined {
    const idx = this.index;
    return ref.kind === 'ClusterRole' ? idx.clusterRoles.get(ref.name)?.rules : idx.roles.get(`${ref.namespace}/${ref.name}`)?.rules;
  }

  rulesSelectedBy(selectors: readonly unknown[]): readonly RuleLike[] | undefined {
    const out: RuleLike[] = [];
    for (const role of this.index.clusterRoles.values()) {
      let picked = false;
      for (const sel of selectors) {
        if (typeof sel !== 'object' || sel === null) return undefined;
        const r = evaluateLabelSelector(sel as LabelSelector, role.object.labels);
        if ('error' in r) return undefined;
        picked ||= r.matches;
      }
      if (picked) out.push(...role.rules);
    }
    return out;
  }

  podServiceAccount(namespace: string, name: string): string | undefined {
    return this.#pods.get(podKey(namespace, name));
  }

  get sizes(): { rbacObjects: number; pods: number; serviceAccounts: number } {
    return { rbacObjects: this.#rbac.size, pods: this.#pods.size, serviceAccounts: this.#serviceAccounts.size };
  }
}

/** A synced view of a fixed set of objects: a dump (tether decide --cluster) or a test fixture. */
export function clusterViewOf(objects: Iterable<KubeObject>): ClusterState {
  const view = new ClusterState();
  for (const o of objects) view.upsert(o);
  view.markSynced();
  return view;
}
