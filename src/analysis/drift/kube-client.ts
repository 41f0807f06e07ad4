// A small REST client over a kubeconfig. Drift needs objects exactly as the API server sends
// them (unknown fields kept, timestamps as strings, managedFields intact), so it reads raw JSON
// instead of the typed models, with @kubernetes/client-node for kubeconfig and authentication.
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from './model.ts';
import { splitApiVersion } from './object-id.ts';

export class KubeApiError extends Error {
  readonly status: number;
  readonly reason?: string;
  constructor(status: number, message: string, reason?: string) {
    super(message);
    this.name = 'KubeApiError';
    this.status = status;
    if (reason) this.reason = reason;
  }
}

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
  const kc = new KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();
  if (context) kc.setCurrentContext(context);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`kubeconfig ${kubeconfig ?? '(default)'} names no current cluster`);
  const base = new URL(cluster.server);
  // Once up front, so a broken kubeconfig fails here; then per request, as exec and OIDC
  // credentials expire and the authenticators refresh them.
  await kc.applyToHTTPSOptions({});

  async function call(method: string, path: string, body?: string, contentType?: string): Promise<unknown> {
    const tls: RequestOptions = {};
    await kc.applyToHTTPSOptions(tls);
    const url = new URL(path, base);
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise((resolvePromise, reject) => {
      const req = send(
        url,
        {
          ...tls,
          method,
          headers: { ...(tls.headers as Record<string, string> | undefined), accept: 'application/json', ...(contentType ? { 'content-type': contentType } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              parsed = undefined;
            }
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolvePromise(parsed);
            else {
              const s = parsed as { message?: string; reason?: string } | undefined;
              reject(new KubeApiError(status, `${method} ${url.pathname}: ${status} ${s?.message ?? text.slice(0, 200)}`, s?.reason));
            }
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  const discovery = new Map<string, Promise<Map<string, ResourceInfo> | undefined>>();
  function resources(apiVersion: string): Promise<Map<string, ResourceInfo> | undefined> {
    let p = discovery.get(apiVersion);
    if (!p) {
      const { group, version } = splitApiVersion(apiVersion);
      p = (call('GET', group ? `/apis/${group}/${version}` : `/api/${version}`) as Promise<{ resources?: { name: string; kind: string; namespaced: boolean }[] }>)
        .then((list) => {
          const byKind = new Map<string, ResourceInfo>();
          for (const r of list.resources ?? []) if (!r.name.includes('/')) byKind.set(r.kind, { resource: r.name, namespaced: r.namespaced });
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
    server: cluster.server,
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
      return (await call('PATCH', `${path}?${q}`, JSON.stringify(obj), 'application/apply-patch+yaml')) as KubeObject;
    },
  };
}
