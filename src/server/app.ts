// The HTTP surface: webhooks for the API server, the decision and human API, health and metrics.
import type { FastifyInstance } from 'fastify';
import { admissionRoute } from '../adapters/admission/route.ts';
import { apiRoutes, type ApiDeps } from '../adapters/api/routes.ts';
import { auditRoute } from '../adapters/audit/route.ts';
import type { AuditFact } from '../adapters/audit/events.ts';
import { authorizationRoute } from '../adapters/authorization/route.ts';
import { consoleRoute } from '../adapters/console/route.ts';
import type { AuditSummary } from '../service/audit-recorder.ts';
import type { Metrics } from './metrics.ts';
import { webhookServer, type WebhookServerOptions } from './webhook-server.ts';

export interface AppDeps extends ApiDeps, WebhookServerOptions {
  readonly metrics: Metrics;
  readonly recordAudit: (facts: AuditFact[]) => Promise<AuditSummary>;
  readonly ready: () => boolean;
  /** True once shutdown began: /readyz answers 503 so the Service stops sending, while requests still in flight or arriving are served. */
  readonly draining?: () => boolean;
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
  const app = webhookServer(deps);
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
