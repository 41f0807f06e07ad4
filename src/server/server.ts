// Composition root: config → store → ledger → policy → governor → adapters → HTTPS. One function
// composes `tether serve` (webhooks, decision API, console) and `tether gateway` (the MCP gateway
// alone): both get checkpoints, pruning, TLS renewal, tracing and the same graceful shutdown.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { traceRequests } from '../common/tracing.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { type CompiledPolicy, compilePolicy } from '../policy/compile.ts';
import { formatProblem } from '../policy/errors.ts';
import { ApiReads } from '../service/api-reads.ts';
import { recordAuditFacts } from '../service/audit-recorder.ts';
import { loadDigestKey } from '../service/digest-key.ts';
import { Governor } from '../service/governor.ts';
import { openStore } from '../store/open.ts';
import type { Store } from '../store/store.ts';
import { buildApp, exemptEventStreams } from './app.ts';
import { timeoutOptions } from './webhook-server.ts';
import { startWebhookThreads } from './webhook-threads.ts';
import type { AuditFact } from '../adapters/audit/events.ts';
import { authenticatorFor } from './auth.ts';
import type { ResolvedConfig } from './config.ts';
import { DriftWatcher } from './drift-watcher.ts';
import { instrumentedDecider, tracedGovernor } from './instrumented-decider.ts';
import { startClusterViewFor } from './cluster-view-source.ts';
import { clusterKubeConfig } from './kube-config.ts';
import { openLedger, witnessLedger } from './ledger-setup.ts';
import { createMetrics, instrumentStore } from './metrics.ts';
import { Notifier } from './notify.ts';
import { wireOwners } from './owners.ts';
import { PolicyController } from './policy-controller.ts';
import { directorySource, kubernetesSource, type PolicySource } from './policy-sources.ts';
import { filesChangedSince, loadTls, needsRenewal, type TlsSource } from './tls.ts';
import { startTracing } from './tracing.ts';

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /** The webhook port's URL, when listen.webhookPort is set. */
  readonly webhookUrl?: string;
  readonly caPem: string;
  readonly store: Store;
  readonly governor: Governor;
  readonly ledger: Ledger;
  readonly createdAdminToken?: string;
  /** Undefined when tokens are configured: then no administrator token file is read or made. */
  readonly adminTokenFile?: string;
  /** A policy was loaded (readiness; `tether gateway` refuses to start without one). */
  readonly policyLoaded: boolean;
  /** SIGTERM: readiness drops at once (the Service stops sending), then after the drain delay close(). */
  shutdown(): Promise<void>;
  close(): Promise<void>;
}

/** serve: webhooks, decision API, console (and /mcp when configured); gateway: /mcp alone, over TLS only when configured or off loopback. */
export type Surface = 'serve' | 'gateway';

const EMPTY = compilePolicy({ agents: [], governance: [] }).policy;

/** What every Tether process shares: store, ledger, policy, governor, notifications, tracing, checkpoints, pruning. */
export interface Core {
  readonly store: Store;
  readonly ledger: Ledger;
  readonly governor: Governor;
  readonly metrics: ReturnType<typeof createMetrics>;
  readonly notifier: Notifier;
  readonly controller: PolicyController;
  /** Where start-up and background messages go; the HTTP server's logger once it exists. */
  log: Log;
  close(): Promise<void>;
}

type Log = {
  warn: (o: object, m: string) => void;
  error: (o: object, m: string) => void;
  info: (o: object, m: string) => void;
};

