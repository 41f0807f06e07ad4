// One agent's MCP session through the gateway: a low-level SDK Server facing the agent, one SDK
// Client per upstream, and everything in between relayed as it is (resources, prompts, completion,
// logging, progress, cancellation, sampling, elicitation, roots) except tools, which are listed
// per agent and governed per call.
import { performance } from 'node:perf_hooks';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  type ClientCapabilities,
  ErrorCode,
  type Implementation,
  type JSONRPCRequest,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  type Notification,
  type Progress,
  type RequestId,
  type Result,
  ResultSchema,
  type ServerCapabilities,
  type ServerNotification,
  type ServerRequest,
  SetLevelRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { TRACEPARENT_ANNOTATION, traceToolCall, traceUpstreamCall } from '../../common/tracing.ts';
import { APPROVAL_KEY, CHAIN_KEY, INTENT_KEY } from '../shared/context-carriers.ts';
import type { CallRecorder, GatewayLog } from './call-recorder.ts';
import { type GatewayGovernor, type Governed, governToolCall } from './call-governance.ts';
import type { Caller } from './caller-identity.ts';
import { BAGGAGE_KEY, TRACEPARENT_KEY } from './chain-propagation.ts';
import type { GatewayConfig, UpstreamConfig } from './config.ts';
import type { GatewayMetrics, ProcessBudget } from './gateway-metrics.ts';
import type { KindResolver } from './kinds.ts';
import { manifestArguments, stampAnnotations } from './manifest-context.ts';
import { mergedPage, type PageSource } from './merged-pages.ts';
import { ProtocolError } from './protocol-errors.ts';
import { withDecisionMeta } from './refusal-results.ts';
import { buildCatalog, type CatalogEntry, type ToolCatalog } from './tool-catalog.ts';
import { audienceFor, visibleTo } from './tool-visibility.ts';
import type { SharedUpstreams } from './shared-upstreams.ts';
import { offersToolTasks, refusalAsError, TASK_CAPABILITY, TASK_METHODS, TaskRelay } from './task-relay.ts';
import { CallerCredential, TokenExchangeFailed, type TokenExchanger } from './token-exchange.ts';
import { UpstreamLink, type UpstreamLinkOptions } from './upstream-link.ts';

/** An upstream that does not complete its handshake by then is reported unavailable; the session opens without it. */
const CONNECT_TIMEOUT_MS = 30_000;

export const GATEWAY_INFO: Implementation = {
  name: 'tether-gateway',
  title: 'Tether MCP governance gateway',
  version: '0.1.0',
};

export interface SessionDeps {
  readonly config: GatewayConfig;
  readonly governor: GatewayGovernor;
  readonly kinds: KindResolver;
  readonly recorder: CallRecorder;
  readonly log: GatewayLog;
  /** Caps stdio upstream processes across sessions. */
  readonly processes?: ProcessBudget;
  /** Where servers configured `shared: true` are connected once for all sessions. */
  readonly shared?: SharedUpstreams;
  readonly metrics?: GatewayMetrics;
  /** Mints the tokens of servers configured with `http.tokenExchange`. */
  readonly exchanger?: TokenExchanger;
}

/** What the agent said about itself in `initialize`: the upstreams are offered the same. */
export interface ClientHello {
  readonly capabilities: ClientCapabilities;
  readonly clientInfo?: Implementation;
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** A tools/call's params as the SDK hands them over. */
interface ToolCallParams {
  name: string;
  arguments?: Record<string, unknown>;
  _meta?: Record<string, unknown>;
  task?: Record<string, unknown>;
}

/** `_meta` keys that are Tether's own or the SDK's per-hop bookkeeping: never forwarded as received. */
const HOP_META = new Set(['progressToken', INTENT_KEY, APPROVAL_KEY, CHAIN_KEY, TRACEPARENT_KEY, BAGGAGE_KEY]);

function onwardMeta(meta: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta ?? {})) if (!HOP_META.has(k)) out[k] = v;
  return out;
}

