// The HTTP surface: webhooks for the API server, the decision and human API, health and metrics.
import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { admissionRoute } from '../adapters/admission/route.ts';
import { apiRoutes, type ApiDeps } from '../adapters/api/routes.ts';
import { auditRoute } from '../adapters/audit/route.ts';
import type { AuditFact } from '../adapters/audit/events.ts';
import { authorizationRoute } from '../adapters/authorization/route.ts';
import { consoleRoute } from '../adapters/console/route.ts';
import { jsonDepth, MAX_JSON_DEPTH, tooDeep } from '../adapters/shared/json-depth.ts';
import { ContentionError } from '../service/governor.ts';
import type { AuditSummary } from '../service/audit-recorder.ts';
import type { Metrics } from './metrics.ts';

export interface AppDeps extends ApiDeps {
  readonly metrics: Metrics;
  readonly recordAudit: (facts: AuditFact[]) => Promise<AuditSummary>;
  readonly ready: () => boolean;
  /** True once shutdown began: /readyz answers 503 so the Service stops sending, while requests still in flight or arriving are served. */
  readonly draining?: () => boolean;
  readonly bodyLimitBytes: number;
  /** With clientCa, the webhook endpoints answer only clients holding a certificate it signed. */
  readonly https?: { readonly cert: string; readonly key: string; readonly clientCa?: string };
  readonly logLevel: string;
  /** A request must arrive whole within this (a slow body holds a socket and a parser). Default 30 s. */
  readonly requestTimeoutMs?: number;
  /** A connection that sends nothing for this long is closed (idle TLS included). Default 120 s. */
  readonly idleTimeoutMs?: number;
}

const WEBHOOK_PATHS = new Set(['/admission', '/authorize', '/audit']);

/** True when the router matched one of the API server's webhook routes, however the target was spelled. */
function isWebhookRoute(req: { routeOptions: { url?: string } }): boolean {
  return req.routeOptions.url !== undefined && WEBHOOK_PATHS.has(req.routeOptions.url);
}

/**
 * Request and idle timeouts for every Tether server: a slow body or a silent TLS connection
 * holds a socket (and a parser) for as long as the client likes otherwise. `server` goes to
 * Fastify, `node` to Node's server (beside the certificate, or as Fastify's `http`): Node
 * enforces the request timeout on a sweep, which must run often enough for a short timeout to hold.
 */
export function timeoutOptions(requestTimeoutMs = 30_000, idleTimeoutMs = 120_000) {
  return {
    server: { requestTimeout: requestTimeoutMs, connectionTimeout: idleTimeoutMs },
    node: {
      headersTimeout: Math.min(60_000, requestTimeoutMs),
      connectionsCheckingInterval: Math.min(30_000, Math.max(250, requestTimeoutMs / 4)),
    },
  };
}

/**
 * An authenticated event stream (the MCP gateway's GET, the review feed) may rightly stay quiet
 * past the idle timeout; the exemption lasts for that one response (hooks at this level run
 * after every route's authentication), after which keep-alive timing applies.
 */
export function exemptEventStreams(app: FastifyInstance): void {
  app.addHook('preHandler', async (req) => {
    if (req.method === 'GET' && req.headers.accept?.includes('text/event-stream')) req.raw.socket.setTimeout(0);
  });
}

export function buildApp(deps: AppDeps): FastifyInstance {
  const timeouts = timeoutOptions(deps.requestTimeoutMs, deps.idleTimeoutMs);
  const app = Fastify({
    https: deps.https
      ? {
          cert: deps.https.cert,
          key: deps.https.key,
          ...timeouts.node,
          ...(deps.https.clientCa ? { ca: deps.https.clientCa, requestCert: true, rejectUnauthorized: false } : {}),
        }
      : null,
    ...timeouts.server,
    bodyLimit: deps.bodyLimitBytes,
    logger: { level: deps.logLevel, redact: ['req.headers.authorization'] },
    // Webhooks are called for every agent request: per-request log lines would cost more than the decision.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    keepAliveTimeout: 75_000,
  }) as unknown as FastifyInstance;

  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) =>
    jsonDepth(body as string) > MAX_JSON_DEPTH ? done(tooDeep(), undefined) : parseJson(req, body as string, done),
  );
  app.setErrorHandler((e: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (e instanceof ContentionError) return reply.code(503).send({ error: 'busy', message: e.message });
    const status = e.statusCode ?? 500;
    if (status >= 500) req.log.error({ err: e }, 'request failed');
    // Fastify's own 4xx (bad JSON, body too large, wrong content type) say what and where already.
    return reply.code(status).send({
      error: status >= 500 ? 'internal' : 'bad request',
      message: status >= 500 ? 'internal error (see the server log)' : e.message,
      code: e.code,
    });
  });
  if (deps.https?.clientCa) {
    // Decided on the route the router matched, never on the raw target: the router decodes
    // percent-escapes and accepts absolute-form targets, so `/%61dmission` or `http://x/admission`
    // reach the admission handler while no string comparison on `req.url` would say so.
    app.addHook('onRequest', async (req, reply) => {
      if (!isWebhookRoute(req)) return;
      const socket = req.raw.socket as TLSSocket;
      if (!socket.authorized)
        return reply.code(401).send({
          error: 'unauthorized',
          message: `webhooks need the API server's client certificate (tether webhook-config): ${socket.authorizationError ?? 'none presented'}`,
        });
    });
  }
  exemptEventStreams(app);
  app.addHook('preHandler', async (req, reply) => {
    if (req.method === 'POST' && !deps.ready() && req.routeOptions.url !== '/audit')
      return reply.code(503).send({ error: 'not ready', message: 'policy not loaded yet' });
  });

  admissionRoute(app, deps.decider);
  authorizationRoute(app, deps.decider);
  auditRoute(app, deps.recordAudit);
  apiRoutes(app, deps);
  consoleRoute(app);

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) =>
    deps.ready() && !deps.draining?.() ? { ready: true } : reply.code(503).send({ ready: false }),
  );
  app.get('/metrics', async (_req, reply) =>
    reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  );
  return app;
}