/** The one composition of Tether's parts, shared by `tether serve` and every mode of `tether gateway`. */
export async function composeCore(config: ResolvedConfig, surface: Surface = 'serve'): Promise<Core> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const tracing = startTracing(process.env, TETHER_VERSION);
  // The gateway's agent waits for each call's decision, alone: its writes stay on the event loop.
  const store = await openStore(config.storeUrl, { sqliteWriter: surface === 'gateway' ? 'loop' : 'thread' }).catch(
    (e: Error) => {
      throw new Error(`cannot open the store at ${redactUrl(config.storeUrl)}: ${e.message}`);
    },
  );
  const metrics = createMetrics(store);
  const ledger = await openLedger(store, config, surface);
  const governor = new Governor({ policy: EMPTY as NonNullable<typeof EMPTY>, store: instrumentStore(store, metrics) });
  // Until the HTTP server (and its JSON logger) exists, start-up messages go to stderr as one line each.
  const early = (level: string) => (o: object, m: string) =>
    process.stderr.write(`tether: ${level === 'info' ? '' : `${level}: `}${m} ${JSON.stringify(o)}\n`);
  let log: Log = {
    info: early('info'),
    warn: early('warn'),
    error: early('error'),
  };
  const notifier = new Notifier(config.notifications, (e, url) =>
    log.warn({ url, err: e.message }, 'notification failed'),
  );
  const controller = new PolicyController(store, {
    onPolicy(policy) {
      governor.setPolicy(policy);
      metrics.policyVersion.reset();
      metrics.policyVersion.set({ version: policy.version }, 1);
      log.info({ version: policy.version, agents: policy.agents.size }, 'policy in force');
    },
    onProblems(problems, source) {
      log.error(
        { source, problems: problems.map(formatProblem) },
        'policy refused; the last good policy stays in force',
      );
    },
    onExpansionRequested({ id, agent, changes }) {
      log.info({ id, agent, changes }, 'boundary expansion requested');
      notifier.send({
        event: 'expansion.pending',
        text: `agent ${agent} asks for a wider boundary: ${changes.join('; ')} — tether expansions approve ${id} --reason "…"`,
        detail: { id, agent, changes },
      });
    },
  });

  const source: PolicySource =
    config.policy.source === 'directory'
      ? directorySource(config.policy.dir, controller)
      : kubernetesSource(clusterKubeConfig(config.policy.kubeconfig), controller, (e) =>
          log.warn({ err: String(e) }, 'policy watch error'),
        );
  await source.start().catch(async (e: Error) => {
    await store.close();
    await tracing.shutdown();
    throw e;
  });
  const clusterView = await startClusterViewFor(config.clusterView, governor, (m, e) =>
    log.warn({ err: String(e) }, m),
  );
  const checkpoints = ledger.canSign
    ? ledger.autoCheckpoint(10_000, (e) => log.warn({ err: String(e) }, 'checkpoint failed'))
    : { stop: () => undefined };
  // Counters, violations and field histories older than any window can reach are dead weight.
  const pruning = setInterval(
    () =>
      void store
        .prune(Date.now() - retentionMs(governor.policy))
        .catch((e: Error) => log.warn({ err: e.message }, 'prune failed')),
    600_000,
  );
  pruning.unref();
  return {
    store,
    ledger,
    governor,
    metrics,
    notifier,
    controller,
    get log() {
      return log;
    },
    set log(l: Log) {
      log = l;
    },
    async close() {
      checkpoints.stop();
      clearInterval(pruning);
      source.stop();
      clusterView?.stop();
      await notifier.flush();
      await ledger.checkpoint().catch(() => undefined);
      await store.close();
      await tracing.shutdown();
    },
  };
}

