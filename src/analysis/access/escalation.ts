// The escalation catalogue: permissions that let whoever holds them act as someone else (or grant
// themselves more). Each entry names the request that triggers it, the companions it needs in the
// same namespace, and whom it reaches. Targets are graph node ids (see graph.ts):
//   pool:sa:<ns|*>       every service account in a namespace (or everywhere)
//   pool:running:<ns|*>  the service accounts of live pods that carry a token
//   pool:tokens:<ns|*>   service accounts with a legacy token Secret
//   pool:node:<node|*>   the service accounts of live pods on a node
//   pool:users           every user named in a binding
//   sa:<ns>/<name>, user:<name>, group:<name>
//   any-identity         system:masters: everything
//   rbac:full:<ns|*>     every permission in a namespace (or cluster-wide)
//   rbac:roles:<ns|*>:<Kind>/<name>  what one bindable role grants there
//   capability:admission  sees (and for mutating webhooks, rewrites) every admitted object
import { POD_CONTROLLERS } from '../../kube/pod-template.ts';
import {
  apiGroupMatches,
  resourceMatches,
  resourceNameMatches,
  type RuleLike,
  verbMatches,
} from '../../kube/rbac-match.ts';
import type { GrantedRule } from './rbac-index.ts';

export interface RequestTemplate {
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  readonly subresource?: string;
}

export type EscalationKind =
  | 'create-pods'
  | 'create-workloads'
  | 'mutate-workloads'
  | 'mutate-pods'
  | 'exec-pods'
  | 'ephemeral-containers'
  | 'serviceaccount-token'
  | 'read-secrets'
  | 'create-token-secrets'
  | 'impersonate'
  | 'bind-roles'
  | 'escalate-roles'
  | 'nodes-proxy'
  | 'approve-csr'
  | 'mutating-webhooks'
  | 'validating-webhooks';

interface TriggerDef {
  readonly kind: EscalationKind;
  readonly requests: readonly RequestTemplate[];
  /** Only cluster-wide grants count (the resource is cluster-scoped). */
  readonly clusterOnly: boolean;
  readonly why: string;
}

const t = (verb: string, group: string, resource: string, subresource?: string): RequestTemplate => ({
  verb,
  group,
  resource,
  subresource,
});