/** For a server with `http.tokenExchange`: each request's token, exchanged for the caller's (fails closed). */
function exchangedBearer(
  exchanger: TokenExchanger | undefined,
  credential: CallerCredential,
  config: UpstreamConfig,
): UpstreamLinkOptions['bearer'] {
  const target = config.transport.kind === 'http' ? config.transport.tokenExchange : undefined;
  if (!target) return undefined;
  return {
    token: () =>
      exchanger
        ? exchanger.tokenFor(credential, target)
        : Promise.reject(new TokenExchangeFailed('token exchange is not set up in this gateway')),
    refused: () => exchanger?.forget(credential, target),
  };
}

/** The client capabilities an upstream may rely on: only those the agent itself has. */
function mirroredCapabilities(c: ClientCapabilities): ClientCapabilities {
  const out: ClientCapabilities = {};
  if (c.sampling) out.sampling = c.sampling;
  if (c.elicitation) out.elicitation = c.elicitation;
  if (c.roots) out.roots = c.roots;
  return out;
}

export class GatewaySession {
  readonly caller: Caller;
  readonly server: Server;
  readonly #deps: SessionDeps;
  readonly #links: readonly UpstreamLink[];
  readonly #byName: ReadonlyMap<string, UpstreamLink>;
  #catalog: ToolCatalog | undefined;
  /** Agent requests in flight per upstream: an upstream's own request (sampling…) travels on the newest one's stream. */
  readonly #inflight = new Map<string, RequestId[]>();
  readonly #resourceOwner = new Map<string, string>();
  readonly #promptOwner = new Map<string, { server: string; name: string }>();
  readonly #tasks = new TaskRelay();
  #closed = false;
  #leaveShared: (() => void) | undefined;
  readonly #credential: CallerCredential;
  label = 'session';

  private constructor(
    deps: SessionDeps,
    caller: Caller,
    credential: CallerCredential,
    links: UpstreamLink[],
    server: Server,
  ) {
    this.#deps = deps;
    this.caller = caller;
    this.#credential = credential;
    this.#links = links;
    this.#byName = new Map(links.map((l) => [l.name, l]));
    this.server = server;
  }

  /**
   * Connects every upstream (those that fail are reported and retried later), then builds the
   * agent-facing server. `token`: the caller's bearer token, for servers whose tokens are exchanged.
   */
  static async open(deps: SessionDeps, caller: Caller, hello: ClientHello, token?: string): Promise<GatewaySession> {
    let session: GatewaySession | undefined;
    const credential = new CallerCredential(caller, token);
    const links = deps.config.servers.map((config) =>
      config.shared && deps.shared
        ? deps.shared.link(config)
        : new UpstreamLink(config, {
            clientInfo: { ...GATEWAY_INFO, title: `Tether gateway for ${hello.clientInfo?.name ?? 'an agent'}` },
            capabilities: mirroredCapabilities(hello.capabilities),
            connectTimeoutMs: Math.min(CONNECT_TIMEOUT_MS, deps.config.limits.callTimeoutMs),
            log: (m) => deps.log.warn(m),
            processes: deps.processes,
            bearer: exchangedBearer(deps.exchanger, credential, config),
            events: {
              onRequest: (request, signal) => (session as GatewaySession).#relayRequest(config.name, request, signal),
              onNotification: (n) => (session as GatewaySession).#relayNotification(config.name, n),
              onClosed: () => undefined,
            },
          }),
    );
    await Promise.all(links.map((l) => l.client().catch((e: unknown) => deps.log.warn((e as Error).message))));
    const server = new Server(GATEWAY_INFO, {
      capabilities: unionCapabilities(links),
      instructions: joinedInstructions(links),
    });
    session = new GatewaySession(deps, caller, credential, links, server);
    const s = session;
    s.#leaveShared = deps.shared?.join({ onSharedNotification: (_name, n) => s.#relaySharedNotification(n) });
    session.#install();
    return session;
  }

  /** A later request of the same caller: its (possibly renewed) token is what is exchanged from now on. */
  presented(caller: Caller, token: string | undefined): void {
    this.#credential.presented(caller, token);
  }