export async function startServer(config: ResolvedConfig, surface: Surface = 'serve'): Promise<RunningServer> {
  const core = await composeCore(config, surface);
  const { store, ledger, governor, metrics, notifier, controller } = core;
  let draining = false;
  const tlsSource: TlsSource =
    config.tls.kind === 'files'
      ? config.tls
      : { kind: 'self-managed', dir: join(config.dataDir, 'tls'), hosts: config.tls.hosts };
  let tls = await loadTls(tlsSource);
  const administrators = () => governor.policy.governance.spec.approvals?.administrators ?? [];
  const { auth, createdAdminToken, adminTokenFile } = authenticatorFor(config, administrators());
  const reads = new ApiReads({
    store: governor.store,
    policy: () => governor.policy,
    digestKey: loadDigestKey(config.dataDir, config.digestKeyFile),
  });

  const ownersWiring = await wireOwners(config, { governor, notifier, warn: (o, m) => core.log.warn(o, m) });
  const decider = instrumentedDecider(governor, metrics, notifier);
  const https = { cert: tls.cert, key: tls.key, clientCa: config.webhookClientAuth ? tls.ca : undefined };
  const ready = () => controller.policy !== undefined;
  const recordAudit = async (facts: AuditFact[]) => {
    const policy = controller.policy;
    if (!policy) return { recorded: 0, undecided: [], fieldChanges: 0 };
    const summary = await recordAuditFacts(facts, policy, store, Date.now());
    for (const u of summary.undecided) {
      metrics.undecided.inc();
      notifier.send({
        event: 'audit.undecided',
        text: `${u.agent} did ${u.verb} ${u.target} without a Tether decision (audit ${u.auditId})`,
        detail: u,
      });
    }
    return summary;
  };
  const app =
    surface === 'gateway'
      ? gatewayApp(config, ready, () => draining, metrics, https)
      : buildApp({
          governor,
          decider,
          ledger,
          reads,
          owners: ownersWiring.owners,
          metrics,
          authenticate: (h) => auth.authenticate(h),
          onExpansionDecided: () => controller.refresh(),
          onVerdict: (a, verdict) => metrics.reviewSeconds.observe({ verdict }, (Date.now() - a.createdAt) / 1000),
          recordAudit,
          ready,
          draining: () => draining,
          bodyLimitBytes: config.bodyLimitBytes,
          https,
          logLevel: config.logLevel,
          requestTimeoutMs: secondsToMs(config.requestTimeoutSeconds),
          idleTimeoutMs: secondsToMs(config.idleTimeoutSeconds),
        });
  core.log = app.log;
  await witnessLedger(ledger, config, app.log);
  if (surface === 'serve') ownersWiring.mountScim(app);
  traceRequests(app);
  if (config.gatewayConfig) {
    const { loadGatewayConfig, mountGateway } = await import('../adapters/mcp-gateway/gateway.ts');
    const gw = loadGatewayConfig(config.gatewayConfig);
    await mountGateway(app, {
      config: gw,
      governor: tracedGovernor(governor),
      registry: metrics.registry,
      log: { info: (m) => app.log.info(m), warn: (m) => app.log.warn(m), error: (m) => app.log.error(m) },
    });
  }
  await app.listen({ host: config.host, port: config.port });
  const webhookThreads =
    surface === 'serve' && config.webhooks
      ? await startWebhookThreads({
          host: config.host,
          ...config.webhooks,
          server: {
            https,
            bodyLimitBytes: config.bodyLimitBytes,
            logLevel: config.logLevel,
            requestTimeoutMs: secondsToMs(config.requestTimeoutSeconds),
            idleTimeoutMs: secondsToMs(config.idleTimeoutSeconds),
          },
          services: { decider, recordAudit, ready },
          warn: (m) => app.log.warn(m),
        }).catch(async (e: Error) => {
          await app.close();
          await core.close();
          throw e;
        })
      : undefined;
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const scheme = app.initialConfig.https ? 'https' : 'http';

  // Renewal without downtime: new connections get the new certificate, open ones keep theirs.
  let loadedAt = Date.now();
  const renew = setInterval(() => {
    if (!app.initialConfig.https || (!needsRenewal(tls) && !filesChangedSince(tlsSource, loadedAt))) return;
    void loadTls(tlsSource)
      .then((t) => {
        tls = t;
        loadedAt = Date.now();
        (app.server as unknown as { setSecureContext(o: object): void }).setSecureContext({
          cert: t.cert,
          key: t.key,
          ...(config.webhookClientAuth ? { ca: t.ca } : {}),
        });
        webhookThreads?.setSecureContext({
          cert: t.cert,
          key: t.key,
          ...(config.webhookClientAuth ? { clientCa: t.ca } : {}),
        });
        app.log.info({ notAfter: t.notAfter }, 'serving certificate renewed');
      })
      .catch((e: Error) => app.log.error({ err: e.message }, 'certificate renewal failed'));
  }, 60_000);
  renew.unref();
  let drift: DriftWatcher | undefined;
  if (config.drift) {
    const d = config.drift;
    drift = new DriftWatcher({
      ...d,
      store,
      policy: () => controller.policy,
      notifier,
      log: {
        info: (o, m) => app.log.info(o, m),
        warn: (o, m) => app.log.warn(o, m),
        error: (o, m) => app.log.error(o, m),
      },
    });
    await drift.start().catch(async (e: Error) => {
      clearInterval(renew);
      await webhookThreads?.close();
      await app.close();
      await core.close();
      throw new Error(`cannot start the drift watcher (kubeconfig ${d.kubeconfig ?? '(default)'}): ${e.message}`);
    });
  }

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      draining = true;
      await drift?.stop();
      ownersWiring.stop();
      clearInterval(renew);
      // Stops accepting, answers what is in flight, closes idle keep-alive connections.
      await webhookThreads?.close();
      await app.close();
      await core.close();
    })());
  return {
    url: `${scheme}://${host}:${port}`,
    port,
    ...(webhookThreads ? { webhookUrl: `${scheme}://${host}:${webhookThreads.port}` } : {}),
    caPem: tls.ca,
    store,
    governor,
    ledger,
    createdAdminToken,
    adminTokenFile,
    get policyLoaded() {
      return controller.policy !== undefined;
    },
    async shutdown() {
      draining = true;
      app.log.info({ drainMs: config.shutdownDrainMs }, 'shutting down: not ready any more');
      if (config.shutdownDrainMs) await new Promise((r) => setTimeout(r, config.shutdownDrainMs));
      await close();
    },
    close,
  };
}

