// The one Kubernetes client for cluster reads (and drift's server-side apply): plain JSON exactly
// as the API serves it (no client-model conversion), over one keep-alive pool, with
// @kubernetes/client-node only for the kubeconfig and authentication. Lists page by page across all
// namespaces; a resource that cannot be listed (forbidden, not served) becomes a problem, not a
// failure, so callers can say what they could not see.
import { request as httpRequest } from 'node:http';
import { Agent, request, type RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import type { DumpProblem, KubeObject, LocatedObject } from './object-dump.ts';

export interface ApiResource {
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  /** Plural resource name, e.g. clusterroles. */
  readonly resource: string;
  readonly kind: string;
  readonly fieldSelector?: string;
}

export interface ClusterListing {
  readonly server: string;
  readonly objects: LocatedObject[];
  readonly problems: DumpProblem[];
  /** Resources listed completely. */
  readonly listed: ApiResource[];
}

export function loadKubeConfig(path?: string, context?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  if (context) kc.setCurrentContext(context);
  if (!kc.getCurrentCluster())
    throw new Error(
      `kubeconfig${path ? ` ${path}` : ''} has no current cluster${context ? ` for context ${context}` : ''}`,
    );
  return kc;
}

export function resourcePath(r: ApiResource): string {
  return r.group === '' ? `/api/${r.version}/${r.resource}` : `/apis/${r.group}/${r.version}/${r.resource}`;
}

export class ApiError extends Error {
  readonly status: number;
  /** The Status reason (NotFound, Forbidden, Conflict…), when the API server gave one. */
  readonly reason?: string;
  constructor(status: number, message: string, reason?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    if (reason) this.reason = reason;
  }
}

export interface KubeClient {
  readonly server: string;
  /** One request with the kubeconfig's credentials; resolves with the parsed JSON body, rejects with ApiError on a non-2xx status. */
  request(method: string, path: string, body?: unknown, contentType?: string): Promise<unknown>;
}

// Credentials (exec plugins, token files) are re-read this often, so a long run keeps working.
const CREDENTIALS_TTL_MS = 60_000;

/** A client that reuses one keep-alive connection pool, so thousands of requests do not each pay a TLS handshake. */
export function kubeClient(kc: KubeConfig): KubeClient {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  let base: Promise<RequestOptions> | undefined;
  let baseAt = 0;
  const options = (): Promise<RequestOptions> => {
    if (!base || Date.now() - baseAt > CREDENTIALS_TTL_MS) {
      baseAt = Date.now();
      base = (async () => {
        const o: RequestOptions = { headers: {} };
        await kc.applyToHTTPSOptions(o);
        // A proxy agent from the kubeconfig stays; otherwise pool connections (plain http needs none).
        if (!cluster.proxyUrl && !cluster.server.startsWith('http:')) {
          o.agent = new Agent({
            ca: o.ca,
            cert: o.cert,
            key: o.key,
            pfx: o.pfx,
            passphrase: o.passphrase,
            servername: o.servername,
            rejectUnauthorized: o.rejectUnauthorized,
            keepAlive: true,
            maxSockets: 64,
          });
        }
        return o;
      })();
    }
    return base;
  };
  return {
    server: cluster.server,
    async request(method, path, body, contentType = 'application/json') {
      const o = await options();
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers: Record<string, string> = { ...(o.headers as Record<string, string>), Accept: 'application/json' };
      if (payload !== undefined) headers['Content-Type'] = contentType;
      return new Promise((resolve, reject) => {
        const url = new URL(path, cluster.server);
        const send = url.protocol === 'http:' ? httpRequest : request;
        const req = send(url, { ...o, method, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300) {
              let parsed: { message?: string; reason?: string } = {};
              try {
                parsed = JSON.parse(text) as { message?: string; reason?: string };
              } catch {}
              reject(
                new ApiError(
                  status,
                  `${method} ${url.pathname}: ${status} ${parsed.message ?? text.slice(0, 200)}`,
                  parsed.reason,
                ),
              );
              return;
            }
            try {
              resolve(text === '' ? undefined : JSON.parse(text));
            } catch (e) {
              reject(new Error(`${method} ${path}: response is not JSON: ${(e as Error).message}`));
            }
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        if (payload !== undefined) req.write(payload);
        req.end();
      });
    },
  };
}

// Secret payloads are never needed by a reader of cluster structure, and must not linger in memory
// or reach a report; managedFields are bulky and irrelevant here.
function trim(o: KubeObject): KubeObject {
  const { managedFields: _mf, ...metadata } = o.metadata ?? {};
  if (o.kind === 'Secret') {
    const { data: _d, stringData: _s, ...rest } = o as KubeObject & { data?: unknown; stringData?: unknown };
    return { ...rest, metadata };
  }
  return { ...o, metadata };
}

/** Lists every object of each resource across all namespaces, paginated. */
export async function listClusterObjects(
  kc: KubeConfig | KubeClient,
  resources: readonly ApiResource[],
  opts: { pageSize?: number } = {},
): Promise<ClusterListing> {
  const client = kc instanceof KubeConfig ? kubeClient(kc) : kc;
  const server = client.server;
  const pageSize = opts.pageSize ?? 500;
  // Listed concurrently, reported in the order asked, so output is stable.
  const results = await Promise.all(
    resources.map(async (r): Promise<{ r: ApiResource; objects?: LocatedObject[]; problem?: DumpProblem }> => {
      const origin = `${server}${resourcePath(r)}`;
      const apiVersion = r.group === '' ? r.version : `${r.group}/${r.version}`;
      const mine: LocatedObject[] = [];
      let token: string | undefined;
      try {
        do {
          const q = new URLSearchParams({ limit: String(pageSize) });
          if (token) q.set('continue', token);
          if (r.fieldSelector) q.set('fieldSelector', r.fieldSelector);
          const page = (await client.request('GET', `${resourcePath(r)}?${q}`)) as {
            items?: KubeObject[];
            metadata?: { continue?: string };
          };
          for (const item of page.items ?? []) {
            mine.push({
              object: trim({ ...item, apiVersion: item.apiVersion ?? apiVersion, kind: item.kind ?? r.kind }),
              source: { origin, item: mine.length },
            });
          }
          token = page.metadata?.continue || undefined;
        } while (token);
        return { r, objects: mine };
      } catch (e) {
        const status = e instanceof ApiError ? e.status : 0;
        return {
          r,
          problem: {
            source: { origin },
            severity: 'error',
            code: status === 403 ? 'forbidden' : status === 404 ? 'not-served' : 'list-failed',
            message: `could not list ${r.kind} objects: ${(e as Error).message}`,
          },
        };
      }
    }),
  );
  const objects: LocatedObject[] = [];
  const problems: DumpProblem[] = [];
  const listed: ApiResource[] = [];
  for (const res of results) {
    if (res.objects) {
      for (const o of res.objects) objects.push(o);
      listed.push(res.r);
    }
    if (res.problem) problems.push(res.problem);
  }
  return { server, objects, problems, listed };
}
