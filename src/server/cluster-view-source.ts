// Keeps the engine's cluster view in `tether serve`: informers on RBAC objects, ServiceAccounts and
// Pods feed a ClusterState incrementally. The view reports itself synced only once every informer
// has listed; until then containment refuses agents that need a fact (humans are never asked).
import * as k8s from '@kubernetes/client-node';
import { ClusterState, clusterViewOf, type ViewKind } from '../kube/cluster-view.ts';
import { formatSource, type KubeObject, readObjectDump } from '../kube/object-dump.ts';
import type { Governor } from '../service/governor.ts';
import { clusterKubeConfig } from './kube-config.ts';

export interface ClusterViewSource {
  readonly view: ClusterState;
  /** Settles once every informer has listed (the view is then synced); rejects when a first list fails. */
  readonly synced: Promise<void>;
  stop(): void;
}

const RBAC_V1 = 'rbac.authorization.k8s.io/v1';
type Lister = () => Promise<k8s.KubernetesListObject<k8s.KubernetesObject>>;

function listers(kc: k8s.KubeConfig): [ViewKind, string, string, Lister][] {
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const base = '/apis/rbac.authorization.k8s.io/v1';
  return [
    ['ClusterRole', RBAC_V1, `${base}/clusterroles`, () => rbac.listClusterRole()],
    ['ClusterRoleBinding', RBAC_V1, `${base}/clusterrolebindings`, () => rbac.listClusterRoleBinding()],
    ['Role', RBAC_V1, `${base}/roles`, () => rbac.listRoleForAllNamespaces()],
    ['RoleBinding', RBAC_V1, `${base}/rolebindings`, () => rbac.listRoleBindingForAllNamespaces()],
    ['ServiceAccount', 'v1', '/api/v1/serviceaccounts', () => core.listServiceAccountForAllNamespaces()],
    ['Pod', 'v1', '/api/v1/pods', () => core.listPodForAllNamespaces()],
  ];
}

/** Starts the informers at once; the view answers "not synced" until every kind has listed. */
export function startClusterView(kc: k8s.KubeConfig, onError: (e: unknown) => void): ClusterViewSource {
  const view = new ClusterState();
  const informers: k8s.Informer<k8s.KubernetesObject>[] = [];
  // An RBAC change is folded into the index right away, off the decision path.
  let warm: NodeJS.Immediate | undefined;
  const rebuildSoon = () => {
    warm ??= setImmediate(() => {
      warm = undefined;
      try {
        view.warm();
      } catch (e) {
        onError(e);
      }
    });
  };
  for (const [kind, apiVersion, path, list] of listers(kc)) {
    const inf = k8s.makeInformer(kc, path, list);
    // Listed items carry no kind or apiVersion.
    const as = (o: k8s.KubernetesObject): KubeObject => ({ ...(o as KubeObject), kind, apiVersion });
    inf.on('add', (o) => {
      view.upsert(as(o));
      if (kind !== 'Pod' && kind !== 'ServiceAccount') rebuildSoon();
    });
    inf.on('update', (o) => {
      view.upsert(as(o));
      if (kind !== 'Pod' && kind !== 'ServiceAccount') rebuildSoon();
    });
    inf.on('delete', (o) => {
      view.remove(as(o));
      if (kind !== 'Pod' && kind !== 'ServiceAccount') rebuildSoon();
    });
    inf.on('error', (e) => {
      onError(e);
      // The informer stops on error: restart it after a pause, as client-go would.
      setTimeout(() => void inf.start().catch(onError), 5_000).unref();
    });
    informers.push(inf);
  }
  const synced = Promise.all(informers.map((i) => i.start())).then(() => {
    view.markSynced();
    rebuildSoon();
  });
  return {
    view,
    synced,
    stop() {
      if (warm) clearImmediate(warm);
      for (const i of informers) void i.stop();
    },
  };
}

/** The cluster view for containment, when configured: the governor decides with it at once (unsynced, it refuses agents that need a fact). */
export async function startClusterViewFor(
  config: { readonly kubeconfig?: string; readonly dump?: string } | undefined,
  governor: Governor,
  warn: (message: string, e: unknown) => void,
): Promise<ClusterViewSource | undefined> {
  if (!config) return undefined;
  if (config.dump) {
    const view = fixedView(config.dump);
    governor.setClusterView(view);
    return { view, synced: Promise.resolve(), stop() {} };
  }
  const started = startClusterView(clusterKubeConfig(config.kubeconfig), (e) => warn('cluster view watch error', e));
  governor.setClusterView(started.view);
  // Start-up waits a little for the first lists, never for ever.
  let timer: NodeJS.Timeout | undefined;
  const patience = new Promise<void>((r) => {
    timer = setTimeout(r, 15_000);
  });
  await Promise.race([
    started.synced.catch((e) => warn('cluster view not synced; agents needing it are refused until it is', e)),
    patience,
  ]);
  clearTimeout(timer);
  return started;
}

/** A view read once from a dump; an unreadable dump stops start-up rather than deciding on half a cluster. */
function fixedView(path: string): ClusterState {
  const dump = readObjectDump([path]);
  const errors = dump.problems.filter((p) => p.severity === 'error');
  if (errors.length)
    throw new Error(
      `clusterView.dump ${path}: ${errors.map((p) => `${formatSource(p.source)}: ${p.message}`).join('; ')}`,
    );
  return clusterViewOf(dump.objects.map((o) => o.object));
}
