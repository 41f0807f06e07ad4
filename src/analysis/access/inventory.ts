// The cluster objects the access analysis reads, trimmed to the fields it uses, with every object
// that could not be used reported precisely. It also records which kinds were seen at all, so the
// report can say what it could not see (no Pods → escalation to running pods is unknown).
import type { LabelSelector } from '../../kube/label-selector.ts';
import {
  describeObject,
  type DumpProblem,
  type KubeObject,
  type LocatedObject,
  type ObjectSource,
} from '../../kube/object-dump.ts';
import { AUTHORITY_KINDS, type RuleLike, type SubjectLike } from '../../kube/rbac-match.ts';

export type AccessProblem = DumpProblem;

export interface RoleObject {
  readonly kind: 'Role' | 'ClusterRole';
  /** '' for ClusterRoles. */
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly rules: readonly RuleLike[];
  readonly aggregationRule?: { readonly clusterRoleSelectors: readonly LabelSelector[] };
  readonly source: ObjectSource;
}

export interface BindingObject {
  readonly kind: 'RoleBinding' | 'ClusterRoleBinding';
  /** '' for ClusterRoleBindings. */
  readonly namespace: string;
  readonly name: string;
  readonly roleRef: { readonly kind: 'Role' | 'ClusterRole'; readonly name: string };
  readonly subjects: readonly SubjectLike[];
  readonly source: ObjectSource;
}

export interface ServiceAccountObject {
  readonly namespace: string;
  readonly name: string;
  readonly automountToken?: boolean;
  readonly source: ObjectSource;
}

export interface PodObject {
  readonly namespace: string;
  readonly name: string;
  readonly serviceAccountName: string;
  readonly nodeName?: string;
  /** Running, or of unknown phase (a manifest without status). Finished pods hold no live identity. */
  readonly live: boolean;
  /** Whether a service-account token is in the pod: automount (pod, then SA default) or a projected token volume. */
  readonly automountToken?: boolean;
  readonly projectedToken: boolean;
  readonly source: ObjectSource;
}

export interface NamespaceObject {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly source: ObjectSource;
}

export interface WebhookRuleSummary {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly operations: readonly string[];
}

export interface WebhookObject {
  readonly kind: 'MutatingWebhookConfiguration' | 'ValidatingWebhookConfiguration';
  readonly configuration: string;
  readonly webhook: string;
  readonly service?: { readonly namespace: string; readonly name: string };
  readonly url?: string;
  readonly namespaceSelector?: LabelSelector;
  readonly rules: readonly WebhookRuleSummary[];
  readonly source: ObjectSource;
}

/** A legacy service-account token Secret: only its identity is kept, never its data. */
export interface TokenSecretObject {
  readonly namespace: string;
  readonly name: string;
  readonly serviceAccountName: string;
  readonly source: ObjectSource;
}

export const ANALYSED_KINDS = [
  ...AUTHORITY_KINDS,
  'Namespace',
  'Secret',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
] as const;
export type AnalysedKind = (typeof ANALYSED_KINDS)[number];

const GROUP_OF: Record<AnalysedKind, string> = {
  ClusterRole: 'rbac.authorization.k8s.io',
  ClusterRoleBinding: 'rbac.authorization.k8s.io',
  Role: 'rbac.authorization.k8s.io',
  RoleBinding: 'rbac.authorization.k8s.io',
  ServiceAccount: '',
  Pod: '',
  Namespace: '',
  Secret: '',
  MutatingWebhookConfiguration: 'admissionregistration.k8s.io',
  ValidatingWebhookConfiguration: 'admissionregistration.k8s.io',
};

/** What a missing kind hides from the analysis. */
export const BLIND_SPOT: Record<AnalysedKind, string> = {
  ClusterRole: 'permissions granted through ClusterRoles',
  ClusterRoleBinding: 'cluster-wide grants',
  Role: 'permissions granted through namespaced Roles',
  RoleBinding: 'namespaced grants',
  ServiceAccount: 'which service accounts exist (pools are inferred from bindings and pods instead)',
  Pod: 'running pods, so exec/patch/ephemeral-container and nodes/proxy escalations reach nobody',
  Namespace: 'namespace labels, so webhook namespaceSelectors are assumed to match every namespace',
  Secret: 'legacy service-account token Secrets, so reading Secrets is assumed to reveal no token',
  MutatingWebhookConfiguration: 'mutating webhooks whose backends could inject into pods',
  ValidatingWebhookConfiguration: 'validating webhooks',
};

