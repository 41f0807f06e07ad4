import { request } from 'node:https';

export interface HttpsResponse<T = unknown> {
  readonly status: number;
  readonly body: T;
  readonly text: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** One HTTPS request trusting `ca`: real TLS, as the API server and the CLI talk to Tether. */
export function https<T = unknown>(
  url: string,
  opts: {
    ca: string;
    method?: string;
    body?: unknown;
    raw?: string | Buffer;
    token?: string;
    headers?: Record<string, string>;
    cert?: string;
    key?: string;
  },
): Promise<HttpsResponse<T>> {
  return new Promise((resolve, reject) => {
    const data =
      opts.raw !== undefined
        ? Buffer.from(opts.raw)
        : opts.body !== undefined
          ? Buffer.from(JSON.stringify(opts.body))
          : undefined;
    const req = request(
      url,
      {
        method: opts.method ?? (data ? 'POST' : 'GET'),
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        headers: {
          ...(data ? { 'content-type': 'application/json', 'content-length': String(data.length) } : {}),
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode ?? 0, body: body as T, text, headers: res.headers });
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}
