// The webhook port: threads of their own terminate TLS, parse and decode each review and encode its
// answer, while every decision is still made on the main thread, by the one Governor, policy and
// cluster view there. One event loop doing both capped Tether near 2,200 reviews/s on 2 cores with the
// second core half idle (bench/admission/README.md): TLS, HTTP and JSON were over a third of its work.
// The threads share the port (SO_REUSEPORT: the kernel spreads connections over them).
import { Worker } from 'node:worker_threads';
import type { AuditFact } from '../adapters/audit/events.ts';
import type { Decider } from '../adapters/shared/decider.ts';
import { siblingModule } from '../common/module-url.ts';
import { Answerer, type Answer, type Call } from '../common/thread-calls.ts';
import type { Action } from '../engine/action.ts';
import type { AuditSummary } from '../service/audit-recorder.ts';
import { NotReadyError, type WebhookServerOptions } from './webhook-server.ts';

export interface WebhookThreadData {
  readonly host: string;
  readonly port: number;
  readonly server: WebhookServerOptions;
}

/** Main thread → webhook thread. */
export type ToWebhookThread =
  | { readonly answers: readonly Answer[] }
  | { readonly tls: { readonly cert: string; readonly key: string; readonly clientCa?: string } }
  | { readonly close: true };

/** Webhook thread → main thread. */
export type FromWebhookThread =
  | { readonly listening: number }
  | { readonly calls: readonly Call[] }
  | { readonly failed: string }
  | { readonly closed: true };

/** What the threads ask of the main thread: the same services the main port's routes call. */
export interface WebhookServices {
  readonly decider: Decider;
  readonly recordAudit: (facts: AuditFact[]) => Promise<AuditSummary>;
  /** False until a policy is loaded: decisions are refused with 503 meanwhile, as on the main port. */
  readonly ready: () => boolean;
}

export interface WebhookThreads {
  readonly port: number;
  /** A renewed certificate, for new connections on every thread. */
  setSecureContext(tls: { cert: string; key: string; clientCa?: string }): void;
  /** Stops accepting, answers what is in flight, then stops the threads. */
  close(): Promise<void>;
}

function methods(s: WebhookServices) {
  return {
    decide: async (action: Action) => {
      if (!s.ready()) throw new NotReadyError('policy not loaded yet');
      return s.decider.decide(action);
    },
    audit: (facts: AuditFact[]) => s.recordAudit(facts),
  };
}

/** One thread: resolves once it listens (with the port it got), rejects when it cannot. */
function startThread(data: WebhookThreadData, answerer: (w: Worker) => Answerer): Promise<[Worker, number]> {
  const worker = new Worker(siblingModule(import.meta.url, 'webhook-thread'), { workerData: data });
  const answers = answerer(worker);
  return new Promise((resolve, reject) => {
    worker.on('message', (m: FromWebhookThread) => {
      if ('calls' in m) answers.answer(m.calls);
      else if ('listening' in m) resolve([worker, m.listening]);
      else if ('failed' in m) reject(new Error(`webhook port ${data.host}:${data.port}: ${m.failed}`));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`a webhook thread exited (code ${code}) before listening`)));
  });
}

export async function startWebhookThreads(o: {
  readonly host: string;
  readonly port: number;
  readonly threads: number;
  readonly server: WebhookServerOptions;
  readonly services: WebhookServices;
  readonly warn: (message: string) => void;
}): Promise<WebhookThreads> {
  let closing = false;
  const m = methods(o.services);
  const answerer = (w: Worker) => new Answerer(m, (answers) => w.postMessage({ answers } satisfies ToWebhookThread));
  const workers: Worker[] = [];
  const stopAll = () => Promise.all(workers.map((w) => w.terminate()));
  try {
    // The first thread picks the port when 0 was asked for; the others join it.
    const [first, port] = await startThread({ host: o.host, port: o.port, server: o.server }, answerer);
    workers.push(first);
    const rest = await Promise.allSettled(
      Array.from({ length: o.threads - 1 }, () => startThread({ host: o.host, port, server: o.server }, answerer)),
    );
    for (const r of rest) if (r.status === 'fulfilled') workers.push(r.value[0]);
    const failed = rest.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    for (const w of workers)
      w.on('exit', (code) => {
        if (!closing) o.warn(`a webhook thread stopped (code ${code}); the others keep serving port ${port}`);
      });
    return {
      port,
      setSecureContext(tls) {
        for (const w of workers) w.postMessage({ tls } satisfies ToWebhookThread);
      },
      close: () => {
        closing = true;
        return Promise.all(workers.map(closeThread)).then(() => undefined);
      },
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

function closeThread(w: Worker): Promise<void> {
  return new Promise((resolve) => {
    if (w.threadId === -1) return resolve(); // already gone
    w.on('message', (m: FromWebhookThread) => {
      if ('closed' in m) void w.terminate().then(() => resolve());
    });
    w.once('exit', () => resolve());
    w.postMessage({ close: true } satisfies ToWebhookThread);
  });
}
