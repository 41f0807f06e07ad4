// One session's connection to one upstream MCP server (stdio or Streamable HTTP). Requests the
// upstream sends (sampling, elicitation, roots) and its notifications are handed to the session,
// which relays them to the agent. A connection that dies is opened again on next use.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  type ClientCapabilities,
  type Implementation,
  type JSONRPCRequest,
  ListToolsResultSchema,
  type Notification,
  type Result,
  ResultSchema,
  type ServerCapabilities,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { UpstreamConfig } from './config.ts';
import type { ProcessBudget } from './gateway-metrics.ts';
import { fromUpstream, GATEWAY_ERRORS, ProtocolError } from './protocol-errors.ts';
import { withBearer } from './token-exchange.ts';

export interface UpstreamEvents {
  /** A request from the upstream to the client side (sampling, elicitation, roots). */
  onRequest(request: JSONRPCRequest, signal: AbortSignal): Promise<Result>;
  onNotification(notification: Notification): void;
  onClosed(): void;
}

export interface UpstreamLinkOptions {
  readonly clientInfo: Implementation;
  readonly capabilities: ClientCapabilities;
  readonly connectTimeoutMs: number;
  readonly events: UpstreamEvents;
  readonly log: (message: string) => void;
  /** Caps stdio upstream processes across all sessions. */
  readonly processes?: ProcessBudget;
  /** An HTTP upstream's bearer token for each request (token exchange); a 401 calls `refused`. */
  readonly bearer?: { token(): Promise<string>; refused(): void };
}

const STDERR_TAIL = 2_000;

/**
 * The SDK hands notifications to their handlers a microtask later but settles responses at once,
 * and forgets a request's progress handler when its response is in: a server's last progress
 * notification, read in the same chunk as its result, would be dropped. A response that arrives
 * in the same turn as a notification is therefore delivered on the next turn, after it.
 */
function keepNotificationsBeforeResponses(transport: Transport): void {
  const deliver = transport.onmessage;
  if (!deliver) return;
  let notifiedThisTurn = false;
  transport.onmessage = (message, extra) => {
    const isResponse = 'id' in message && !('method' in message);
    if (!isResponse) {
      if (!('id' in message) && !notifiedThisTurn) {
        notifiedThisTurn = true;
        setImmediate(() => {
          notifiedThisTurn = false;
        });
      }
      deliver.call(transport, message, extra);
      return;
    }
    if (notifiedThisTurn) setImmediate(() => deliver.call(transport, message, extra));
    else deliver.call(transport, message, extra);
  };
}

export class UpstreamLink {
  readonly config: UpstreamConfig;
  readonly #opts: UpstreamLinkOptions;
  #client: Client | undefined;
  #connecting: Promise<Client> | undefined;
  #stderrTail = '';
  #closedByUs = false;
  tools: readonly Tool[] = [];
  capabilities: ServerCapabilities = {};
  instructions: string | undefined;
  /** Why the last attempt to connect failed, for tools/list and error messages. */
  lastError: string | undefined;

  constructor(config: UpstreamConfig, opts: UpstreamLinkOptions) {
    this.config = config;
    this.#opts = opts;
  }

  get name(): string {
    return this.config.name;
  }

  get connected(): boolean {
    return this.#client !== undefined;
  }

