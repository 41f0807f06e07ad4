// Upstream servers shared by every session (`shared: true` in the server's config): one process
// (or one HTTP session) for all agents instead of one per agent session. Only for servers that keep
// no per-client state and never ask the client anything: a shared upstream is offered no client
// capabilities (no sampling, elicitation, roots), because its requests could not be told apart by
// agent. Its notifications go to every session; progress still reaches only the caller, through
// the SDK's per-request progress tokens. Each call stays governed per session, as before.
import { ErrorCode, type Implementation, type Notification } from '@modelcontextprotocol/sdk/types.js';
import type { UpstreamConfig } from './config.ts';
import type { ProcessBudget } from './gateway-metrics.ts';
import { ProtocolError } from './protocol-errors.ts';
import { UpstreamLink } from './upstream-link.ts';

export interface SharedListener {
  onSharedNotification(server: string, notification: Notification): void;
}

export interface SharedUpstreamsOptions {
  readonly clientInfo: Implementation;
  readonly connectTimeoutMs: number;
  readonly log: (message: string) => void;
  readonly processes?: ProcessBudget;
}

export class SharedUpstreams {
  readonly #opts: SharedUpstreamsOptions;
  readonly #links = new Map<string, UpstreamLink>();
  readonly #listeners = new Set<SharedListener>();

  constructor(opts: SharedUpstreamsOptions) {
    this.#opts = opts;
  }

  /** The one link to this server, opened on first use (and again after it dies). */
  link(config: UpstreamConfig): UpstreamLink {
    let link = this.#links.get(config.name);
    if (!link) {
      link = new UpstreamLink(config, {
        clientInfo: this.#opts.clientInfo,
        capabilities: {},
        connectTimeoutMs: this.#opts.connectTimeoutMs,
        log: this.#opts.log,
        processes: this.#opts.processes,
        events: {
          onRequest: async (request) => {
            throw new ProtocolError(
              ErrorCode.MethodNotFound,
              `${request.method}: a shared upstream cannot ask an agent (configure the server without shared: true)`,
            );
          },
          onNotification: (n) => {
            const tell = () => {
              for (const l of this.#listeners) l.onSharedNotification(config.name, n);
            };
            if (n.method !== 'notifications/tools/list_changed') return tell();
            link
              ?.refreshTools()
              .then(tell)
              .catch((e: unknown) =>
                this.#opts.log(`could not refresh the tools of ${config.name}: ${(e as Error).message}`),
              );
          },
          onClosed: () => undefined,
        },
      });
      this.#links.set(config.name, link);
    }
    return link;
  }

  /** A session hears the shared upstreams' notifications until it calls the function returned. */
  join(listener: SharedListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#links.values()].map((l) => l.close()));
    this.#links.clear();
  }
}