export interface AccessInventory {
  readonly clusterRoles: Map<string, RoleObject>;
  /** Keyed `namespace/name`. */
  readonly roles: Map<string, RoleObject>;
  readonly clusterRoleBindings: Map<string, BindingObject>;
  /** Keyed `namespace/name`. */
  readonly roleBindings: Map<string, BindingObject>;
  /** Keyed `namespace/name`. */
  readonly serviceAccounts: Map<string, ServiceAccountObject>;
  /** Keyed `namespace/name`. */
  readonly pods: Map<string, PodObject>;
  readonly namespaces: Map<string, NamespaceObject>;
  /** By configuration kind and name; one configuration holds several webhooks. */
  readonly webhooks: Map<string, WebhookObject[]>;
  /** Keyed `namespace/name`. */
  readonly tokenSecrets: Map<string, TokenSecretObject>;
  /** Objects seen per analysed kind (0 = that kind was absent from the input). */
  readonly seen: Map<AnalysedKind, number>;
  readonly problems: AccessProblem[];
}

export function emptyInventory(): AccessInventory {
  return {
    clusterRoles: new Map(),
    roles: new Map(),
    clusterRoleBindings: new Map(),
    roleBindings: new Map(),
    serviceAccounts: new Map(),
    pods: new Map(),
    namespaces: new Map(),
    webhooks: new Map(),
    tokenSecrets: new Map(),
    seen: new Map(ANALYSED_KINDS.map((k) => [k, 0])),
    problems: [],
  };
}

const groupOfApiVersion = (apiVersion: string) =>
  apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const record = (v: unknown): Record<string, string> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, string>) : {};

