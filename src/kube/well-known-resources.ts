// Built-in Kubernetes resources an offline tool needs to know without discovery: their API group,
// whether they are namespaced, and kubectl's short names. Custom resources are not here; callers
// treat an unknown resource as namespaced in the core group unless told otherwise.

export interface WellKnownResource {
  readonly resource: string;
  readonly group: string;
  readonly namespaced: boolean;
  readonly shortNames?: readonly string[];
}

const R = (resource: string, group: string, namespaced: boolean, ...shortNames: string[]): WellKnownResource => ({
  resource,
  group,
  namespaced,
  shortNames,
});

export const WELL_KNOWN_RESOURCES: readonly WellKnownResource[] = [
  R('pods', '', true, 'po'),
  R('services', '', true, 'svc'),
  R('configmaps', '', true, 'cm'),
  R('secrets', '', true),
  R('serviceaccounts', '', true, 'sa'),
  R('persistentvolumeclaims', '', true, 'pvc'),
  R('endpoints', '', true, 'ep'),
  R('events', '', true, 'ev'),
  R('limitranges', '', true, 'limits'),
  R('resourcequotas', '', true, 'quota'),
  R('replicationcontrollers', '', true, 'rc'),
  R('podtemplates', '', true),
  R('bindings', '', true),
  R('namespaces', '', false, 'ns'),
  R('nodes', '', false, 'no'),
  R('persistentvolumes', '', false, 'pv'),
  R('componentstatuses', '', false, 'cs'),
  // Impersonation targets: users, groups and uids are checked without a namespace.
  R('users', '', false),
  R('groups', '', false),
  R('uids', 'authentication.k8s.io', false),
  R('userextras', 'authentication.k8s.io', false),
  R('deployments', 'apps', true, 'deploy'),
  R('replicasets', 'apps', true, 'rs'),
  R('statefulsets', 'apps', true, 'sts'),
  R('daemonsets', 'apps', true, 'ds'),
  R('controllerrevisions', 'apps', true),
  R('jobs', 'batch', true),
  R('cronjobs', 'batch', true, 'cj'),
  R('horizontalpodautoscalers', 'autoscaling', true, 'hpa'),
  R('poddisruptionbudgets', 'policy', true, 'pdb'),
  R('ingresses', 'networking.k8s.io', true, 'ing'),
  R('networkpolicies', 'networking.k8s.io', true, 'netpol'),
  R('ingressclasses', 'networking.k8s.io', false),
  R('roles', 'rbac.authorization.k8s.io', true),
  R('rolebindings', 'rbac.authorization.k8s.io', true),
  R('clusterroles', 'rbac.authorization.k8s.io', false),
  R('clusterrolebindings', 'rbac.authorization.k8s.io', false),
  R('storageclasses', 'storage.k8s.io', false, 'sc'),
  R('csidrivers', 'storage.k8s.io', false),
  R('csinodes', 'storage.k8s.io', false),
  R('volumeattachments', 'storage.k8s.io', false),
  R('mutatingwebhookconfigurations', 'admissionregistration.k8s.io', false),
  R('validatingwebhookconfigurations', 'admissionregistration.k8s.io', false),
  R('validatingadmissionpolicies', 'admissionregistration.k8s.io', false),
  R('validatingadmissionpolicybindings', 'admissionregistration.k8s.io', false),
  R('customresourcedefinitions', 'apiextensions.k8s.io', false, 'crd', 'crds'),
  R('apiservices', 'apiregistration.k8s.io', false),
  R('certificatesigningrequests', 'certificates.k8s.io', false, 'csr'),
  R('signers', 'certificates.k8s.io', false),
  R('leases', 'coordination.k8s.io', true),
  R('endpointslices', 'discovery.k8s.io', true),
  R('priorityclasses', 'scheduling.k8s.io', false, 'pc'),
  R('runtimeclasses', 'node.k8s.io', false),
  R('tokenreviews', 'authentication.k8s.io', false),
  R('selfsubjectreviews', 'authentication.k8s.io', false),
  R('subjectaccessreviews', 'authorization.k8s.io', false),
  R('selfsubjectaccessreviews', 'authorization.k8s.io', false),
  R('selfsubjectrulesreviews', 'authorization.k8s.io', false),
  R('localsubjectaccessreviews', 'authorization.k8s.io', true),
  R('flowschemas', 'flowcontrol.apiserver.k8s.io', false),
  R('prioritylevelconfigurations', 'flowcontrol.apiserver.k8s.io', false),
];

const byName = new Map<string, WellKnownResource>();
for (const r of WELL_KNOWN_RESOURCES) {
  byName.set(r.resource, r);
  for (const s of r.shortNames ?? []) byName.set(s, r);
}
const clusterScoped = new Set(WELL_KNOWN_RESOURCES.filter((r) => !r.namespaced).map((r) => `${r.group}/${r.resource}`));

/** True only for built-in resources known to be cluster-scoped (subresources follow their parent). */
export function isKnownClusterScoped(group: string, resource: string): boolean {
  const slash = resource.indexOf('/');
  return clusterScoped.has(`${group}/${slash < 0 ? resource : resource.slice(0, slash)}`);
}

export interface ResolvedResource {
  readonly group: string;
  readonly resource: string;
  readonly subresource?: string;
}

/**
 * Parses kubectl's resource argument: `pods`, `po`, `pods/log`, `deployments.apps/scale`,
 * `widgets.example.com`. A bare name resolves through the built-in table (so `deployments` is in
 * `apps`); an unknown bare name stays in the core group.
 */
/** An API version as Kubernetes names them: v1, v2beta1, v1alpha3. */
export const KUBE_VERSION = /^v[0-9]+((alpha|beta)[0-9]+)?$/;

export function resolveResourceArg(arg: string): ResolvedResource {
  const slash = arg.indexOf('/');
  const head = slash < 0 ? arg : arg.slice(0, slash);
  const subresource = slash < 0 ? undefined : arg.slice(slash + 1);
  const dot = head.indexOf('.');
  if (dot > 0) {
    // kubectl's resource.version.group: deployments.v1.apps is group apps, not v1.apps.
    const rest = head.slice(dot + 1);
    const next = rest.indexOf('.');
    if (next > 0 && KUBE_VERSION.test(rest.slice(0, next)))
      return { resource: head.slice(0, dot), group: rest.slice(next + 1), subresource };
    return { resource: head.slice(0, dot), group: rest, subresource };
  }
  const known = byName.get(head);
  if (known) return { resource: known.resource, group: known.group, subresource };
  return { resource: head, group: '', subresource };
}
