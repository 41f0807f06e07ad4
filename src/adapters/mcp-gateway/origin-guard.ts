// DNS-rebinding protection, required of MCP servers: a web page that resolves its own name to the
// gateway's address sends that name as Host and its own origin as Origin. Both are checked against
// allow-lists before anything else, with safe defaults when none is configured: loopback names and
// the configured resource's host; no foreign Origin (browsers send one; MCP clients outside a
// browser send none; a page of the gateway's own origin is same-origin).
import type { GatewayConfig } from './config.ts';

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];

export type GuardVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

function hostname(host: string): string {
  return host.replace(/:\d+$/, '');
}

export class OriginGuard {
  readonly #hosts: readonly string[];
  readonly #origins: ReadonlySet<string>;

  constructor(config: Pick<GatewayConfig, 'listen' | 'auth'>) {
    const resourceHost = config.auth.resource ? [new URL(config.auth.resource).host] : [];
    const listenHost =
      LOOPBACK.includes(config.listen.host) || config.listen.host === '0.0.0.0' || config.listen.host === '::'
        ? []
        : [config.listen.host];
    this.#hosts = (config.listen.allowedHosts ?? [...LOOPBACK, ...resourceHost, ...listenHost]).map((h) =>
      h.toLowerCase(),
    );
    this.#origins = new Set(config.listen.allowedOrigins.map((o) => o.toLowerCase().replace(/\/+$/, '')));
  }

  /** An entry with a port must match exactly; one without matches the name on any port. */
  #hostAllowed(host: string): boolean {
    const h = host.toLowerCase();
    return this.#hosts.some((a) => a === '*' || a === h || (!/:\d+$/.test(a) && a === hostname(h)));
  }

  check(host: string | undefined, origin: string | undefined): GuardVerdict {
    if (host === undefined || !this.#hostAllowed(host))
      return { ok: false, reason: `Host ${JSON.stringify(host ?? '')} is not allowed (listen.allowedHosts)` };
    if (origin === undefined) return { ok: true };
    const o = origin.toLowerCase().replace(/\/+$/, '');
    if (this.#origins.has(o)) return { ok: true };
    let sameOrigin = false;
    try {
      sameOrigin = new URL(o).host === host.toLowerCase();
    } catch {}
    return sameOrigin
      ? { ok: true }
      : { ok: false, reason: `Origin ${JSON.stringify(origin)} is not allowed (listen.allowedOrigins)` };
  }
}