export const TRIGGERS: readonly TriggerDef[] = [
  {
    kind: 'create-pods',
    requests: [t('create', '', 'pods')],
    clusterOnly: false,
    why: 'a new pod may run as any service account of its namespace',
  },
  {
    kind: 'create-workloads',
    requests: POD_CONTROLLERS.map(([g, r]) => t('create', g, r)),
    clusterOnly: false,
    why: 'a pod controller creates pods that may run as any service account of its namespace',
  },
  {
    kind: 'mutate-workloads',
    requests: POD_CONTROLLERS.flatMap(([g, r]) => [t('patch', g, r), t('update', g, r)]),
    clusterOnly: false,
    why: "a pod template's serviceAccountName and image can be changed, so its pods run any code as any service account of the namespace",
  },
  {
    kind: 'mutate-pods',
    requests: [t('patch', '', 'pods'), t('update', '', 'pods')],
    clusterOnly: false,
    why: "a running pod's image can be replaced, so it runs any code with its token",
  },
  {
    kind: 'exec-pods',
    requests: [t('create', '', 'pods', 'exec'), t('create', '', 'pods', 'attach')],
    clusterOnly: false,
    why: 'a shell in a running pod reads its service-account token',
  },
  {
    kind: 'ephemeral-containers',
    requests: [t('patch', '', 'pods', 'ephemeralcontainers'), t('update', '', 'pods', 'ephemeralcontainers')],
    clusterOnly: false,
    why: 'an ephemeral container joins a running pod and can mount its token',
  },
  {
    kind: 'serviceaccount-token',
    requests: [t('create', '', 'serviceaccounts', 'token')],
    clusterOnly: false,
    why: 'the TokenRequest API mints a token for the service account',
  },
  {
    kind: 'read-secrets',
    requests: [t('get', '', 'secrets'), t('list', '', 'secrets'), t('watch', '', 'secrets')],
    clusterOnly: false,
    why: 'legacy service-account token Secrets hold long-lived tokens',
  },
  {
    kind: 'create-token-secrets',
    requests: [t('create', '', 'secrets')],
    clusterOnly: false,
    why: 'a new kubernetes.io/service-account-token Secret is filled with a token for any service account of its namespace, and can then be read',
  },
  {
    kind: 'impersonate',
    requests: [t('impersonate', '', 'users'), t('impersonate', '', 'groups'), t('impersonate', '', 'serviceaccounts')],
    clusterOnly: false,
    why: 'impersonation acts as the named identity',
  },
  {
    kind: 'bind-roles',
    requests: [t('bind', 'rbac.authorization.k8s.io', 'roles'), t('bind', 'rbac.authorization.k8s.io', 'clusterroles')],
    clusterOnly: false,
    why: 'bind lets a binding grant a role the creator does not hold',
  },
  {
    kind: 'escalate-roles',
    requests: [
      t('escalate', 'rbac.authorization.k8s.io', 'roles'),
      t('escalate', 'rbac.authorization.k8s.io', 'clusterroles'),
    ],
    clusterOnly: false,
    why: 'escalate lets a role be given rules the editor does not hold',
  },
  {
    kind: 'nodes-proxy',
    requests: [t('get', '', 'nodes', 'proxy'), t('create', '', 'nodes', 'proxy')],
    clusterOnly: true,
    why: "the kubelet API behind nodes/proxy runs commands in every pod on the node, bypassing the API server's exec checks",
  },
  {
    kind: 'approve-csr',
    requests: [t('create', 'certificates.k8s.io', 'certificatesigningrequests')],
    clusterOnly: true,
    why: 'an approved client certificate authenticates as whatever user and groups it names',
  },
  {
    kind: 'mutating-webhooks',
    requests: ['create', 'update', 'patch'].map((v) =>
      t(v, 'admissionregistration.k8s.io', 'mutatingwebhookconfigurations'),
    ),
    clusterOnly: true,
    why: 'a mutating webhook sees and rewrites every admitted object, so it can make any new pod run as any service account',
  },
  {
    kind: 'validating-webhooks',
    requests: ['create', 'update', 'patch'].map((v) =>
      t(v, 'admissionregistration.k8s.io', 'validatingwebhookconfigurations'),
    ),
    clusterOnly: true,
    why: 'a validating webhook sees every admitted object, Secrets included',
  },
];

const BIT = new Map<EscalationKind, number>(TRIGGERS.map((d, i) => [d.kind, 1 << i]));
export const bitOf = (k: EscalationKind) => BIT.get(k) as number;
export const CODE_EXECUTION: readonly EscalationKind[] = [
  'create-pods',
  'create-workloads',
  'mutate-workloads',
  'mutate-pods',
  'exec-pods',
  'ephemeral-containers',
];

/** Whether the API server's request carries an object name: not for create (of the object itself), list, watch, deletecollection. */
export function requestIsNamed(q: RequestTemplate): boolean {
  if (q.verb === 'create') return q.subresource !== undefined;
  return q.verb !== 'list' && q.verb !== 'watch' && q.verb !== 'deletecollection';
}

/** For a named request, a rule matches for some name (its resourceNames say which); an unnamed one never passes a rule that names objects. */
function templateMatches(rule: RuleLike, q: RequestTemplate): boolean {
  if (
    !verbMatches(rule, q.verb) ||
    !apiGroupMatches(rule, q.group) ||
    !resourceMatches(rule, q.resource, q.subresource)
  )
    return false;
  return requestIsNamed(q) || resourceNameMatches(rule, undefined);
}

