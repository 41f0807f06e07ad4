// The one definition of "inside the boundary". The engine's boundary rule, containment rules,
// the access analyzer, what-if, expansion review and the gateway's tool filtering all call it.
//
// A namespaced request needs its namespace in boundary.namespaces (or '*') and a rule without
// clusterScope; a cluster-wide request (no namespace) needs a clusterScope rule, or '*' namespaces
// and a rule without clusterScope. A request whose scope is not known yet (a tool whose arguments
// name the namespace) fits a rule that could serve either. For granted rules (what a service
// account, a role or a binding holds) coverage is decided token by token, so a wildcard in a grant
// is covered only by a wildcard in the boundary (a '*' reaches resources no list can name).
import { isKnownClusterScoped } from '../kube/well-known-resources.ts';
import {
  apiGroupMatches,
  type RuleLike,
  resourceMatches,
  resourceNameMatches,
  ruleAllowsResource,
  verbMatches,
} from '../kube/rbac-match.ts';
import { type RuleTuple, ruleTuples, tupleCovered } from '../kube/rule-coverage.ts';
import type { Boundary, ResourceRule } from '../policy/schema.ts';

/** A rule as granted: in one namespace (a RoleBinding), or everywhere (namespace undefined: a ClusterRoleBinding). */
export interface ScopedRule {
  readonly rule: RuleLike;
  readonly namespace: string | undefined;
  /** A number per distinct rule content (see contentId); -1 until computed. */
  content?: number;
}

/** Whether a boundary rule can serve a request of this scope: true cluster-wide, false in a namespace, undefined not known yet. */
export function ruleScopeFits(
  rule: ResourceRule,
  namespaces: readonly string[],
  clusterWide: boolean | undefined,
): boolean {
  const anyNamespace = namespaces.includes('*');
  if (clusterWide === true) return rule.clusterScope === true || (anyNamespace && !rule.clusterScope);
  if (clusterWide === false) return !rule.clusterScope && namespaces.length > 0;
  return rule.clusterScope === true || namespaces.length > 0;
}

export function namespaceInBoundary(boundary: Boundary | undefined, namespace: string): boolean {
  const namespaces = boundary?.namespaces ?? [];
  return namespaces.includes('*') || namespaces.includes(namespace);
}

export interface ScopedRequest {
  /** Any of these verbs will do (an admission UPDATE may be a patch, see verbsFor). */
  readonly verbs: readonly string[];
  readonly group: string;
  readonly resource: string;
  readonly subresource?: string;
  readonly name?: string;
  /** Absent or '' for cluster-wide requests. */
  readonly namespace?: string;
}

/** The boundary rule that allows the request (namespace membership is checked apart, see namespaceInBoundary). */
export function boundaryRuleFor(boundary: Boundary | undefined, req: ScopedRequest): ResourceRule | undefined {
  const namespaces = boundary?.namespaces ?? [];
  const clusterWide = req.namespace === undefined || req.namespace === '';
  for (const r of boundary?.rules ?? []) {
    if (!ruleScopeFits(r, namespaces, clusterWide)) continue;
    for (const verb of req.verbs) if (ruleAllowsResource(r, { ...req, verb })) return r;
  }
  return undefined;
}

/** Every boundary rule that allows the request (an update's field scope is the union of theirs). */
export function boundaryRulesMatching(boundary: Boundary | undefined, req: ScopedRequest): ResourceRule[] {
  const namespaces = boundary?.namespaces ?? [];
  const clusterWide = req.namespace === undefined || req.namespace === '';
  // Runs on every decision: the same test as ruleAllowsResource per verb, without an object per rule and verb.
  const out: ResourceRule[] = [];
  for (const r of boundary?.rules ?? []) {
    if (!ruleScopeFits(r, namespaces, clusterWide) || !anyVerbMatches(r, req.verbs)) continue;
    if (apiGroupMatches(r, req.group) && resourceMatches(r, req.resource, req.subresource)) {
      if (resourceNameMatches(r, req.name)) out.push(r);
    }
  }
  return out;
}