/** Builds the inventory; later duplicates of an object replace earlier ones, with a warning. */
export function buildInventory(
  objects: Iterable<LocatedObject>,
  into: AccessInventory = emptyInventory(),
): AccessInventory {
  const inv = into;
  const origins = new Map<string, ObjectSource>();
  const problem = (
    source: ObjectSource,
    o: KubeObject | undefined,
    severity: AccessProblem['severity'],
    code: string,
    message: string,
  ) => inv.problems.push({ source, severity, code, message, object: o ? describeObject(o) : undefined });
  const duplicate = (key: string, source: ObjectSource, o: KubeObject) => {
    const prev = origins.get(key);
    if (prev)
      problem(
        source,
        o,
        'warning',
        'duplicate-object',
        `also defined at ${prev.origin}${prev.document !== undefined ? `#${prev.document}` : ''}${prev.item !== undefined ? `[${prev.item}]` : ''}; this later definition is used`,
      );
    origins.set(key, source);
  };

  for (const { object: o, source } of objects) {
    const kind = o.kind as string;
    if (
      !(ANALYSED_KINDS as readonly string[]).includes(kind) ||
      groupOfApiVersion(o.apiVersion as string) !== GROUP_OF[kind as AnalysedKind]
    ) {
      problem(
        source,
        o,
        'warning',
        'unknown-kind',
        `${o.apiVersion} ${kind} is not used by the access analysis; ignored`,
      );
      continue;
    }
    const k = kind as AnalysedKind;
    const md = o.metadata ?? {};
    const name = md.name as string;
    const namespaced = k === 'Role' || k === 'RoleBinding' || k === 'ServiceAccount' || k === 'Pod' || k === 'Secret';
    let namespace = typeof md.namespace === 'string' ? md.namespace : '';
    if (namespaced && namespace === '') {
      // kubectl apply would put it in the context's namespace; 'default' is the usual one.
      problem(
        source,
        o,
        'warning',
        'no-namespace',
        `${k} ${name} has no metadata.namespace; assumed to be in 'default'`,
      );
      namespace = 'default';
    }
    if (!namespaced) namespace = '';
    inv.seen.set(k, (inv.seen.get(k) ?? 0) + 1);
    const key = `${k}/${namespace}/${name}`;

    switch (k) {
      case 'ClusterRole':
      case 'Role': {
        const rules = readRules(
          o.rules,
          (i, msg) => problem(source, o, 'error', 'invalid-rule', `rules[${i}]: ${msg}; that rule is ignored`),
          k === 'Role',
        );
        const agg = o.aggregationRule as { clusterRoleSelectors?: unknown } | undefined;
        const role: RoleObject = {
          kind: k,
          namespace,
          name,
          labels: record(md.labels),
          rules,
          aggregationRule:
            k === 'ClusterRole' && agg && typeof agg === 'object'
              ? {
                  clusterRoleSelectors: Array.isArray(agg.clusterRoleSelectors)
                    ? (agg.clusterRoleSelectors as LabelSelector[])
                    : [],
                }
              : undefined,
          source,
        };
        duplicate(key, source, o);
        if (k === 'ClusterRole') inv.clusterRoles.set(name, role);
        else inv.roles.set(`${namespace}/${name}`, role);
        break;
      }
      case 'ClusterRoleBinding':
      case 'RoleBinding': {
        const ref = o.roleRef as { kind?: unknown; name?: unknown } | undefined;
        if (
          !ref ||
          (ref.kind !== 'Role' && ref.kind !== 'ClusterRole') ||
          typeof ref.name !== 'string' ||
          ref.name === ''
        ) {
          problem(
            source,
            o,
            'error',
            'invalid-binding',
            'roleRef must name a Role or ClusterRole; this binding grants nothing and is ignored',
          );
          break;
        }
        if (k === 'ClusterRoleBinding' && ref.kind === 'Role') {
          problem(
            source,
            o,
            'error',
            'invalid-binding',
            'a ClusterRoleBinding can only refer to a ClusterRole; ignored',
          );
          break;
        }
        const subjects: SubjectLike[] = [];
        (Array.isArray(o.subjects) ? o.subjects : []).forEach((s: unknown, i: number) => {
          const sub = s as Partial<SubjectLike> | null;
          if (!sub || typeof sub.kind !== 'string' || typeof sub.name !== 'string' || sub.name === '') {
            problem(source, o, 'error', 'invalid-subject', `subjects[${i}] needs a kind and a name; ignored`);
            return;
          }
          if (sub.kind !== 'User' && sub.kind !== 'Group' && sub.kind !== 'ServiceAccount') {
            problem(
              source,
              o,
              'warning',
              'invalid-subject',
              `subjects[${i}] has kind ${sub.kind}, which matches nobody`,
            );
          } else if (sub.kind === 'ServiceAccount' && !sub.namespace && k === 'ClusterRoleBinding') {
            problem(
              source,
              o,
              'warning',
              'invalid-subject',
              `subjects[${i}] is a ServiceAccount without a namespace, which never matches in a ClusterRoleBinding`,
            );
          }
          subjects.push({
            kind: sub.kind,
            name: sub.name,
            namespace: typeof sub.namespace === 'string' ? sub.namespace : undefined,
            apiGroup: sub.apiGroup,
          });
        });
        duplicate(key, source, o);
        const b: BindingObject = {
          kind: k,
          namespace,
          name,
          roleRef: { kind: ref.kind, name: ref.name },
          subjects,
          source,
        };
        if (k === 'ClusterRoleBinding') inv.clusterRoleBindings.set(name, b);
        else inv.roleBindings.set(`${namespace}/${name}`, b);
        break;
      }
      case 'ServiceAccount': {
        duplicate(key, source, o);
        const automount = o.automountServiceAccountToken;
        inv.serviceAccounts.set(`${namespace}/${name}`, {
          namespace,
          name,
          automountToken: typeof automount === 'boolean' ? automount : undefined,
          source,
        });
        break;
      }
      case 'Pod': {
        duplicate(key, source, o);
        const spec = (o.spec ?? {}) as {
          serviceAccountName?: string;
          serviceAccount?: string;
          nodeName?: string;
          automountServiceAccountToken?: boolean;
          volumes?: { projected?: { sources?: { serviceAccountToken?: unknown }[] } }[];
        };
        const phase = (o.status as { phase?: string } | undefined)?.phase;
        inv.pods.set(`${namespace}/${name}`, {
          namespace,
          name,
          serviceAccountName: spec.serviceAccountName || spec.serviceAccount || 'default',
          nodeName: spec.nodeName || undefined,
          live: phase === undefined || phase === 'Running' || phase === 'Pending' || phase === 'Unknown',
          automountToken:
            typeof spec.automountServiceAccountToken === 'boolean' ? spec.automountServiceAccountToken : undefined,
          projectedToken: (spec.volumes ?? []).some((v) =>
            (v.projected?.sources ?? []).some((s) => s.serviceAccountToken !== undefined),
          ),
          source,
        });
        break;
      }
      case 'Namespace':
        duplicate(key, source, o);
        inv.namespaces.set(name, { name, labels: record(md.labels), source });
        break;
      case 'Secret': {
        const saName = record(md.annotations)['kubernetes.io/service-account.name'];
        if (o.type === 'kubernetes.io/service-account-token' && saName) {
          duplicate(key, source, o);
          inv.tokenSecrets.set(`${namespace}/${name}`, { namespace, name, serviceAccountName: saName, source });
        }
        break;
      }
      case 'MutatingWebhookConfiguration':
      case 'ValidatingWebhookConfiguration': {
        duplicate(key, source, o);
        const hooks: WebhookObject[] = [];
        inv.webhooks.set(`${k}/${name}`, hooks);
        for (const w of Array.isArray(o.webhooks) ? (o.webhooks as Record<string, unknown>[]) : []) {
          const cc = (w.clientConfig ?? {}) as { service?: { namespace?: string; name?: string }; url?: string };
          hooks.push({
            kind: k,
            configuration: name,
            webhook: typeof w.name === 'string' ? w.name : '?',
            service:
              cc.service?.namespace && cc.service.name
                ? { namespace: cc.service.namespace, name: cc.service.name }
                : undefined,
            url: cc.url,
            namespaceSelector: w.namespaceSelector as LabelSelector | undefined,
            rules: (Array.isArray(w.rules) ? (w.rules as Record<string, unknown>[]) : []).map((r) => ({
              apiGroups: strings(r.apiGroups),
              resources: strings(r.resources),
              operations: strings(r.operations),
            })),
            source,
          });
        }
        break;
      }
    }
  }
  return inv;
}

