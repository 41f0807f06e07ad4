// The Streamable HTTP endpoint, mountable in any Fastify instance (`tether serve` at /mcp, or
// `tether gateway` on its own). Before MCP begins: Host and Origin are checked (403, DNS
// rebinding), the caller is authenticated (401 pointing at the resource metadata otherwise), the
// message size is bounded, the body must be JSON, and a session belongs to the caller that opened
// it. Every refusal is a JSON-RPC error body, so MCP clients can show it. Sessions are capped,
// reaped when idle, and keep their last messages so a dropped stream resumes (Last-Event-ID).
import { jsonDepth, MAX_JSON_DEPTH } from '../shared/json-depth.ts';
import { randomUUID } from 'node:crypto';
import { WebStandardStreamableHTTPServerTransport as StreamTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CallRecorder, GatewayLog } from './call-recorder.ts';
import { bearerToken, type Caller, type CallerAuthenticator } from './caller-identity.ts';
import type { GatewayConfig } from './config.ts';
import type { GatewayMetrics, ProcessBudget } from './gateway-metrics.ts';
import { GatewaySession, type SessionDeps } from './gateway-session.ts';
import type { OriginGuard } from './origin-guard.ts';
import { GATEWAY_ERRORS, jsonRpcErrorBody } from './protocol-errors.ts';
import { bearerChallenge, type ProtectedResource, registerResourceMetadata } from './resource-metadata.ts';
import { SessionEventStore } from './resume-events.ts';
import { sendWebResponse, webRequest } from './web-exchange.ts';

const SESSION_HEADER = 'mcp-session-id';

interface LiveSession {
  readonly session: GatewaySession;
  readonly transport: StreamTransport;
  lastActivity: number;
}

export interface HttpEndpointDeps {
  readonly config: GatewayConfig;
  readonly sessionDeps: SessionDeps;
  readonly authenticator: CallerAuthenticator;
  readonly recorder: CallRecorder;
  readonly log: GatewayLog;
  readonly clock: () => number;
  readonly guard: OriginGuard;
  readonly resource: ProtectedResource | undefined;
  readonly metrics: GatewayMetrics;
  readonly processes: ProcessBudget;
}

declare module 'fastify' {
  interface FastifyRequest {
    tetherCaller?: Caller;
  }
}

class BadJson extends Error {}

function isInitialize(body: unknown): boolean {
  const one = (m: unknown) =>
    typeof m === 'object' && m !== null && (m as { method?: unknown }).method === 'initialize';
  return Array.isArray(body) ? body.some(one) : one(body);
}

function fail(reply: FastifyReply, status: number, code: number, message: string): FastifyReply {
  return reply.code(status).type('application/json').send(jsonRpcErrorBody(code, message));
}

/** One request through the transport, its answer streamed back (see web-exchange.ts). */
async function exchange(transport: StreamTransport, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const res = await transport.handleRequest(webRequest(req.raw), { parsedBody: req.body });
  await sendWebResponse(res, reply.raw);
}

