import { randomUUID } from 'node:crypto';

/** An AdmissionReview as kube-apiserver sends it (admission.k8s.io/v1). */
export function admissionReview(opts: {
  username: string;
  groups?: string[];
  operation?: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  group?: string;
  version?: string;
  resource: string;
  subResource?: string;
  namespace?: string;
  name?: string;
  object?: unknown;
  oldObject?: unknown;
  patch?: boolean;
  dryRun?: boolean;
}): Record<string, unknown> {
  const op = opts.operation ?? 'UPDATE';
  const sa = opts.username.startsWith('system:serviceaccount:') ? opts.username.split(':')[2] : undefined;
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group: opts.group ?? 'apps', version: opts.version ?? 'v1', kind: 'Deployment' },
      resource: { group: opts.group ?? 'apps', version: opts.version ?? 'v1', resource: opts.resource },
      ...(opts.subResource ? { subResource: opts.subResource, requestSubResource: opts.subResource } : {}),
      requestKind: { group: opts.group ?? 'apps', version: opts.version ?? 'v1', kind: 'Deployment' },
      requestResource: { group: opts.group ?? 'apps', version: opts.version ?? 'v1', resource: opts.resource },
      name: opts.name,
      namespace: opts.namespace,
      operation: op,
      userInfo: {
        username: opts.username,
        uid: randomUUID(),
        groups:
          opts.groups ??
          (sa
            ? ['system:serviceaccounts', `system:serviceaccounts:${sa}`, 'system:authenticated']
            : ['system:authenticated']),
      },
      object: op === 'DELETE' ? null : (opts.object ?? null),
      oldObject: op === 'CREATE' ? null : (opts.oldObject ?? null),
      dryRun: opts.dryRun ?? false,
      options: {
        kind:
          op === 'CREATE'
            ? 'CreateOptions'
            : op === 'DELETE'
              ? 'DeleteOptions'
              : opts.patch
                ? 'PatchOptions'
                : 'UpdateOptions',
        apiVersion: 'meta.k8s.io/v1',
      },
    },
  };
}

export function deploymentObject(
  name: string,
  replicas: number,
  annotations: Record<string, string> = {},
  namespace = 'shop',
): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace,
      uid: 'c0ffee00-0000-4000-8000-000000000000',
      resourceVersion: '1234',
      generation: 3,
      annotations,
    },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'server', image: `${name}:v1` }] },
      },
    },
    status: { replicas: 1 },
  };
}