function anyVerbMatches(rule: ResourceRule, verbs: readonly string[]): boolean {
  for (const verb of verbs) if (verbMatches(rule, verb)) return true;
  return false;
}

/** Namespace and rule: is the request inside the boundary? */
export function boundaryAllows(boundary: Boundary | undefined, req: ScopedRequest): boolean {
  if (req.namespace && !namespaceInBoundary(boundary, req.namespace)) return false;
  return boundaryRuleFor(boundary, req) !== undefined;
}

/**
 * The rule verbs that cover an action's verb. The API server turns a patch into an update before
 * admission (its options become UpdateOptions), so an admission UPDATE is covered by a rule that
 * grants update or patch; the authorization webhook sees the real verb and decides it exactly.
 */
export function verbsFor(source: string, verb: string): readonly string[] {
  return source === 'admission' && verb === 'update' ? UPDATE_OR_PATCH : [verb];
}
const UPDATE_OR_PATCH = ['update', 'patch'] as const;

export interface PermissionSet {
  readonly verbs: readonly string[];
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly nonResourceURLs?: readonly string[];
}

export type ExcessWhere =
  /** A RoleBinding's namespace; `outside`: the namespace is not in the boundary at all. */
  | { readonly kind: 'namespace'; readonly namespace: string; readonly outside: boolean }
  /** The same rule granted in several namespaces: how many, and the first few. */
  | {
      readonly kind: 'namespaces';
      readonly count: number;
      readonly namespaces: readonly string[];
      readonly outside: boolean;
    }
  /** A ClusterRoleBinding, in every namespace the boundary does not list. */
  | { readonly kind: 'other-namespaces'; readonly except: readonly string[] }
  /** A ClusterRoleBinding, in the namespaces the boundary lists ('*': all). */
  | { readonly kind: 'boundary-namespaces'; readonly namespaces: readonly string[] }
  /** Cluster-scoped objects (and all-namespace requests). */
  | { readonly kind: 'cluster' };

export interface ExcessPart {
  readonly where: ExcessWhere;
  readonly permissions: readonly PermissionSet[];
}

/** Permissions that only reveal the caller's own access; every authenticated user has them. */
const HARMLESS = new Set([
  'create|authorization.k8s.io|selfsubjectaccessreviews',
  'create|authorization.k8s.io|selfsubjectrulesreviews',
  'create|authentication.k8s.io|selfsubjectreviews',
]);
/** Non-resource reads are discovery, health and version endpoints; the boundary has no words for URLs. */
const URL_READS = new Set(['get', 'head', 'options']);

type Tuple = RuleTuple;

const covers = tupleCovered;

function tuples(rule: RuleLike): Tuple[] {
  return ruleTuples(rule).filter((t) => !HARMLESS.has(`${t.verb}|${t.group}|${t.resource}`));
}

/** Folds tuples back into rule-shaped permission sets: same names and resources → verbs merged, then resources merged. */
export function compress(ts: readonly Tuple[]): PermissionSet[] {
  const byRes = new Map<string, { group: string; resource: string; name?: string; verbs: string[] }>();
  for (const t of ts) {
    const k = `${t.group}\n${t.resource}\n${t.name ?? ''}`;
    const e = byRes.get(k);
    if (e) {
      if (!e.verbs.includes(t.verb)) e.verbs.push(t.verb);
    } else byRes.set(k, { group: t.group, resource: t.resource, name: t.name, verbs: [t.verb] });
  }
  const merged = new Map<string, { group: string; verbs: string[]; resources: string[]; names: string[] }>();
  for (const e of byRes.values()) {
    const k = `${e.group}\n${e.verbs.join(',')}\n${e.resource}`;
    const m = merged.get(k);
    if (m) {
      if (e.name !== undefined) m.names.push(e.name);
    } else
      merged.set(k, {
        group: e.group,
        verbs: e.verbs,
        resources: [e.resource],
        names: e.name !== undefined ? [e.name] : [],
      });
  }
  const out = new Map<string, { group: string; verbs: string[]; resources: string[]; names: string[] }>();
  for (const m of merged.values()) {
    const k = `${m.group}\n${m.verbs.join(',')}\n${m.names.join(',')}`;
    const o = out.get(k);
    if (o) o.resources.push(...m.resources);
    else out.set(k, { ...m, resources: [...m.resources] });
  }
  return [...out.values()].map((o) => ({
    verbs: o.verbs,
    apiGroups: [o.group],
    resources: o.resources,
    ...(o.names.length ? { resourceNames: o.names } : {}),
  }));
}