  /** The live client, connecting (again) when there is none. */
  client(): Promise<Client> {
    if (this.#closedByUs)
      return Promise.reject(
        new ProtocolError(GATEWAY_ERRORS.upstreamUnavailable, `upstream ${this.name}: the session is closing`),
      );
    if (this.#client) return Promise.resolve(this.#client);
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #connect(): Promise<Client> {
    const client = new Client(this.#opts.clientInfo, { capabilities: this.#opts.capabilities });
    const events = this.#opts.events;
    client.fallbackRequestHandler = (request, extra) => events.onRequest(request, extra.signal);
    client.fallbackNotificationHandler = async (n) => events.onNotification(n);
    const release = this.#processSlot();
    client.onclose = release;
    const transport = this.#transport();
    try {
      await client.connect(transport, { timeout: this.#opts.connectTimeoutMs });
    } catch (e) {
      release();
      const stderr = this.#stderrTail.trim();
      this.lastError = `${(e as Error).message}${stderr ? ` (stderr: ${stderr.split('\n').slice(-3).join(' | ')})` : ''}`;
      await client.close().catch(() => undefined);
      throw new ProtocolError(
        GATEWAY_ERRORS.upstreamUnavailable,
        `upstream ${this.name} is unavailable: ${this.lastError}`,
      );
    }
    this.lastError = undefined;
    keepNotificationsBeforeResponses(transport);
    this.capabilities = client.getServerCapabilities() ?? {};
    this.instructions = client.getInstructions();
    client.onclose = () => {
      release();
      if (this.#client !== client) return;
      this.#client = undefined;
      if (!this.#closedByUs) {
        this.#opts.log(`upstream ${this.name} closed the connection`);
        events.onClosed();
      }
    };
    this.#client = client;
    if (this.capabilities.tools) this.tools = await this.#listAllTools(client);
    return client;
  }

  /** Takes a process slot for a stdio upstream; the function returned gives it back (once). */
  #processSlot(): () => void {
    const budget = this.#opts.processes;
    if (!budget || this.config.transport.kind !== 'stdio') return () => undefined;
    if (!budget.tryAcquire())
      throw new ProtocolError(
        GATEWAY_ERRORS.overloaded,
        `upstream ${this.name}: the gateway runs its limit of ${budget.limit} upstream processes (limits.maxUpstreamProcesses); retry later`,
      );
    let held = true;
    return () => {
      if (held) budget.release();
      held = false;
    };
  }

  #transport(): Transport {
    const t = this.config.transport;
    const bearer = this.#opts.bearer;
    if (t.kind === 'http')
      return new StreamableHTTPClientTransport(new URL(t.url), {
        requestInit: { headers: { ...t.headers } },
        ...(bearer
          ? {
              fetch: withBearer(
                () => bearer.token(),
                () => bearer.refused(),
              ),
            }
          : {}),
      });
    const stdio = new StdioClientTransport({
      command: t.command,
      args: [...t.args],
      env: { ...getDefaultEnvironment(), ...t.env },
      cwd: t.cwd,
      stderr: 'pipe',
    });
    stdio.stderr?.on('data', (chunk: Buffer) => {
      this.#stderrTail = (this.#stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    return stdio;
  }

  async #listAllTools(client: Client): Promise<Tool[]> {
    const tools: Tool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.request(
        { method: 'tools/list', params: cursor ? { cursor } : {} },
        ListToolsResultSchema,
        { timeout: this.#opts.connectTimeoutMs },
      );
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
    return tools;
  }

  async refreshTools(): Promise<void> {
    const client = await this.client();
    if (this.capabilities.tools) this.tools = await this.#listAllTools(client);
  }

  /** Forwards one request; failures come back as the JSON-RPC error the agent should see. */
  async request(
    request: { method: string; params?: Record<string, unknown> },
    options: RequestOptions,
  ): Promise<Result> {
    const client = await this.client();
    try {
      return await client.request(request as never, ResultSchema, options);
    } catch (e) {
      throw fromUpstream(this.name, e);
    }
  }

  async notify(notification: Notification): Promise<void> {
    if (!this.#client) return;
    await this.#client.notification(notification as never).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.#closedByUs = true;
    const client = this.#client ?? (await this.#connecting?.catch(() => undefined));
    this.#client = undefined;
    if (!client) return;
    const transport = client.transport;
    // Say goodbye to an HTTP upstream so it can drop its session at once.
    if (transport instanceof StreamableHTTPClientTransport) await transport.terminateSession().catch(() => undefined);
    await client.close().catch(() => undefined);
  }
}
