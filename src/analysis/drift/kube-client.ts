// Drift's view of the cluster: discovery, list, get and server-side apply by kind, over the one
// Kubernetes client (src/kube/cluster-objects.ts). Drift needs objects exactly as the API server
// sends them (unknown fields kept, timestamps as strings, managedFields intact): raw JSON.
import { ApiError, kubeClient, loadKubeConfig } from '../../kube/cluster-objects.ts';
import type { KubeObject } from './model.ts';
import { splitApiVersion } from './object-id.ts';

/** The one client's error: status and the API server's reason. */
export { ApiError as KubeApiError };
const KubeApiError = ApiError;

export interface ResourceInfo {
  readonly resource: string;
  readonly namespaced: boolean;
}

export interface KubeClient {
  /** REST resource and scope of a kind; undefined when the cluster does not serve it. */
  resourceFor(apiVersion: string, kind: string): Promise<ResourceInfo | undefined>;
  /** Every object of a kind (in one namespace, or cluster-wide when namespace is undefined). */
  list(apiVersion: string, kind: string, namespace?: string): Promise<KubeObject[]>;
  get(apiVersion: string, kind: string, name: string, namespace?: string): Promise<KubeObject | undefined>;
  /** Server-side apply (application/apply-patch+yaml). */
  apply(obj: KubeObject, fieldManager: string, force: boolean): Promise<KubeObject>;
  readonly server: string;
}

export async function kubeClientFromKubeconfig(kubeconfig?: string, context?: string): Promise<KubeClient> {
  const kc = loadKubeConfig(kubeconfig, context);
  // Once up front, so a broken kubeconfig fails here; the client refreshes credentials as they expire.
  await kc.applyToHTTPSOptions({});
  const transport = kubeClient(kc);
  const call = (method: string, path: string, body?: unknown, contentType?: string) =>
    transport.request(method, path, body, contentType);

  const discovery = new Map<string, Promise<Map<string, ResourceInfo> | undefined>>();
  function resources(apiVersion: string): Promise<Map<string, ResourceInfo> | undefined> {
    let p = discovery.get(apiVersion);
    if (!p) {
      const { group, version } = splitApiVersion(apiVersion);
      p = (
        call('GET', group ? `/apis/${group}/${version}` : `/api/${version}`) as Promise<{
          resources?: { name: string; kind: string; namespaced: boolean }[];
        }>
      )
        .then((list) => {
          const byKind = new Map<string, ResourceInfo>();
          for (const r of list.resources ?? [])
            if (!r.name.includes('/')) byKind.set(r.kind, { resource: r.name, namespaced: r.namespaced });
          return byKind;
        })
        .catch((e: unknown) => {
          if (e instanceof KubeApiError && e.status === 404) return undefined;
          throw e;
        });
      discovery.set(apiVersion, p);
    }
    return p;
  }

  async function pathFor(apiVersion: string, kind: string, namespace?: string, name?: string): Promise<string> {
    const info = (await resources(apiVersion))?.get(kind);
    if (!info) throw new KubeApiError(404, `the cluster does not serve ${kind} in ${apiVersion}`, 'NotFound');
    const { group, version } = splitApiVersion(apiVersion);
    const prefix = group ? `/apis/${group}/${version}` : `/api/${version}`;
    const ns = info.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
    return `${prefix}${ns}/${info.resource}${name ? `/${encodeURIComponent(name)}` : ''}`;
  }

  return {
    server: transport.server,
    async resourceFor(apiVersion, kind) {
      return (await resources(apiVersion))?.get(kind);
    },
    async list(apiVersion, kind, namespace) {
      const path = await pathFor(apiVersion, kind, namespace);
      const out: KubeObject[] = [];
      let next: string | undefined;
      do {
        const q = new URLSearchParams({ limit: '500' });
        if (next) q.set('continue', next);
        const page = (await call('GET', `${path}?${q}`)) as { items?: KubeObject[]; metadata?: { continue?: string } };
        // List responses leave apiVersion and kind out of their items.
        for (const item of page.items ?? []) out.push({ ...item, apiVersion, kind });
        next = page.metadata?.continue || undefined;
      } while (next);
      return out;
    },
    async get(apiVersion, kind, name, namespace) {
      try {
        return (await call('GET', await pathFor(apiVersion, kind, namespace, name))) as KubeObject;
      } catch (e) {
        if (e instanceof KubeApiError && e.status === 404) return undefined;
        throw e;
      }
    },
    async apply(obj, fieldManager, force) {
      const path = await pathFor(obj.apiVersion, obj.kind, obj.metadata.namespace, obj.metadata.name);
      const q = new URLSearchParams({ fieldManager, ...(force ? { force: 'true' } : {}) });
      // JSON is YAML: the object goes as it is.
      return (await call('PATCH', `${path}?${q}`, obj, 'application/apply-patch+yaml')) as KubeObject;
    },
  };
}
