// Containment that cannot be reasoned around: an agent may not reach, through identities and
// grants it can create, what its own boundary never gave it. Workload identity (run-as), grants
// (roles and bindings) and identity verbs (bind, escalate, impersonate, tokens, certificates,
// exec into a pod) are judged by what the identity they involve could do, against the boundary.
import { sameJson } from '../../kube/field-diff.ts';
import { podSpecAt, podSpecPath, serviceAccountOf } from '../../kube/pod-template.ts';
import {
  type RuleLike,
  serviceAccountGroups,
  serviceAccountUsername,
  type UserInfoLike,
} from '../../kube/rbac-match.ts';
import type { Boundary } from '../../policy/schema.ts';
import {
  BoundaryJudge,
  boundaryAllows,
  describePermission,
  describeWhere,
  type ScopedRule,
} from '../boundary-scope.ts';
import type { RoleRef } from '../cluster-view.ts';
import type { DecisionContext } from '../context.ts';
import { RULES } from '../decision.ts';

const RBAC_GROUP = 'rbac.authorization.k8s.io';
const WRITE_VERBS = new Set(['create', 'update', 'patch']);
const POD_CONNECT = new Set(['exec', 'attach', 'portforward', 'ephemeralcontainers']);
const how = (agent: string) =>
  `To ask for more, propose a wider spec.boundary on Agent ${agent}; a human must approve the expansion.`;

/** The API server's own checks that accompany a write (admission then sees the write and its content). */
export function isAccompanyingCheck(a: { verb: string; target: { group: string; resource: string } }): boolean {
  return (
    (a.verb === 'bind' || a.verb === 'escalate') &&
    a.target.group === RBAC_GROUP &&
    (a.target.resource === 'roles' || a.target.resource === 'clusterroles')
  );
}

// Judging caches per boundary object (compiled specs are immutable): answers depend only on rule content.
const judges = new WeakMap<Boundary, BoundaryJudge>();
const NO_BOUNDARY: Boundary = {};
function judgeFor(b: Boundary | undefined): BoundaryJudge {
  const key = b ?? NO_BOUNDARY;
  let j = judges.get(key);
  if (!j) {
    j = new BoundaryJudge(key);
    judges.set(key, j);
  }
  return j;
}

/** One thing the rules allow that the boundary does not, in words; undefined when all is inside. */
export function firstExcess(boundary: Boundary | undefined, rules: readonly ScopedRule[]): string | undefined {
  const judge = judgeFor(boundary);
  for (const r of rules) {
    for (const part of judge.excess(r)) {
      const p = part.permissions[0];
      if (p) return `${describePermission(p)} ${describeWhere(part.where)}`;
    }
  }
  return undefined;
}

type Facts<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly why: string };

function viewProblem(ctx: DecisionContext): string | undefined {
  if (!ctx.cluster) return 'Tether has no cluster view here (serve with a kubeconfig, or decide with --cluster)';
  if (!ctx.cluster.synced) return "Tether's cluster view has not synced yet";
  return undefined;
}

function rulesOfUser(ctx: DecisionContext, user: UserInfoLike): Facts<readonly ScopedRule[]> {
  const problem = viewProblem(ctx);
  if (problem) return { ok: false, why: problem };
  return { ok: true, value: (ctx.cluster as NonNullable<DecisionContext['cluster']>).rulesOf(user) };
}

function rulesOfServiceAccount(ctx: DecisionContext, namespace: string, name: string): Facts<readonly ScopedRule[]> {
  return rulesOfUser(ctx, {
    username: serviceAccountUsername(namespace, name),
    groups: serviceAccountGroups(namespace),
  });
}

function roleRulesOf(ctx: DecisionContext, ref: RoleRef): Facts<readonly RuleLike[]> {
  const problem = viewProblem(ctx);
  if (problem) return { ok: false, why: problem };
  const rules = ctx.cluster?.roleRules(ref);
  if (!rules) {
    const what = ref.kind === 'ClusterRole' ? `ClusterRole ${ref.name}` : `Role ${ref.namespace}/${ref.name}`;
    return {
      ok: false,
      why: `${what} is not in Tether's cluster view (whoever creates it later decides what it grants)`,
    };
  }
  return { ok: true, value: rules };
}

