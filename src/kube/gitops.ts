// How Argo CD and Flux mark the objects they own.
const GITOPS_LABELS = ['kustomize.toolkit.fluxcd.io/name', 'helm.toolkit.fluxcd.io/name', 'argocd.argoproj.io/instance'];
const GITOPS_ANNOTATIONS = ['argocd.argoproj.io/tracking-id'];

interface Meta {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function gitopsOwner(obj: unknown): string | undefined {
  const md = (obj as { metadata?: Meta } | null | undefined)?.metadata;
  if (!md) return undefined;
  for (const l of GITOPS_LABELS) if (md.labels?.[l]) return `${l}=${md.labels[l]}`;
  for (const a of GITOPS_ANNOTATIONS) if (md.annotations?.[a]) return `${a}=${md.annotations[a]}`;
  return undefined;
}

export function labelsOf(obj: unknown): Record<string, string> {
  return (obj as { metadata?: Meta } | null | undefined)?.metadata?.labels ?? {};
}