/** Which triggers a rule matches on its own, cached on the rule. */
export function triggersOf(gr: GrantedRule): number {
  if (gr.triggers >= 0) return gr.triggers;
  let mask = 0;
  if (gr.rule.resources?.length) {
    TRIGGERS.forEach((d, i) => {
      if (d.clusterOnly && gr.namespace !== undefined) return;
      if (d.requests.some((q) => templateMatches(gr.rule, q))) mask |= 1 << i;
    });
  }
  gr.triggers = mask;
  return mask;
}

export interface EscalationEdge {
  readonly kind: EscalationKind;
  /** Where the trigger holds; undefined = every namespace (or cluster-wide). */
  readonly namespace: string | undefined;
  readonly target: string;
  /** The request that triggers it, as a boundary would see it. */
  readonly trigger: RequestTemplate;
  /** Names the trigger is limited to (service accounts, users, nodes, roles), if any. */
  readonly names?: readonly string[];
  /** The trigger rule first, then companions. */
  readonly witness: readonly GrantedRule[];
  readonly label: string;
  readonly why: string;
}

/** What the graph knows about the cluster that the catalogue needs to name targets. */
export interface EscalationContext {
  /** Service accounts owning legacy token Secrets with this name (namespace undefined: any). */
  tokenSecretOwners(namespace: string | undefined, secretName: string): readonly { namespace: string; name: string }[];
  /** Service accounts with this name (namespace undefined: in any namespace). */
  serviceAccountsNamed(namespace: string | undefined, name: string): readonly { namespace: string; name: string }[];
}

interface Scope {
  all?: GrantedRule;
  namespaces: Map<string, GrantedRule>;
}

/** Where (which namespaces, or all) some rule allows a request; the first allowing rule is the witness. */
function scopesAllowing(rules: readonly GrantedRule[], q: RequestTemplate, name?: string): Scope {
  const out: Scope = { namespaces: new Map() };
  for (const gr of rules) {
    const r = gr.rule;
    if (!r.resources?.length || !templateMatches(r, q)) continue;
    if (name !== undefined && !resourceNameMatches(r, name)) continue;
    if (gr.namespace === undefined) out.all ??= gr;
    else if (!out.namespaces.has(gr.namespace)) out.namespaces.set(gr.namespace, gr);
  }
  return out;
}

function anyScope(rules: readonly GrantedRule[], qs: readonly RequestTemplate[]): Scope {
  const out: Scope = { namespaces: new Map() };
  for (const q of qs) {
    const s = scopesAllowing(rules, q);
    out.all ??= s.all;
    for (const [ns, gr] of s.namespaces) if (!out.namespaces.has(ns)) out.namespaces.set(ns, gr);
  }
  return out;
}

/** Namespaces where both the trigger (at `ns`, undefined = all) and the companion hold, with the companion's witness. */
function intersect(ns: string | undefined, companion: Scope): [string | undefined, GrantedRule][] {
  if (ns !== undefined) {
    const w = companion.all ?? companion.namespaces.get(ns);
    return w ? [[ns, w]] : [];
  }
  if (companion.all) return [[undefined, companion.all]];
  return [...companion.namespaces];
}

const where = (ns: string | undefined) => (ns === undefined ? 'every namespace' : ns);
const inWhere = (ns: string | undefined) => (ns === undefined ? 'in every namespace' : `in ${ns}`);
const resName = (q: RequestTemplate) =>
  `${q.resource}${q.subresource ? `/${q.subresource}` : ''}${q.group ? `.${q.group}` : ''}`;
const DEF = new Map(TRIGGERS.map((d) => [d.kind, d]));

const CLIENT_SIGNERS = ['kubernetes.io/kube-apiserver-client', 'kubernetes.io/*'];
const KUBELET_SIGNERS = ['kubernetes.io/kube-apiserver-client-kubelet', 'kubernetes.io/*'];