const scoped = (rules: readonly RuleLike[], namespace: string | undefined): ScopedRule[] =>
  rules.map((rule) => ({ rule, namespace }));

/** A service account the boundary lets workloads run as, whatever it may do: 'name' (target namespace) or 'namespace/name'. */
export function inRunAs(boundary: Boundary | undefined, namespace: string, account: string): boolean {
  return (boundary?.runAs ?? []).some((e) => e === account || e === `${namespace}/${account}`);
}

/** Refuses with what the identity can do beyond the boundary, or fails closed when that is unknown. */
function judgeIdentity(
  ctx: DecisionContext,
  rule: (typeof RULES)['runAs' | 'grant' | 'identity'],
  who: string,
  facts: Facts<readonly ScopedRule[]>,
  opts: { unavoidable?: boolean; hint?: string } = {},
): void {
  const { agent } = ctx;
  const deny = (message: string) => (opts.unavoidable ? ctx.denyUnavoidable(rule, message) : ctx.deny(rule, message));
  const hint = opts.hint ? ` ${opts.hint}` : '';
  if (!facts.ok) {
    deny(
      `${agent.name} may not ${ctx.describe()}: ${who}, and ${facts.why}, so what that reaches is unknown; refused to be safe.${hint}`,
    );
    return;
  }
  const excess = firstExcess(agent.spec.boundary, facts.value);
  if (excess)
    deny(
      `${agent.name} may not ${ctx.describe()}: ${who}, which can ${excess}, beyond ${agent.name}'s boundary.${hint} ${how(agent.name)}`,
    );
}

/** containment/run-as: every object that runs pods runs them as some service account. */
export function checkRunAs(ctx: DecisionContext): void {
  const { action, agent } = ctx;
  const t = action.target;
  if (!WRITE_VERBS.has(action.verb) || t.subresource) return;
  const path = podSpecPath(t.group, t.resource, ctx.policy.governance.spec.workloadKinds);
  if (!path) return;
  const spec = podSpecAt(action.object, path);
  const namespace =
    t.namespace || (action.object as { metadata?: { namespace?: string } } | undefined)?.metadata?.namespace;
  if (!spec || !namespace) return;
  const old = action.verb === 'create' ? undefined : podSpecAt(action.oldObject, path);
  // Only a change of what runs is a new run-as: scaling leaves the pod template alone.
  if (old && sameJson(old, spec)) return;
  const account = serviceAccountOf(spec);
  if (inRunAs(agent.spec.boundary, namespace, account)) return;
  const before = old ? serviceAccountOf(old) : undefined;
  const who =
    before !== undefined && before !== account
      ? `it would change the service account its pods run as from ${namespace}/${before} to ${namespace}/${account}`
      : `its pods would run as service account ${namespace}/${account}`;
  const runAs = agent.spec.boundary?.runAs ?? [];
  const hint = `Accounts it may run workloads as: ${runAs.length ? runAs.join(', ') : 'none (spec.boundary.runAs)'}.`;
  judgeIdentity(ctx, RULES.runAs, who, rulesOfServiceAccount(ctx, namespace, account), { hint });
}

interface RbacObject {
  metadata?: { namespace?: string };
  rules?: RuleLike[];
  aggregationRule?: { clusterRoleSelectors?: unknown[] };
  roleRef?: { kind?: string; name?: string };
  subjects?: { kind?: string; name?: string; namespace?: string }[];
}

function describeSubjects(b: RbacObject, namespace: string | undefined): string {
  const subjects = b.subjects ?? [];
  const first = subjects[0];
  const name = first?.kind === 'ServiceAccount' ? `${first.namespace || namespace || ''}/${first.name}` : first?.name;
  return `${first?.kind ?? 'subject'} ${name ?? '?'}${subjects.length > 1 ? ` and ${subjects.length - 1} more` : ''}`;
}