const clusterCapable = (t: Tuple) =>
  t.resource === '*' || t.resource.startsWith('*/') || isKnownClusterScoped(t.group, t.resource);

const EMPTY: readonly PermissionSet[] = [];
const contentIds = new Map<string, number>();
const contentIdOf = new WeakMap<RuleLike, number>();

/** A number per distinct rule content, shared by every grant of the same role rule. */
export function contentId(rule: RuleLike): number {
  let id = contentIdOf.get(rule);
  if (id === undefined) {
    const key = JSON.stringify([
      rule.verbs,
      rule.apiGroups ?? [],
      rule.resources ?? [],
      rule.resourceNames ?? [],
      rule.nonResourceURLs ?? [],
    ]);
    id = contentIds.get(key);
    if (id === undefined) {
      id = contentIds.size;
      contentIds.set(key, id);
    }
    contentIdOf.set(rule, id);
  }
  return id;
}

// What a rule grants in a namespace outside every boundary does not depend on the boundary.
const outsideCache = new Map<number, readonly PermissionSet[]>();

/** Judges rules against one boundary; answers are cached by rule content, so a large reach stays cheap. */
export class BoundaryJudge {
  readonly boundary: Boundary | undefined;
  readonly #nsList: readonly string[];
  readonly #allNs: boolean;
  readonly #nsRules: readonly ResourceRule[];
  readonly #clusterRules: readonly ResourceRule[];
  readonly #cache = new Map<string, readonly PermissionSet[]>();

  constructor(boundary: Boundary | undefined) {
    this.boundary = boundary;
    this.#nsList = boundary?.namespaces ?? [];
    this.#allNs = this.#nsList.includes('*');
    const rules = boundary?.rules ?? [];
    this.#nsRules = rules.filter((r) => !r.clusterScope);
    this.#clusterRules = rules.filter((r) => r.clusterScope === true || (this.#allNs && !r.clusterScope));
  }

  inBoundaryNamespace(ns: string): boolean {
    return this.#allNs || this.#nsList.includes(ns);
  }

  get allNamespaces(): boolean {
    return this.#allNs;
  }

  get namespaces(): readonly string[] {
    return this.#nsList;
  }

