// How Argo CD and Flux mark the objects they own.

interface Meta {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface GitOpsOwnership {
  readonly tool: 'argocd' | 'flux';
  /** The owning application: Argo CD Application name, or Flux `namespace/name` of the Kustomization or HelmRelease. */
  readonly app: string;
  /** The label or annotation it was read from, as `key=value`. */
  readonly marker: string;
}

/** Which GitOps application owns the object, from the marks Argo CD and Flux put on what they apply. */
export function gitopsOwnership(obj: unknown): GitOpsOwnership | undefined {
  const md = (obj as { metadata?: Meta } | null | undefined)?.metadata;
  if (!md) return undefined;
  const labels = md.labels ?? {};
  for (const kind of ['kustomize', 'helm'] as const) {
    const name = labels[`${kind}.toolkit.fluxcd.io/name`];
    if (!name) continue;
    const ns = labels[`${kind}.toolkit.fluxcd.io/namespace`];
    return { tool: 'flux', app: ns ? `${ns}/${name}` : name, marker: `${kind}.toolkit.fluxcd.io/name=${name}` };
  }
  const instance = labels['argocd.argoproj.io/instance'];
  if (instance) return { tool: 'argocd', app: instance, marker: `argocd.argoproj.io/instance=${instance}` };
  // Tracking id: `<application>:<group>/<kind>:<namespace>/<name>`.
  const tracking = md.annotations?.['argocd.argoproj.io/tracking-id'];
  if (tracking)
    return {
      tool: 'argocd',
      app: tracking.split(':')[0] ?? tracking,
      marker: `argocd.argoproj.io/tracking-id=${tracking}`,
    };
  return undefined;
}

/** The GitOps mark as `key=value`, for messages. */
export function gitopsOwner(obj: unknown): string | undefined {
  return gitopsOwnership(obj)?.marker;
}

export function labelsOf(obj: unknown): Record<string, string> {
  return (obj as { metadata?: Meta } | null | undefined)?.metadata?.labels ?? {};
}