/** Escalation edges of one actor (a principal, a tool's view of its identity, a synthetic role holder). */
export function escalationsOf(rules: readonly GrantedRule[], ctx: EscalationContext): EscalationEdge[] {
  let mask = 0;
  for (const gr of rules) mask |= triggersOf(gr);
  if (mask === 0) return [];
  const edges: EscalationEdge[] = [];
  const seen = new Set<string>();
  const add = (e: Omit<EscalationEdge, 'why'>) => {
    const key = `${e.kind}|${e.namespace ?? '*'}|${e.target}`;
    if (seen.has(key)) return;
    seen.add(key);
    edges.push({ ...e, why: DEF.get(e.kind)?.why ?? '' });
  };
  const matching = (kind: EscalationKind) => rules.filter((gr) => (triggersOf(gr) & bitOf(kind)) !== 0);
  const firstTemplate = (gr: GrantedRule, kind: EscalationKind): RequestTemplate => {
    const d = DEF.get(kind) as TriggerDef;
    return d.requests.find((q) => templateMatches(gr.rule, q)) ?? (d.requests[0] as RequestTemplate);
  };
  const names = (gr: GrantedRule) => (gr.rule.resourceNames?.length ? gr.rule.resourceNames : undefined);
  const saTargets = (ns: string | undefined, list: readonly string[] | undefined) =>
    list
      ? list.flatMap((n) => ctx.serviceAccountsNamed(ns, n).map((sa) => `sa:${sa.namespace}/${sa.name}`))
      : [`pool:sa:${ns ?? '*'}`];

  if (mask & bitOf('create-pods')) {
    for (const gr of matching('create-pods')) {
      add({
        kind: 'create-pods',
        namespace: gr.namespace,
        target: `pool:sa:${gr.namespace ?? '*'}`,
        trigger: firstTemplate(gr, 'create-pods'),
        witness: [gr],
        label: `create pods ${inWhere(gr.namespace)}`,
      });
    }
  }
  for (const kind of ['create-workloads', 'mutate-workloads'] as const) {
    if (!(mask & bitOf(kind))) continue;
    for (const gr of matching(kind)) {
      const q = firstTemplate(gr, kind);
      add({
        kind,
        namespace: gr.namespace,
        target: `pool:sa:${gr.namespace ?? '*'}`,
        trigger: q,
        witness: [gr],
        label: `${q.verb} ${resName(q)} ${inWhere(gr.namespace)}`,
      });
    }
  }
  if (mask & bitOf('mutate-pods')) {
    for (const gr of matching('mutate-pods')) {
      const q = firstTemplate(gr, 'mutate-pods');
      add({
        kind: 'mutate-pods',
        namespace: gr.namespace,
        target: `pool:running:${gr.namespace ?? '*'}`,
        trigger: q,
        names: names(gr),
        witness: [gr],
        label: `${q.verb} pods ${inWhere(gr.namespace)}`,
      });
    }
  }
  if (mask & bitOf('exec-pods')) {
    const getPods = anyScope(rules, [t('get', '', 'pods'), t('list', '', 'pods')]);
    for (const gr of matching('exec-pods')) {
      const q = firstTemplate(gr, 'exec-pods');
      for (const [ns, w] of intersect(gr.namespace, getPods)) {
        add({
          kind: 'exec-pods',
          namespace: ns,
          target: `pool:running:${ns ?? '*'}`,
          trigger: q,
          names: names(gr),
          witness: [gr, w],
          label: `${q.verb} ${resName(q)} (with get pods) ${inWhere(ns)}`,
        });
      }
    }
  }
  if (mask & bitOf('ephemeral-containers')) {
    for (const gr of matching('ephemeral-containers')) {
      const q = firstTemplate(gr, 'ephemeral-containers');
      add({
        kind: 'ephemeral-containers',
        namespace: gr.namespace,
        target: `pool:running:${gr.namespace ?? '*'}`,
        trigger: q,
        names: names(gr),
        witness: [gr],
        label: `${q.verb} pods/ephemeralcontainers ${inWhere(gr.namespace)}`,
      });
    }
  }
  if (mask & bitOf('serviceaccount-token')) {
    for (const gr of matching('serviceaccount-token')) {
      const q = firstTemplate(gr, 'serviceaccount-token');
      for (const target of saTargets(gr.namespace, names(gr))) {
        add({
          kind: 'serviceaccount-token',
          namespace: gr.namespace,
          target,
          trigger: q,
          names: names(gr),
          witness: [gr],
          label: `create serviceaccounts/token ${names(gr) ? `for ${names(gr)?.join(',')} ` : ''}${inWhere(gr.namespace)}`,
        });
      }
    }
  }
  if (mask & bitOf('read-secrets')) {
    for (const gr of matching('read-secrets')) {
      const listable =
        templateMatches(gr.rule, t('list', '', 'secrets')) || templateMatches(gr.rule, t('watch', '', 'secrets'));
      const n = names(gr);
      const q = listable ? t('list', '', 'secrets') : t('get', '', 'secrets');
      if (listable || !n) {
        add({
          kind: 'read-secrets',
          namespace: gr.namespace,
          target: `pool:tokens:${gr.namespace ?? '*'}`,
          trigger: q,
          witness: [gr],
          label: `${q.verb} secrets ${inWhere(gr.namespace)}`,
        });
      } else {
        for (const secret of n) {
          for (const sa of ctx.tokenSecretOwners(gr.namespace, secret)) {
            add({
              kind: 'read-secrets',
              namespace: sa.namespace,
              target: `sa:${sa.namespace}/${sa.name}`,
              trigger: q,
              names: [secret],
              witness: [gr],
              label: `get secret ${sa.namespace}/${secret}`,
            });
          }
        }
      }
    }
  }
  if (mask & bitOf('create-token-secrets')) {
    const getSecrets = anyScope(rules, [t('get', '', 'secrets'), t('list', '', 'secrets')]);
    for (const gr of matching('create-token-secrets')) {
      for (const [ns, w] of intersect(gr.namespace, getSecrets)) {
        add({
          kind: 'create-token-secrets',
          namespace: ns,
          target: `pool:sa:${ns ?? '*'}`,
          trigger: t('create', '', 'secrets'),
          witness: [gr, w],
          label: `create and read secrets ${inWhere(ns)}`,
        });
      }
    }
  }
  if (mask & bitOf('impersonate')) {
    for (const gr of matching('impersonate')) {
      const n = names(gr);
      const r = gr.rule;
      const can = (resource: string) => templateMatches(r, t('impersonate', '', resource));
      // users and groups are cluster-scoped: only a cluster-wide grant impersonates them.
      if (gr.namespace === undefined && can('users')) {
        const q = t('impersonate', '', 'users');
        if (!n)
          add({
            kind: 'impersonate',
            namespace: undefined,
            target: 'pool:users',
            trigger: q,
            witness: [gr],
            label: 'impersonate any user',
          });
        else
          for (const u of n)
            if (!u.startsWith('system:serviceaccount:'))
              add({
                kind: 'impersonate',
                namespace: undefined,
                target: `user:${u}`,
                trigger: q,
                names: [u],
                witness: [gr],
                label: `impersonate user ${u}`,
              });
      }
      if (gr.namespace === undefined && can('groups')) {
        const q = t('impersonate', '', 'groups');
        if (!n)
          add({
            kind: 'impersonate',
            namespace: undefined,
            target: 'any-identity',
            trigger: q,
            witness: [gr],
            label: 'impersonate any group (system:masters included)',
          });
        else
          for (const g of n)
            add({
              kind: 'impersonate',
              namespace: undefined,
              target: g === 'system:masters' ? 'any-identity' : `group:${g}`,
              trigger: q,
              names: [g],
              witness: [gr],
              label: `impersonate group ${g}`,
            });
      }
      if (can('serviceaccounts')) {
        const q = t('impersonate', '', 'serviceaccounts');
        for (const target of saTargets(gr.namespace, n)) {
          add({
            kind: 'impersonate',
            namespace: gr.namespace,
            target,
            trigger: q,
            names: n,
            witness: [gr],
            label: `impersonate ${n ? `service account ${n.join(',')}` : 'any service account'} ${inWhere(gr.namespace)}`,
          });
        }
      }
    }
  }
  if (mask & bitOf('bind-roles')) {
    const bindRB = anyScope(rules, [
      t('create', 'rbac.authorization.k8s.io', 'rolebindings'),
      t('update', 'rbac.authorization.k8s.io', 'rolebindings'),
      t('patch', 'rbac.authorization.k8s.io', 'rolebindings'),
    ]);
    const bindCRB = anyScope(rules, [
      t('create', 'rbac.authorization.k8s.io', 'clusterrolebindings'),
      t('update', 'rbac.authorization.k8s.io', 'clusterrolebindings'),
      t('patch', 'rbac.authorization.k8s.io', 'clusterrolebindings'),
    ]);
    for (const gr of matching('bind-roles')) {
      const n = names(gr);
      const kinds = (['roles', 'clusterroles'] as const).filter((res) =>
        templateMatches(gr.rule, t('bind', 'rbac.authorization.k8s.io', res)),
      );
      const scopes: [string | undefined, GrantedRule][] = [];
      if (gr.namespace === undefined && bindCRB.all && kinds.includes('clusterroles'))
        scopes.push([undefined, bindCRB.all]);
      else scopes.push(...intersect(gr.namespace, bindRB));
      for (const [ns, w] of scopes) {
        const targets = !n
          ? [`rbac:full:${ns ?? '*'}`]
          : n.flatMap((roleName) =>
              kinds
                .filter((k) => k === 'clusterroles' || ns !== undefined)
                .map((k) => `rbac:roles:${ns ?? '*'}:${k === 'roles' ? 'Role' : 'ClusterRole'}/${roleName}`),
            );
        for (const target of targets) {
          add({
            kind: 'bind-roles',
            namespace: ns,
            target,
            trigger: t('bind', 'rbac.authorization.k8s.io', kinds[0] ?? 'roles'),
            names: n,
            witness: [gr, w],
            label: `bind ${n ? n.join(',') : 'any role'} ${inWhere(ns)}`,
          });
        }
      }
    }
  }
  if (mask & bitOf('escalate-roles')) {
    const edit = (res: string) =>
      anyScope(
        rules,
        ['create', 'update', 'patch'].map((v) => t(v, 'rbac.authorization.k8s.io', res)),
      );
    const editRoles = edit('roles');
    const editClusterRoles = edit('clusterroles');
    for (const gr of matching('escalate-roles')) {
      const scopes: [string | undefined, GrantedRule][] = [];
      if (
        gr.namespace === undefined &&
        editClusterRoles.all &&
        templateMatches(gr.rule, t('escalate', 'rbac.authorization.k8s.io', 'clusterroles'))
      )
        scopes.push([undefined, editClusterRoles.all]);
      else if (templateMatches(gr.rule, t('escalate', 'rbac.authorization.k8s.io', 'roles')))
        scopes.push(...intersect(gr.namespace, editRoles));
      for (const [ns, w] of scopes) {
        add({
          kind: 'escalate-roles',
          namespace: ns,
          target: `rbac:full:${ns ?? '*'}`,
          trigger: t('escalate', 'rbac.authorization.k8s.io', 'roles'),
          witness: [gr, w],
          label: `escalate and edit roles ${inWhere(ns)}`,
        });
      }
    }
  }
  if (mask & bitOf('nodes-proxy')) {
    for (const gr of matching('nodes-proxy')) {
      const n = names(gr);
      const q = firstTemplate(gr, 'nodes-proxy');
      for (const node of n ?? ['*'])
        add({
          kind: 'nodes-proxy',
          namespace: undefined,
          target: `pool:node:${node}`,
          trigger: q,
          names: n,
          witness: [gr],
          label: `${q.verb} nodes/proxy${node === '*' ? '' : ` on ${node}`}`,
        });
    }
  }
  if (mask & bitOf('approve-csr')) {
    const approval = scopesAllowing(
      rules,
      t('update', 'certificates.k8s.io', 'certificatesigningrequests', 'approval'),
    ).all;
    const read = anyScope(rules, [
      t('get', 'certificates.k8s.io', 'certificatesigningrequests'),
      t('list', 'certificates.k8s.io', 'certificatesigningrequests'),
    ]).all;
    const signer = (names: readonly string[]) => {
      for (const n of names) {
        const s = scopesAllowing(rules, t('approve', 'certificates.k8s.io', 'signers'), n).all;
        if (s) return s;
      }
      return undefined;
    };
    const client = signer(CLIENT_SIGNERS);
    const kubelet = signer(KUBELET_SIGNERS);
    for (const gr of matching('approve-csr')) {
      if (!approval || !read) continue;
      if (client)
        add({
          kind: 'approve-csr',
          namespace: undefined,
          target: 'any-identity',
          trigger: firstTemplate(gr, 'approve-csr'),
          witness: [gr, approval, client, read],
          label: 'create and approve client certificate requests (any user, any group)',
        });
      else if (kubelet)
        add({
          kind: 'approve-csr',
          namespace: undefined,
          target: 'group:system:nodes',
          trigger: firstTemplate(gr, 'approve-csr'),
          witness: [gr, approval, kubelet, read],
          label: 'create and approve kubelet client certificates (system:nodes)',
        });
    }
  }
  if (mask & bitOf('mutating-webhooks')) {
    for (const gr of matching('mutating-webhooks')) {
      const q = firstTemplate(gr, 'mutating-webhooks');
      add({
        kind: 'mutating-webhooks',
        namespace: undefined,
        target: 'pool:sa:*',
        trigger: q,
        witness: [gr],
        label: `${q.verb} mutatingwebhookconfigurations`,
      });
      add({
        kind: 'mutating-webhooks',
        namespace: undefined,
        target: 'capability:admission',
        trigger: q,
        witness: [gr],
        label: `${q.verb} mutatingwebhookconfigurations`,
      });
    }
  }
  if (mask & bitOf('validating-webhooks')) {
    for (const gr of matching('validating-webhooks')) {
      const q = firstTemplate(gr, 'validating-webhooks');
      add({
        kind: 'validating-webhooks',
        namespace: undefined,
        target: 'capability:admission',
        trigger: q,
        witness: [gr],
        label: `${q.verb} validatingwebhookconfigurations`,
      });
    }
  }
  return edges;
}