const TETHER_VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** `tether gateway`: health, readiness and metrics beside /mcp, logs on stderr (stdout may carry MCP). */
function gatewayApp(
  config: ResolvedConfig,
  ready: () => boolean,
  draining: () => boolean,
  metrics: ReturnType<typeof createMetrics>,
  tls: { cert: string; key: string },
): FastifyInstance {
  const loopback = /^(127\.|::1$|localhost$)/.test(config.host);
  const timeouts = timeoutOptions(secondsToMs(config.requestTimeoutSeconds), secondsToMs(config.idleTimeoutSeconds));
  const app = Fastify({
    ...(config.tls.kind === 'files' || !loopback
      ? { https: { cert: tls.cert, key: tls.key, ...timeouts.node } }
      : { http: timeouts.node }),
    ...timeouts.server,
    bodyLimit: config.bodyLimitBytes,
    logger: { level: config.logLevel, stream: process.stderr },
    disableRequestLogging: true,
    return503OnClosing: true,
  }) as unknown as FastifyInstance;
  exemptEventStreams(app);
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) =>
    ready() && !draining() ? { ready: true } : reply.code(503).send({ ready: false }),
  );
  app.get('/metrics', async (_req, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  return app;
}

const secondsToMs = (s: number | undefined) => (s === undefined ? undefined : s * 1000);

/** The longest window any rule looks back over, and never less than a day. */
function retentionMs(policy: CompiledPolicy): number {
  let longest = 86_400_000;
  for (const a of policy.agents.values())
    longest = Math.max(longest, a.breakerWindowMs, a.oscillationWindowMs ?? 0, ...a.budgets.map((b) => b.windowMs));
  return 2 * longest;
}

/** Store URLs may carry a password: never print it. */
function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