function invalidRule(rule: RuleLike, namespaced: boolean): string | undefined {
  if (rule.verbs.length === 0) return 'no verbs';
  if (rule.nonResourceURLs?.length) {
    if (namespaced) return 'namespaced rules cannot apply to non-resource URLs';
    if (rule.resources?.length || rule.apiGroups?.length)
      return 'a rule cannot apply to both resources and non-resource URLs';
    return undefined;
  }
  if (!rule.resources?.length) return 'no resources (and no nonResourceURLs)';
  if (!rule.apiGroups?.length) return 'resource rules must name at least one API group';
  return undefined;
}

/** Reads PolicyRules, refusing what the API server's validation refuses (such a rule cannot exist in a cluster). */
export function readRules(
  value: unknown,
  invalid: (index: number, message: string) => void,
  namespaced = false,
): RuleLike[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) {
    invalid(0, 'rules is not a list');
    return [];
  }
  const out: RuleLike[] = [];
  for (const [i, r] of value.entries()) {
    if (!r || typeof r !== 'object') {
      invalid(i, 'not a mapping');
      continue;
    }
    const o = r as Record<string, unknown>;
    const rule: RuleLike = {
      verbs: strings(o.verbs),
      apiGroups: o.apiGroups === undefined ? undefined : strings(o.apiGroups),
      resources: o.resources === undefined ? undefined : strings(o.resources),
      resourceNames: o.resourceNames === undefined ? undefined : strings(o.resourceNames),
      nonResourceURLs: o.nonResourceURLs === undefined ? undefined : strings(o.nonResourceURLs),
    };
    const why = invalidRule(rule, namespaced);
    if (why) invalid(i, why);
    else out.push(rule);
  }
  return out;
}
