// Object identity: the same object in Git and in the cluster, whatever API version each uses.
import type { KubeObject, ObjectId } from './model.ts';

// Built-in cluster-scoped kinds. A live object of another kind without a namespace also counts
// as cluster-scoped (see idOf), so custom resources are handled from the live side.
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'StorageClass',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'APIService',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'MutatingAdmissionPolicy',
  'MutatingAdmissionPolicyBinding',
  'PriorityClass',
  'RuntimeClass',
  'IngressClass',
  'CSIDriver',
  'CSINode',
  'VolumeAttachment',
  'FlowSchema',
  'PriorityLevelConfiguration',
  'CertificateSigningRequest',
  'ClusterPolicyReport',
  'ClusterIssuer',
  'ClusterPolicy',
  'ClusterSecretStore',
  'GatewayClass',
]);

export function isClusterScopedKind(kind: string): boolean {
  return CLUSTER_SCOPED.has(kind);
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** Identity of an object; namespaced objects without a namespace land in defaultNamespace, as kubectl apply does. */
export function idOf(obj: KubeObject, defaultNamespace: string): ObjectId {
  const { group, version } = splitApiVersion(obj.apiVersion);
  const ns = obj.metadata.namespace;
  const clusterScoped = isClusterScopedKind(obj.kind);
  return {
    group,
    version,
    kind: obj.kind,
    ...(clusterScoped ? {} : { namespace: ns || defaultNamespace }),
    name: obj.metadata.name,
  };
}

/** Map key: group, kind, namespace, name (the version is left out on purpose). */
export function idKey(id: ObjectId): string {
  return `${id.group}|${id.kind}|${id.namespace ?? ''}|${id.name}`;
}

/** `apps/Deployment shop/frontend` — how reports name an object. */
export function describeId(id: ObjectId): string {
  const gk = id.group ? `${id.group}/${id.kind}` : id.kind;
  return `${gk} ${id.namespace ? `${id.namespace}/` : ''}${id.name}`;
}

export function apiVersionOf(id: ObjectId): string {
  return id.group ? `${id.group}/${id.version}` : id.version;
}

// Irregular plurals of built-in kinds; every other kind is lower-cased and pluralised by rule.
const RESOURCE_OF_KIND: Record<string, string> = {
  Endpoints: 'endpoints',
  Ingress: 'ingresses',
  IngressClass: 'ingressclasses',
  NetworkPolicy: 'networkpolicies',
  PodSecurityPolicy: 'podsecuritypolicies',
  PriorityClass: 'priorityclasses',
  RuntimeClass: 'runtimeclasses',
  StorageClass: 'storageclasses',
  ResourceQuota: 'resourcequotas',
  HorizontalPodAutoscaler: 'horizontalpodautoscalers',
  PodDisruptionBudget: 'poddisruptionbudgets',
  PolicyReport: 'policyreports',
  ClusterPolicyReport: 'clusterpolicyreports',
  ClusterPolicy: 'clusterpolicies',
  Policy: 'policies',
  Gateway: 'gateways',
  GatewayClass: 'gatewayclasses',
  EndpointSlice: 'endpointslices',
};

/** The REST resource of a kind (`Deployment` → `deployments`), as RBAC and the ledger name targets. */
export function resourceOfKind(kind: string): string {
  const known = RESOURCE_OF_KIND[kind];
  if (known) return known;
  const lower = kind.toLowerCase();
  if (/(s|x|z|ch|sh)$/.test(lower)) return `${lower}es`;
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
}
