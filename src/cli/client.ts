// The CLI's HTTP client for the Tether API: HTTPS with Tether's CA, a bearer token.
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { UsageError } from './output.ts';

export interface ClientOptions {
  server?: string;
  token?: string;
  ca?: string;
  dataDir?: string;
}

export interface ApiClient {
  get<T = unknown>(path: string): Promise<T>;
  post<T = unknown>(path: string, body: unknown): Promise<T>;
}

export function apiClient(opts: ClientOptions): ApiClient {
  const dataDir = opts.dataDir ?? process.env.TETHER_DATA_DIR ?? '.tether';
  const server = new URL(opts.server ?? process.env.TETHER_SERVER ?? 'https://127.0.0.1:8443');
  const tokenFile = join(dataDir, 'admin-token');
  const token =
    opts.token ??
    process.env.TETHER_TOKEN ??
    (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : undefined);
  if (!token) throw new UsageError(`no token: pass --token, set TETHER_TOKEN, or run where ${tokenFile} exists`);
  const caFile = opts.ca ?? process.env.TETHER_CA ?? join(dataDir, 'tls', 'ca.crt');
  const ca = existsSync(caFile) ? readFileSync(caFile) : undefined;
  const call = <T>(method: string, path: string, body?: unknown) =>
    new Promise<T>((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = request(
        new URL(path, server),
        {
          method,
          ca,
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/json',
            ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}),
          },
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = text;
            }
            if ((res.statusCode ?? 500) >= 400) {
              const msg = (json as { message?: string } | undefined)?.message ?? text;
              reject(new UsageError(`${method} ${path}: ${res.statusCode} ${msg}`, 1));
            } else resolve(json as T);
          });
        },
      );
      req.on('error', (e: NodeJS.ErrnoException) =>
        reject(new UsageError(`cannot reach Tether at ${server.origin}: ${e.code ?? e.message}`, 1)),
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end(data);
    });
  return { get: (p) => call('GET', p), post: (p, b) => call('POST', p, b) };
}