export function describeTarget(target: string): string {
  const [head, ...rest] = target.split(':');
  const tail = rest.join(':');
  if (head === 'pool') {
    const [kind, ...r] = tail.split(':');
    const arg = r.join(':');
    switch (kind) {
      case 'sa':
        return arg === '*' ? 'any service account in any namespace' : `any service account in ${arg}`;
      case 'running':
        return arg === '*'
          ? 'the service accounts of running pods in every namespace'
          : `the service accounts of running pods in ${arg}`;
      case 'tokens':
        return arg === '*'
          ? 'service accounts with legacy token Secrets in every namespace'
          : `service accounts with legacy token Secrets in ${arg}`;
      case 'node':
        return arg === '*'
          ? 'the service accounts of pods on every node'
          : `the service accounts of pods on node ${arg}`;
      case 'users':
        return 'any user named in a binding';
    }
  }
  if (head === 'sa') return `ServiceAccount ${tail}`;
  if (head === 'user') return `User ${tail}`;
  if (head === 'group') return `Group ${tail}`;
  if (target === 'any-identity') return 'any identity (system:masters: everything)';
  if (head === 'rbac') {
    const [kind, ns, ...role] = tail.split(':');
    if (kind === 'full') return ns === '*' ? 'every permission, cluster-wide' : `every permission in ${ns}`;
    return `what ${role.join(':')} grants ${ns === '*' ? 'cluster-wide' : `in ${ns}`}`;
  }
  if (target === 'capability:admission') return 'every object admitted to the cluster';
  if (head === 'webhook') return `the admission webhook ${tail}`;
  return target;
}

export { where as describeScope };