/** containment/grant: roles and bindings an agent writes give nobody more than its boundary. */
export function checkGrant(ctx: DecisionContext): void {
  const { action } = ctx;
  const t = action.target;
  if (!WRITE_VERBS.has(action.verb) || t.group !== RBAC_GROUP || t.subresource) return;
  const obj = (action.object ?? {}) as RbacObject;
  const namespace = t.namespace || undefined;
  if (t.resource === 'roles' || t.resource === 'clusterroles') {
    // A ClusterRole can be bound anywhere, so its rules count everywhere.
    const scope = t.resource === 'roles' ? namespace : undefined;
    const own = Array.isArray(obj.rules) ? obj.rules : [];
    const selectors = obj.aggregationRule?.clusterRoleSelectors;
    let facts: Facts<readonly ScopedRule[]> = { ok: true, value: scoped(own, scope) };
    if (t.resource === 'clusterroles' && Array.isArray(selectors)) {
      const problem = viewProblem(ctx);
      const picked = problem ? undefined : ctx.cluster?.rulesSelectedBy(selectors);
      facts = picked
        ? { ok: true, value: scoped(picked, undefined) }
        : { ok: false, why: problem ?? 'its aggregationRule could not be evaluated' };
    }
    judgeIdentity(
      ctx,
      RULES.grant,
      `whoever is bound to ${t.resource === 'roles' ? `Role ${namespace}/` : 'ClusterRole '}${t.name ?? '(new)'} would hold its rules`,
      facts,
    );
    return;
  }
  if (t.resource !== 'rolebindings' && t.resource !== 'clusterrolebindings') return;
  if (!(obj.subjects?.length ?? 0)) return;
  const kind = obj.roleRef?.kind === 'Role' ? 'Role' : 'ClusterRole';
  const ref: RoleRef = { kind, namespace: namespace ?? '', name: obj.roleRef?.name ?? '' };
  const scope = t.resource === 'rolebindings' ? namespace : undefined;
  const r = roleRulesOf(ctx, ref);
  const facts: Facts<readonly ScopedRule[]> = r.ok ? { ok: true, value: scoped(r.value, scope) } : r;
  judgeIdentity(
    ctx,
    RULES.grant,
    `${describeSubjects(obj, namespace)} would gain ${kind} ${ref.kind === 'Role' ? `${ref.namespace}/` : ''}${ref.name}`,
    facts,
  );
}

/** containment/identity: verbs that act as, or create, another identity. */
export function checkIdentityVerbs(ctx: DecisionContext): void {
  const { action, agent } = ctx;
  const t = action.target;
  const ns = t.namespace || undefined;
  if (t.group === RBAC_GROUP && (t.resource === 'roles' || t.resource === 'clusterroles') && action.verb === 'bind') {
    if (!t.name) {
      ctx.denyUnavoidable(
        RULES.identity,
        `${agent.name} may not ${ctx.describe()}: binding any role is unbounded. ${how(agent.name)}`,
      );
      return;
    }
    const ref: RoleRef = { kind: t.resource === 'roles' ? 'Role' : 'ClusterRole', namespace: ns ?? '', name: t.name };
    const r = roleRulesOf(ctx, ref);
    judgeIdentity(
      ctx,
      RULES.identity,
      `a binding would give ${ref.kind} ${t.name}`,
      r.ok ? { ok: true, value: scoped(r.value, ns) } : r,
      { unavoidable: true },
    );
    return;
  }
  if (
    t.group === RBAC_GROUP &&
    action.verb === 'escalate' &&
    (t.resource === 'roles' || t.resource === 'clusterroles')
  ) {
    // Escalate lets a role hold more than its writer; the written rules are judged at admission (containment/grant).
    if (
      !boundaryAllows(agent.spec.boundary, {
        verbs: ['create', 'update', 'patch'],
        group: t.group,
        resource: t.resource,
        name: t.name,
        namespace: ns,
      })
    ) {
      ctx.denyUnavoidable(
        RULES.identity,
        `${agent.name} may not ${ctx.describe()}: its boundary does not let it write ${t.resource}. ${how(agent.name)}`,
      );
    }
    return;
  }
  if (action.verb === 'impersonate' && (t.group === '' || t.group === 'authentication.k8s.io')) {
    checkImpersonation(ctx);
    return;
  }
  if (
    t.group === '' &&
    t.resource === 'serviceaccounts' &&
    t.subresource === 'token' &&
    action.verb === 'create' &&
    ns &&
    t.name
  ) {
    if (
      agent.serviceAccounts.some((s) => s.namespace === ns && s.name === t.name) ||
      inRunAs(agent.spec.boundary, ns, t.name)
    )
      return;
    judgeIdentity(
      ctx,
      RULES.identity,
      `a token for service account ${ns}/${t.name} acts as that account`,
      rulesOfServiceAccount(ctx, ns, t.name),
    );
    return;
  }
  if (t.group === 'certificates.k8s.io') {
    checkCertificates(ctx);
    return;
  }
  if (t.group === '' && t.resource === 'pods' && t.subresource && POD_CONNECT.has(t.subresource) && ns && t.name) {
    checkPodConnect(ctx, ns, t.name);
    return;
  }
}