  #cached(key: string, compute: () => readonly PermissionSet[]): readonly PermissionSet[] {
    let v = this.#cache.get(key);
    if (!v) {
      v = compute();
      this.#cache.set(key, v);
    }
    return v;
  }

  /**
   * Rules with the same content and class have the same excess: 0 = a namespace inside the
   * boundary, 1 = a namespace outside it, 2 = cluster-wide. Keyed content × 3 + class.
   */
  classKey(gr: ScopedRule & { content: number }): number {
    const cls = gr.namespace === undefined ? 2 : this.inBoundaryNamespace(gr.namespace) ? 0 : 1;
    if (gr.content < 0) gr.content = contentId(gr.rule);
    return gr.content * 3 + cls;
  }

  /** The part of the rule the boundary does not cover; empty when it is inside. */
  excess(gr: ScopedRule): ExcessPart[] {
    const rule = gr.rule;
    const cid = contentId(rule);
    const uncovered = (ts: readonly Tuple[], brs: readonly ResourceRule[]) => {
      const left = ts.filter((t) => !brs.some((br) => covers(br, t)));
      return left.length ? compress(left) : EMPTY;
    };
    const parts: ExcessPart[] = [];
    const part = (where: ExcessWhere, permissions: readonly PermissionSet[]) => {
      if (permissions.length) parts.push({ where, permissions });
    };
    if (rule.nonResourceURLs?.length) {
      // Non-resource rules only count in ClusterRoleBindings.
      if (gr.namespace !== undefined) return parts;
      const verbs = rule.verbs.filter((v) => !URL_READS.has(v));
      if (verbs.length) part({ kind: 'cluster' }, [{ verbs, nonResourceURLs: rule.nonResourceURLs }]);
      return parts;
    }
    // Cluster-scoped resources in a RoleBinding never apply.
    const namespaced = () => tuples(rule).filter((t) => !isKnownClusterScoped(t.group, t.resource));
    if (gr.namespace !== undefined) {
      if (this.inBoundaryNamespace(gr.namespace)) {
        part(
          { kind: 'namespace', namespace: gr.namespace, outside: false },
          this.#cached(`${cid}|in`, () => uncovered(namespaced(), this.#nsRules)),
        );
      } else {
        let out = outsideCache.get(cid);
        if (!out) {
          const live = namespaced();
          out = live.length ? compress(live) : EMPTY;
          outsideCache.set(cid, out);
        }
        part({ kind: 'namespace', namespace: gr.namespace, outside: true }, out);
      }
      return parts;
    }
    if (!this.#allNs) {
      part(
        { kind: 'other-namespaces', except: this.#nsList },
        this.#cached(`${cid}|other`, () => {
          const live = namespaced();
          return live.length ? compress(live) : EMPTY;
        }),
      );
    }
    if (this.#allNs || this.#nsList.length > 0) {
      part(
        { kind: 'boundary-namespaces', namespaces: this.#allNs ? ['*'] : this.#nsList },
        this.#cached(`${cid}|in`, () => uncovered(namespaced(), this.#nsRules)),
      );
    }
    part(
      { kind: 'cluster' },
      this.#cached(`${cid}|cluster`, () => uncovered(tuples(rule).filter(clusterCapable), this.#clusterRules)),
    );
    return parts;
  }
}

export function excessOf(boundary: Boundary | undefined, gr: ScopedRule): ExcessPart[] {
  return new BoundaryJudge(boundary).excess(gr);
}

export function describeWhere(w: ExcessWhere): string {
  switch (w.kind) {
    case 'namespace':
      return w.outside ? `in ${w.namespace} (outside the boundary)` : `in ${w.namespace}`;
    case 'namespaces': {
      const list = `${w.namespaces.join(', ')}${w.count > w.namespaces.length ? ', …' : ''}`;
      return `in ${w.count} namespaces${w.outside ? ' outside the boundary' : ''} (${list})`;
    }
    case 'other-namespaces':
      return w.except.length ? `in every namespace but ${w.except.join(', ')}` : 'in every namespace';
    case 'boundary-namespaces':
      return w.namespaces.includes('*') ? 'in every namespace' : `in ${w.namespaces.join(', ')}`;
    case 'cluster':
      return 'cluster-wide';
  }
}

export function describePermission(p: PermissionSet): string {
  if (p.nonResourceURLs) return `${p.verbs.join(',')} ${p.nonResourceURLs.join(',')}`;
  const group = p.apiGroups?.[0] ?? '';
  const res = (p.resources ?? [])
    .map((r) => (group && group !== '*' ? `${r}.${group}` : group === '*' ? `${r} (any group)` : r))
    .join(',');
  return `${p.verbs.join(',')} ${res}${p.resourceNames?.length ? ` named ${p.resourceNames.join(',')}` : ''}`;
}

export function describeExcess(parts: readonly ExcessPart[]): string {
  // The same excess inside and outside the boundary's namespaces reads as "in every namespace".
  const other = parts.find((p) => p.where.kind === 'other-namespaces');
  const inside = parts.find((p) => p.where.kind === 'boundary-namespaces');
  let shown: readonly ExcessPart[] = parts;
  if (other && inside && JSON.stringify(other.permissions) === JSON.stringify(inside.permissions)) {
    shown = parts
      .filter((p) => p !== inside)
      .map((p) => (p === other ? { ...p, where: { kind: 'boundary-namespaces' as const, namespaces: ['*'] } } : p));
  }
  return shown.map((p) => `${p.permissions.map(describePermission).join('; ')} ${describeWhere(p.where)}`).join(' + ');
}
