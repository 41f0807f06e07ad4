// The server every webhook answers from: Tether's main HTTPS server (src/server/app.ts) and each
// webhook thread (src/server/webhook-thread.ts) start from the same instance, so TLS, client-certificate
// checks, limits and the error shape are one piece of code wherever a review lands.
import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { jsonDepth, MAX_JSON_DEPTH, tooDeep } from '../adapters/shared/json-depth.ts';

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

/** What a server answering the API server's webhooks needs: the main server, and each webhook thread. */
export interface WebhookServerOptions {
  readonly bodyLimitBytes: number;
  /** With clientCa, the webhook endpoints answer only clients holding a certificate it signed. */
  readonly https?: { readonly cert: string; readonly key: string; readonly clientCa?: string };
  readonly logLevel: string;
  /** A request must arrive whole within this (a slow body holds a socket and a parser). Default 30 s. */
  readonly requestTimeoutMs?: number;
  /** A connection that sends nothing for this long is closed (idle TLS included). Default 120 s. */
  readonly idleTimeoutMs?: number;
}

/** An answer that means "not now" rather than "no": the caller may retry (the API server applies failurePolicy). */
export class NotReadyError extends Error {
  override name = 'NotReadyError';
}

/**
 * The Fastify instance every webhook-serving server starts from: TLS (with the API server's client
 * certificate required on webhook routes when clientCa is set), timeouts, body and depth limits, and
 * one error shape. buildApp adds the API and console; src/server/webhook-thread.ts only the webhooks.
 */
export function webhookServer(o: WebhookServerOptions): FastifyInstance {
  const timeouts = timeoutOptions(o.requestTimeoutMs, o.idleTimeoutMs);
  const app = Fastify({
    https: o.https
      ? {
          cert: o.https.cert,
          key: o.https.key,
          ...timeouts.node,
          ...(o.https.clientCa ? { ca: o.https.clientCa, requestCert: true, rejectUnauthorized: false } : {}),
        }
      : null,
    ...timeouts.server,
    bodyLimit: o.bodyLimitBytes,
    logger: { level: o.logLevel, redact: ['req.headers.authorization'] },
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
    // By name: a decision made on another thread arrives as a plain error.
    if (e.name === 'ContentionError') return reply.code(503).send({ error: 'busy', message: e.message });
    if (e.name === 'NotReadyError') return reply.code(503).send({ error: 'not ready', message: e.message });
    const status = e.statusCode ?? 500;
    if (status >= 500) req.log.error({ err: e }, 'request failed');
    // Fastify's own 4xx (bad JSON, body too large, wrong content type) say what and where already.
    return reply.code(status).send({
      error: status >= 500 ? 'internal' : 'bad request',
      message: status >= 500 ? 'internal error (see the server log)' : e.message,
      code: e.code,
    });
  });
  if (o.https?.clientCa) {
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
  return app;
}