function checkImpersonation(ctx: DecisionContext): void {
  const t = ctx.action.target;
  const name = t.name;
  if (!name) {
    ctx.deny(
      RULES.identity,
      `${ctx.agent.name} may not ${ctx.describe()}: impersonating anyone at all is unbounded. ${how(ctx.agent.name)}`,
    );
    return;
  }
  if (t.resource === 'users') {
    judgeIdentity(
      ctx,
      RULES.identity,
      `impersonating user ${name} acts with that user's rights`,
      rulesOfUser(ctx, { username: name, groups: ['system:authenticated'] }),
    );
    return;
  }
  if (t.resource === 'groups') {
    judgeIdentity(
      ctx,
      RULES.identity,
      `impersonating group ${name} acts with that group's rights`,
      rulesOfUser(ctx, { username: '', groups: [name] }),
    );
    return;
  }
  if (t.resource === 'serviceaccounts' && t.namespace) {
    judgeIdentity(
      ctx,
      RULES.identity,
      `impersonating service account ${t.namespace}/${name} acts as that account`,
      rulesOfServiceAccount(ctx, t.namespace, name),
    );
    return;
  }
}

const CLIENT_SIGNERS = ['kubernetes.io/kube-apiserver-client', 'kubernetes.io/kube-apiserver-client-kubelet'];

function checkCertificates(ctx: DecisionContext): void {
  const { action, agent } = ctx;
  const t = action.target;
  const message = `${agent.name} may not ${ctx.describe()}: a client certificate can name any user and group, so it is an identity beyond any boundary. Ask a human to issue it.`;
  if (t.resource === 'certificatesigningrequests' && t.subresource === 'approval') {
    ctx.deny(RULES.identity, message);
    return;
  }
  if (t.resource === 'signers' && action.verb === 'approve') {
    ctx.denyUnavoidable(RULES.identity, message);
    return;
  }
  if (t.resource === 'certificatesigningrequests' && !t.subresource && action.verb === 'create') {
    const signer = (action.object as { spec?: { signerName?: unknown } } | undefined)?.spec?.signerName;
    if (typeof signer !== 'string' || CLIENT_SIGNERS.includes(signer)) ctx.deny(RULES.identity, message);
  }
}

function checkPodConnect(ctx: DecisionContext, namespace: string, pod: string): void {
  const t = ctx.action.target;
  const problem = viewProblem(ctx);
  const account = problem ? undefined : ctx.cluster?.podServiceAccount(namespace, pod);
  const into = `${t.subresource} into pod ${namespace}/${pod}`;
  if (account === undefined) {
    const why = problem ?? `pod ${namespace}/${pod} is not in Tether's cluster view`;
    ctx.deny(
      RULES.identity,
      `${ctx.agent.name} may not ${ctx.describe()}: ${into} acts with the pod's service account, and ${why}, so what that reaches is unknown; refused to be safe.`,
    );
    return;
  }
  if (inRunAs(ctx.agent.spec.boundary, namespace, account)) return;
  judgeIdentity(
    ctx,
    RULES.identity,
    `${into} acts as its service account ${namespace}/${account}`,
    rulesOfServiceAccount(ctx, namespace, account),
  );
}