  async connect(transport: Transport): Promise<void> {
    await this.server.connect(transport);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#leaveShared?.();
    // Shared upstreams outlive the session; its own are closed with it.
    await Promise.all(this.#links.filter((l) => !(l.config.shared && this.#deps.shared)).map((l) => l.close()));
    await this.server.close().catch(() => undefined);
  }

  #install(): void {
    const s = this.server;
    s.setRequestHandler(ListToolsRequestSchema, () => this.#listTools());
    s.setRequestHandler(CallToolRequestSchema, (req, extra) =>
      traceToolCall(
        { tool: req.params.name, requestId: extra.requestId, sessionId: extra.sessionId, meta: req.params._meta },
        () => this.#callTool(req.params, extra),
      ),
    );
    if (this.#links.some((l) => l.capabilities.resources)) {
      s.setRequestHandler(ListResourcesRequestSchema, (req) =>
        this.#merged('resources/list', 'resources', req.params?.cursor, 'resources'),
      );
      s.setRequestHandler(ListResourceTemplatesRequestSchema, (req) =>
        this.#merged('resources/templates/list', 'resourceTemplates', req.params?.cursor, 'resources'),
      );
    }
    if (this.#links.some((l) => l.capabilities.prompts)) {
      s.setRequestHandler(ListPromptsRequestSchema, (req) =>
        this.#merged('prompts/list', 'prompts', req.params?.cursor, 'prompts'),
      );
    }
    if (this.#links.some((l) => l.capabilities.logging)) {
      // Replaces the SDK's own level bookkeeping: each upstream filters its own log messages.
      s.setRequestHandler(SetLevelRequestSchema, async (req) => {
        await Promise.all(
          this.#links
            .filter((l) => l.capabilities.logging && l.connected)
            .map((l) => l.request({ method: 'logging/setLevel', params: req.params }, {}).catch(() => undefined)),
        );
        return {};
      });
    }
    s.fallbackRequestHandler = (request, extra) => this.#relayToOwner(request, extra);
    s.fallbackNotificationHandler = async (n) => {
      if (n.method === 'notifications/roots/list_changed') await Promise.all(this.#links.map((l) => l.notify(n)));
    };
  }

  // ── tools ──────────────────────────────────────────────────────────────────────────────

  async #ensureCatalog(): Promise<ToolCatalog> {
    const stale = this.#links.filter((l) => !l.connected);
    if (stale.length > 0) {
      await Promise.all(
        stale.map((l) =>
          l
            .client()
            .then(() => (this.#catalog = undefined))
            .catch(() => undefined),
        ),
      );
    }
    this.#catalog ??= buildCatalog(
      this.#links
        .filter((l) => l.connected || l.tools.length > 0)
        .map((l) => ({ config: l.config, tools: l.tools, tasks: offersToolTasks(l.capabilities) })),
      (m) => this.#deps.log.warn(m),
    );
    return this.#catalog;
  }

  /** An unknown tool may be one of an upstream that cannot be reached: say which, and why. */
  #downNote(): string {
    const down = this.#links.filter((l) => !l.connected && l.lastError !== undefined);
    return down.length === 0
      ? ''
      : ` (unreachable now: ${down.map((l) => `upstream ${l.name}: ${l.lastError}`).join('; ')})`;
  }

  async #listTools(): Promise<Result> {
    const catalog = await this.#ensureCatalog();
    const audience = audienceFor(this.caller.subject, this.#deps.governor.policy);
    return {
      tools: catalog.entries
        .filter((e) => visibleTo(audience, e.effect, e.server, e.upstreamName, this.#deps.kinds))
        .map((e) => e.listed),
    };
  }

  async #callTool(params: ToolCallParams, extra: Extra): Promise<CallToolResult> {
    const started = performance.now();
    const entry = await this.#catalogEntry(params.name);
    const link = this.#byName.get(entry.server) as UpstreamLink;
    if (params.task && !offersToolTasks(link.capabilities))
      throw new ProtocolError(ErrorCode.InvalidParams, `${params.name} does not run as a task`);
    const governed = await governToolCall(
      {
        caller: this.caller,
        entry,
        args: params.arguments ?? {},
        meta: params._meta,
        requestId: `${this.label}/${String(extra.requestId)}`,
        defaultNamespace: link.config.defaultNamespace,
        kinds: this.#deps.kinds,
      },
      this.#deps.governor,
    );
    if (governed.kind === 'answer') {
      this.#deps.recorder.record(governed.record, { status: governed.status, latencyMs: performance.now() - started });
      if (params.task) throw refusalAsError(governed.result);
      return governed.result;
    }
    return this.#relayGoverned({ params, extra, entry, link, governed, started });
  }

  /** The tool's catalog entry; an unknown name refreshes the catalog once (the upstream may have added it). */
  async #catalogEntry(name: string): Promise<CatalogEntry> {
    const entry = (await this.#ensureCatalog()).get(name);
    if (entry) return entry;
    this.#catalog = undefined;
    const refreshed = (await this.#ensureCatalog()).get(name);
    if (!refreshed) throw new ProtocolError(ErrorCode.InvalidParams, `Unknown tool: ${name}${this.#downNote()}`);
    return refreshed;
  }

  /** Sends a call the Governor let through and records how it ended (a task's result is recorded when fetched). */
  async #relayGoverned(call: {
    params: ToolCallParams;
    extra: Extra;
    entry: CatalogEntry;
    link: UpstreamLink;
    governed: Extract<Governed, { kind: 'forward' }>;
    started: number;
  }): Promise<CallToolResult> {
    const { params, extra, entry, link, governed, started } = call;
    const upstreamStarted = performance.now();
    // What the gateway itself added before the call went out: catalog, translation, the decision durably recorded.
    this.#deps.metrics?.governanceSeconds.observe((upstreamStarted - started) / 1000);
    try {
      // With tracing on, the upstream call's span travels in _meta and on the objects it writes (for admission).
      const result = (await traceUpstreamCall(entry.server, entry.upstreamName, (tp) =>
        this.#forward(link, extra, {
          method: 'tools/call',
          params: {
            name: entry.upstreamName,
            arguments: tp.traceparent
              ? stampAnnotations(governed.args, manifestArguments(entry.effect), {
                  [TRACEPARENT_ANNOTATION]: tp.traceparent,
                })
              : governed.args,
            _meta: { ...onwardMeta(params._meta), ...governed.chainMeta, ...tp },
            ...(params.task ? { task: params.task } : {}),
          },
        }),
      )) as CallToolResult;
      const now = this.#upstreamTook(entry.server, upstreamStarted);
      if (params.task) {
        this.#tasks.created(result, link, governed.record, started);
        return result;
      }
      const status = result.isError ? 'tool-error' : 'ok';
      this.#deps.recorder.record(governed.record, {
        status,
        latencyMs: now - started,
        upstreamMs: now - upstreamStarted,
      });
      return withDecisionMeta(result, governed.decided);
    } catch (e) {
      const now = this.#upstreamTook(entry.server, upstreamStarted);
      this.#deps.recorder.record(governed.record, {
        status: extra.signal.aborted ? 'cancelled' : 'protocol-error',
        latencyMs: now - started,
        upstreamMs: now - upstreamStarted,
        error: (e as Error).message,
      });
      throw e;
    }
  }

  /** Observes the upstream's part of a call (until its answer or failure); returns the time it ended. */
  #upstreamTook(server: string, since: number): number {
    const now = performance.now();
    this.#deps.metrics?.upstreamSeconds.observe({ server }, (now - since) / 1000);
    return now;
  }

  /**
   * Sends one agent request to an upstream with what travels with it: cancellation (the agent's
   * abort becomes the upstream's notifications/cancelled), progress (relayed under the agent's
   * own token) and the call timeout, reset by progress.
   */
  async #forward(
    link: UpstreamLink,
    extra: Extra,
    request: { method: string; params: Record<string, unknown> },
  ): Promise<Result> {
    const progressToken = extra._meta?.progressToken;
    // Progress is relayed in order and before the result: the agent's SDK forgets the progress
    // handler once the result is in, so a notification overtaken by the result would be lost.
    let relayed: Promise<unknown> = Promise.resolve();
    const onprogress =
      progressToken === undefined
        ? undefined
        : (p: Progress) => {
            relayed = relayed.then(() =>
              extra
                .sendNotification({ method: 'notifications/progress', params: { ...p, progressToken } })
                .catch(() => undefined),
            );
          };
    const list = this.#inflight.get(link.name) ?? [];
    list.push(extra.requestId);
    this.#inflight.set(link.name, list);
    try {
      const result = await link.request(request, {
        signal: extra.signal,
        timeout: this.#deps.config.limits.callTimeoutMs,
        resetTimeoutOnProgress: true,
        onprogress,
      });
      await relayed;
      return result;
    } finally {
      list.splice(list.indexOf(extra.requestId), 1);
    }
  }

  // ── everything else, relayed ───────────────────────────────────────────────────────────

  async #merged(
    method: string,
    listKey: string,
    cursor: string | undefined,
    capability: 'resources' | 'prompts',
  ): Promise<Result> {
    const sources: PageSource[] = this.#links
      .filter((l) => l.capabilities[capability])
      .map((l) => ({
        name: l.name,
        page: async (c) =>
          this.#adopt(
            l,
            listKey,
            await l.request(
              { method, params: c ? { cursor: c } : {} },
              { timeout: this.#deps.config.limits.callTimeoutMs },
            ),
          ),
      }));
    return mergedPage(sources, listKey, cursor, (name, e) =>
      this.#deps.log.warn(`${method} from upstream ${name} failed: ${(e as Error).message}`),
    );
  }

  /** Notes who owns what a page lists (for routing reads and gets), and gives prompts the server's prefix. */
  #adopt(link: UpstreamLink, listKey: string, page: Result): Result & { nextCursor?: string } {
    const items = ((page as Record<string, unknown>)[listKey] ?? []) as Record<string, unknown>[];
    if (listKey === 'resources')
      for (const r of items) if (typeof r.uri === 'string') this.#resourceOwner.set(r.uri, link.name);
    if (listKey !== 'prompts') return page;
    const prompts = items.map((p) => {
      if (typeof p.name !== 'string') return p;
      const exposed = `${link.config.toolPrefix ?? ''}${p.name}`;
      // The first server in configuration order keeps a prompt name two servers share.
      const owner = this.#promptOwner.get(exposed);
      if (!owner || owner.server === link.name) this.#promptOwner.set(exposed, { server: link.name, name: p.name });
      return { ...p, name: exposed };
    });
    return { ...page, prompts };
  }

  /** Requests routed by what they name: a resource URI, a prompt, a completion reference. */
  async #relayToOwner(request: JSONRPCRequest, extra: Extra): Promise<Result> {
    const params = (request.params ?? {}) as Record<string, unknown>;
    const forward = (link: UpstreamLink, p: Record<string, unknown> = params) =>
      this.#forward(link, extra, { method: request.method, params: p });
    switch (request.method) {
      case 'resources/read':
      case 'resources/subscribe':
      case 'resources/unsubscribe':
        return this.#toResourceOwner(String(params.uri), (l) => forward(l));
      case 'prompts/get': {
        const owner = await this.#promptFor(String(params.name));
        return forward(this.#byName.get(owner.server) as UpstreamLink, { ...params, name: owner.name });
      }
      case 'completion/complete': {
        const ref = (params.ref ?? {}) as { type?: string; name?: string; uri?: string };
        if (ref.type === 'ref/prompt' && typeof ref.name === 'string') {
          const owner = await this.#promptFor(ref.name);
          return forward(this.#byName.get(owner.server) as UpstreamLink, {
            ...params,
            ref: { ...ref, name: owner.name },
          });
        }
        return this.#toResourceOwner(String(ref.uri), (l) => forward(l), 'completions');
      }
      default:
        if (TASK_METHODS.has(request.method)) return this.#relayTask(request.method, params, extra);
        throw new ProtocolError(ErrorCode.MethodNotFound, `Method not found: ${request.method}`);
    }
  }

  async #relayTask(method: string, params: Record<string, unknown>, extra: Extra): Promise<Result> {
    if (method === 'tasks/list')
      return this.#tasks.list(this.#links, (l) => this.#forward(l, extra, { method, params: {} }));
    const task = this.#tasks.own(params);
    if (method !== 'tasks/result' || task.recorded) return this.#forward(task.link, extra, { method, params });
    const record = (status: 'ok' | 'tool-error' | 'protocol-error', error?: string) => {
      if (task.recorded) return;
      task.recorded = true;
      this.#deps.recorder.record(task.record, { status, latencyMs: performance.now() - task.started, error });
    };
    try {
      const result = (await this.#forward(task.link, extra, { method, params })) as CallToolResult;
      record(result.isError ? 'tool-error' : 'ok');
      return result;
    } catch (e) {
      record('protocol-error', (e as Error).message);
      throw e;
    }
  }

  async #promptFor(name: string): Promise<{ server: string; name: string }> {
    if (!this.#promptOwner.has(name)) {
      let cursor: string | undefined;
      do
        cursor = ((await this.#merged('prompts/list', 'prompts', cursor, 'prompts')) as { nextCursor?: string })
          .nextCursor;
      while (cursor && !this.#promptOwner.has(name));
    }
    const owner = this.#promptOwner.get(name);
    if (!owner) throw new ProtocolError(ErrorCode.InvalidParams, `Unknown prompt: ${name}`);
    return owner;
  }

  /** The upstream that listed the URI; otherwise each that serves resources, in order, until one answers. */
  async #toResourceOwner(
    uri: string,
    send: (l: UpstreamLink) => Promise<Result>,
    capability: 'resources' | 'completions' = 'resources',
  ): Promise<Result> {
    const owner = this.#resourceOwner.get(uri);
    if (owner) return send(this.#byName.get(owner) as UpstreamLink);
    const candidates = this.#links.filter((l) => l.capabilities[capability]);
    if (candidates.length === 0) throw new ProtocolError(ErrorCode.MethodNotFound, 'no upstream serves resources');
    let last: unknown;
    for (const l of candidates) {
      try {
        return await send(l);
      } catch (e) {
        last = e;
      }
    }
    throw last;
  }

  // ── from the upstreams to the agent ────────────────────────────────────────────────────

  #relatedRequest(server: string): RequestId | undefined {
    const list = this.#inflight.get(server);
    return list && list.length > 0 ? list[list.length - 1] : undefined;
  }

  async #relayRequest(server: string, request: JSONRPCRequest, signal: AbortSignal): Promise<Result> {
    if (this.#closed) throw new ProtocolError(ErrorCode.ConnectionClosed, 'the agent has gone');
    return this.server.request({ method: request.method, params: request.params } as ServerRequest, ResultSchema, {
      signal,
      timeout: this.#deps.config.limits.callTimeoutMs,
      relatedRequestId: this.#relatedRequest(server),
    });
  }

  /** A shared upstream's notification: its tools are refreshed once by whoever lists them next. */
  #relaySharedNotification(n: Notification): void {
    if (this.#closed) return;
    if (n.method === 'notifications/tools/list_changed') this.#catalog = undefined;
    void this.server.notification(n as ServerNotification).catch(() => undefined);
  }

  #relayNotification(server: string, n: Notification): void {
    if (this.#closed) return;
    const send = (notification: Notification) =>
      this.server
        .notification(notification as ServerNotification, { relatedRequestId: this.#relatedRequest(server) })
        .catch(() => undefined);
    if (n.method === 'notifications/tools/list_changed') {
      const link = this.#byName.get(server);
      void link
        ?.refreshTools()
        .then(() => {
          this.#catalog = undefined;
          return send(n);
        })
        .catch((e: unknown) =>
          this.#deps.log.warn(`could not refresh the tools of ${server}: ${(e as Error).message}`),
        );
      return;
    }
    void send(n);
  }
}

function unionCapabilities(links: readonly UpstreamLink[]): ServerCapabilities {
  const caps: ServerCapabilities = { tools: { listChanged: true } };
  const any = (f: (c: ServerCapabilities) => unknown) => links.some((l) => f(l.capabilities));
  if (any((c) => c.resources))
    caps.resources = { listChanged: true, ...(any((c) => c.resources?.subscribe) ? { subscribe: true } : {}) };
  if (any((c) => c.prompts)) caps.prompts = { listChanged: true };
  if (any((c) => c.logging)) caps.logging = {};
  if (any((c) => c.completions)) caps.completions = {};
  if (any(offersToolTasks)) (caps as Record<string, unknown>).tasks = TASK_CAPABILITY;
  return caps;
}

function joinedInstructions(links: readonly UpstreamLink[]): string | undefined {
  const parts = links.filter((l) => l.instructions).map((l) => `[${l.name}] ${l.instructions}`);
  return parts.length > 0 ? parts.join('\n\n') : undefined;
}
