// One webhook thread (started by src/server/webhook-threads.ts): serves the webhook routes on the
// shared webhook port and asks the main thread for every decision and audit record. It holds no
// policy and no store: the routes are the main port's own, only their services are remote.
import { parentPort, workerData } from 'node:worker_threads';
import { admissionRoute } from '../adapters/admission/route.ts';
import type { AuditFact } from '../adapters/audit/events.ts';
import { auditRoute } from '../adapters/audit/route.ts';
import { authorizationRoute } from '../adapters/authorization/route.ts';
import type { Decider } from '../adapters/shared/decider.ts';
import { Caller } from '../common/thread-calls.ts';
import type { Action } from '../engine/action.ts';
import type { AuditSummary } from '../service/audit-recorder.ts';
import { webhookServer } from './webhook-server.ts';
import type { FromWebhookThread, ToWebhookThread, WebhookThreadData } from './webhook-threads.ts';

const port = parentPort;
if (!port) throw new Error('webhook-thread.ts runs as a worker thread');
const data = workerData as WebhookThreadData;
const main = new Caller((calls) => port.postMessage({ calls } satisfies FromWebhookThread));

const decider: Decider = { decide: (action: Action) => main.call('decide', action) };
const app = webhookServer(data.server);
admissionRoute(app, decider);
authorizationRoute(app, decider);
auditRoute(app, (facts: AuditFact[]) => main.call<AuditSummary>('audit', facts));
app.get('/healthz', async () => ({ ok: true }));

port.on('message', (m: ToWebhookThread) => {
  if ('answers' in m) main.settle(m.answers);
  else if ('tls' in m) {
    const { cert, key, clientCa } = m.tls;
    (app.server as unknown as { setSecureContext(o: object): void }).setSecureContext({
      cert,
      key,
      ...(clientCa ? { ca: clientCa } : {}),
    });
  } else if ('close' in m) {
    // Stops accepting, lets the requests in flight get their answers, closes idle keep-alive connections.
    void app.close().then(() => port.postMessage({ closed: true } satisfies FromWebhookThread));
  }
});

// Fastify hands its listen options to Node's server.listen, whose reusePort its types do not know yet.
const listen = app.listen.bind(app) as unknown as (o: object) => Promise<string>;
listen({ host: data.host, port: data.port, reusePort: true }).then(
  () => {
    const address = app.server.address();
    port.postMessage({ listening: typeof address === 'object' && address ? address.port : data.port });
  },
  (e: Error) => port.postMessage({ failed: e.message } satisfies FromWebhookThread),
);