export class HttpEndpoint {
  readonly #deps: HttpEndpointDeps;
  readonly #sessions = new Map<string, LiveSession>();
  /** Sessions being opened: they count against the limit before they have an id. */
  #opening = 0;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(deps: HttpEndpointDeps) {
    this.#deps = deps;
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Registers POST, GET and DELETE on `path` inside an encapsulated plugin (its body parser and error handler stay there). */
  async register(fastify: FastifyInstance, path: string): Promise<void> {
    const limits = this.#deps.config.limits;
    registerResourceMetadata(fastify, this.#deps.resource);
    await fastify.register(async (app) => {
      app.removeAllContentTypeParsers();
      app.addContentTypeParser(
        'application/json',
        { parseAs: 'string', bodyLimit: limits.maxMessageBytes },
        (_req, body, done) => {
          // Arguments are walked recursively (digests, schemas): nesting is bounded like every other Tether body.
          if (jsonDepth(body as string) > MAX_JSON_DEPTH)
            return done(new BadJson(`the message nests deeper than ${MAX_JSON_DEPTH} levels`), undefined);
          try {
            done(null, JSON.parse(body as string));
          } catch (e) {
            done(new BadJson((e as Error).message), undefined);
          }
        },
      );
      app.addContentTypeParser('*', { bodyLimit: limits.maxMessageBytes }, (_req, _payload, done) => {
        const e = new Error('Content-Type must be application/json') as Error & { statusCode: number };
        e.statusCode = 415;
        done(e, undefined);
      });
      app.setErrorHandler((error: Error & { code?: string; statusCode?: number }, _req, reply) => {
        if (error instanceof BadJson) return fail(reply, 400, ErrorCode.ParseError, `Parse error: ${error.message}`);
        if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
          return fail(
            reply,
            413,
            GATEWAY_ERRORS.tooLarge,
            `message larger than the gateway's limit of ${limits.maxMessageBytes} bytes`,
          );
        if (error.statusCode === 415 || error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
          return fail(reply, 415, ErrorCode.InvalidRequest, 'Content-Type must be application/json');
        this.#deps.log.error(`gateway request failed: ${error.message}`);
        return fail(
          reply,
          error.statusCode && error.statusCode >= 400 ? error.statusCode : 500,
          ErrorCode.InternalError,
          'internal error',
        );
      });
      app.addHook('onRequest', async (req, reply) => {
        const origin = req.headers.origin;
        const verdict = this.#deps.guard.check(req.headers.host, typeof origin === 'string' ? origin : undefined);
        if (!verdict.ok) return fail(reply, 403, GATEWAY_ERRORS.forbidden, `Forbidden: ${verdict.reason}`);
        const auth = await this.#deps.authenticator.authenticate(req.headers.authorization, this.#deps.clock());
        if (!auth.ok) {
          if (auth.problem === 'unavailable')
            return fail(reply.header('retry-after', '10'), 503, GATEWAY_ERRORS.upstreamUnavailable, auth.reason);
          reply.header('www-authenticate', bearerChallenge(auth, this.#deps.resource));
          return fail(reply, 401, GATEWAY_ERRORS.unauthorized, `Unauthorized: ${auth.reason}`);
        }
        req.tetherCaller = auth.caller;
      });
      app.post(path, (req, reply) => this.#post(req, reply));
      app.get(path, (req, reply) => this.#existing(req, reply));
      app.delete(path, (req, reply) => this.#existing(req, reply));
    });
    const idle = limits.sessionIdleTimeoutMs;
    this.#sweeper = setInterval(() => this.#sweep(idle), Math.min(60_000, Math.max(1_000, idle / 4)));
    this.#sweeper.unref();
    fastify.addHook('onClose', async () => this.close());
  }

  async #post(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const id = req.headers[SESSION_HEADER];
    if (id === undefined) {
      if (isInitialize(req.body)) return this.#open(req, reply);
      if (this.#statelessAllowed()) return this.#stateless(req, reply);
      return fail(
        reply,
        400,
        ErrorCode.ConnectionClosed,
        'Bad Request: no session; send initialize first (without an mcp-session-id header). Requests without a session are served only when every upstream is shared or over HTTP',
      );
    }
    return this.#existing(req, reply);
  }

  /** Stateless requests start no process of their own: every upstream is shared or reached over HTTP. */
  #statelessAllowed(): boolean {
    return this.#deps.config.servers.every((s) => s.shared || s.transport.kind === 'http');
  }

  /** Whether a new session (stateful, or one request's stateless one) would pass limits.maxSessions. */
  #full(): boolean {
    return this.#sessions.size + this.#opening >= this.#deps.config.limits.maxSessions;
  }

  #refuseFull(reply: FastifyReply): unknown {
    const max = this.#deps.config.limits.maxSessions;
    this.#deps.metrics.refused.inc({ cap: 'sessions' });
    return fail(
      reply,
      503,
      GATEWAY_ERRORS.overloaded,
      `the gateway holds its limit of ${max} sessions (limits.maxSessions); retry later`,
    );
  }

  /**
   * The SDK's stateless mode: a request without a session is served by a session that lives for
   * that request only (governed like any other; no sampling, elicitation or roots, since there is
   * no stream to ask the agent on).
   */
  async #stateless(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    if (this.#full()) return this.#refuseFull(reply);
    this.#opening++;
    try {
      const session = await GatewaySession.open(
        this.#deps.sessionDeps,
        req.tetherCaller as Caller,
        { capabilities: {} },
        bearerToken(req.headers.authorization),
      );
      session.label = `stateless-${randomUUID()}`;
      const transport = new StreamTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      await session.connect(transport);
      reply.hijack();
      reply.raw.once('close', () => void session.close());
      await exchange(transport, req, reply);
    } finally {
      this.#opening--;
    }
    return undefined;
  }

  async #existing(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const id = req.headers[SESSION_HEADER];
    if (typeof id !== 'string')
      return fail(reply, 400, ErrorCode.ConnectionClosed, 'Bad Request: mcp-session-id header is required');
    const live = this.#sessions.get(id);
    // A session id that is not the caller's is answered like one that does not exist.
    if (!live || live.session.caller.principal !== req.tetherCaller?.principal)
      return fail(reply, 404, GATEWAY_ERRORS.sessionNotFound, 'Session not found');
    live.lastActivity = this.#deps.clock();
    live.session.presented(req.tetherCaller as Caller, bearerToken(req.headers.authorization));
    reply.hijack();
    await exchange(live.transport, req, reply);
    return undefined;
  }

  async #open(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    if (this.#full()) return this.#refuseFull(reply);
    // Shared upstreams hold one process for everyone; each session starts its own of the others.
    const stdio = this.#deps.config.servers.filter((s) => s.transport.kind === 'stdio' && !s.shared).length;
    if (stdio > this.#deps.processes.free) {
      this.#deps.metrics.refused.inc({ cap: 'upstream-processes' });
      return fail(
        reply,
        503,
        GATEWAY_ERRORS.overloaded,
        `the gateway runs its limit of ${this.#deps.processes.limit} upstream processes (limits.maxUpstreamProcesses); close idle sessions or retry later`,
      );
    }
    const caller = req.tetherCaller as Caller;
    const { resumeEvents } = this.#deps.config.limits;
    const params = (Array.isArray(req.body) ? req.body.find(isInitialize) : req.body)?.params ?? {};
    this.#opening++;
    let session: GatewaySession;
    try {
      session = await GatewaySession.open(
        this.#deps.sessionDeps,
        caller,
        { capabilities: params.capabilities ?? {}, clientInfo: params.clientInfo },
        bearerToken(req.headers.authorization),
      );
    } finally {
      this.#opening--;
    }
    const transport: StreamTransport = new StreamTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (sid) => {
        session.label = sid;
        this.#sessions.set(sid, { session, transport, lastActivity: this.#deps.clock() });
      },
      onsessionclosed: (sid) => void this.#drop(sid),
      ...(resumeEvents > 0 ? { eventStore: new SessionEventStore(resumeEvents) } : {}),
    });
    transport.onclose = () => {
      if (transport.sessionId) void this.#drop(transport.sessionId);
    };
    await session.connect(transport);
    reply.hijack();
    await exchange(transport, req, reply);
    // The transport refused the initialize (bad params, a batch…): nothing was registered.
    if (!transport.sessionId || !this.#sessions.has(transport.sessionId)) await session.close();
    return undefined;
  }

  async #drop(id: string): Promise<void> {
    const live = this.#sessions.get(id);
    if (!live) return;
    this.#sessions.delete(id);
    await live.session.close();
  }

  #sweep(idleMs: number): void {
    const cutoff = this.#deps.clock() - idleMs;
    for (const [id, live] of this.#sessions) {
      if (live.lastActivity < cutoff) {
        this.#deps.log.info(`closing idle MCP session ${id} of ${live.session.caller.principal.split('\n').join(' ')}`);
        this.#deps.metrics.reaped.inc();
        void live.transport.close().catch(() => undefined);
        void this.#drop(id);
      }
    }
  }

  async close(): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper);
    await Promise.all(
      [...this.#sessions.keys()].map((id) =>
        this.#sessions
          .get(id)
          ?.transport.close()
          .catch(() => undefined),
      ),
    );
    await Promise.all([...this.#sessions.keys()].map((id) => this.#drop(id)));
    await this.#deps.sessionDeps.shared?.close();
    await this.#deps.recorder.drain();
  }
}
