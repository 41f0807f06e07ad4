// Composition root: config → store → ledger → policy → governor → adapters → HTTPS.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Ledger } from '../ledger/ledger.ts';
import { type CompiledPolicy, compilePolicy } from '../policy/compile.ts';
import { formatProblem } from '../policy/errors.ts';
import { recordAuditFacts } from '../service/audit-recorder.ts';
import { Governor } from '../service/governor.ts';
import { openStore } from '../store/open.ts';
import type { Store } from '../store/store.ts';
import { buildApp } from './app.ts';
import { authenticatorFor } from './auth.ts';
import type { ResolvedConfig } from './config.ts';
import { DriftWatcher } from './drift-watcher.ts';
import { instrumentedDecider } from './instrumented-decider.ts';
import { createMetrics, instrumentStore } from './metrics.ts';
import { Notifier } from './notify.ts';
import { wireOwners } from './owners.ts';
import { PolicyController } from './policy-controller.ts';
import { directorySource, kubernetesSource, type PolicySource } from './policy-sources.ts';
import { filesChangedSince, loadTls, needsRenewal, type TlsSource } from './tls.ts';

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly caPem: string;
  readonly store: Store;
  readonly governor: Governor;
  readonly ledger: Ledger;
  readonly createdAdminToken?: string;
  readonly adminTokenFile: string;
  close(): Promise<void>;
}

const EMPTY = compilePolicy({ agents: [], governance: [] }).policy;

export async function startServer(config: ResolvedConfig): Promise<RunningServer> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const store = await openStore(config.storeUrl).catch((e: Error) => {
    throw new Error(`cannot open the store at ${redactUrl(config.storeUrl)}: ${e.message}`);
  });
  const metrics = createMetrics(store);
  const ledger = Ledger.inDataDir(store, config.dataDir);
  const governor = new Governor({ policy: EMPTY as NonNullable<typeof EMPTY>, store: instrumentStore(store, metrics) });
  // Until the HTTP server (and its JSON logger) exists, start-up messages go to stderr as one line each.
  const early = (level: string) => (o: object, m: string) => process.stderr.write(`tether: ${level === 'info' ? '' : `${level}: `}${m} ${JSON.stringify(o)}\n`);
  let log: { warn: (o: object, m: string) => void; error: (o: object, m: string) => void; info: (o: object, m: string) => void } = {
    info: early('info'),
    warn: early('warn'),
    error: early('error'),
  };
  const notifier = new Notifier(config.notifications, (e, url) => log.warn({ url, err: e.message }, 'notification failed'));
  const controller = new PolicyController(store, {
    onPolicy(policy) {
      governor.setPolicy(policy);
      metrics.policyVersion.reset();
      metrics.policyVersion.set({ version: policy.version }, 1);
      log.info({ version: policy.version, agents: policy.agents.size }, 'policy in force');
    },
    onProblems(problems, source) {
      log.error({ source, problems: problems.map(formatProblem) }, 'policy refused; the last good policy stays in force');
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

  const tlsSource: TlsSource = config.tls.kind === 'files' ? config.tls : { kind: 'self-managed', dir: join(config.dataDir, 'tls'), hosts: config.tls.hosts };
  let tls = await loadTls(tlsSource);
  const administrators = () => governor.policy.governance.spec.approvals?.administrators ?? [];
  const source: PolicySource =
    config.policy.source === 'directory'
      ? directorySource(config.policy.dir, controller)
      : kubernetesSource(kubeConfig(config.policy.kubeconfig), controller, (e) => log.warn({ err: String(e) }, 'policy watch error'));
  await source.start();
  const { auth, createdAdminToken } = authenticatorFor(config, administrators());

  const ownersWiring = await wireOwners(config, { governor, notifier, warn: (o, m) => log.warn(o, m) });
  const decider = instrumentedDecider(governor, metrics, notifier);
  const app = buildApp({
    governor,
    decider,
    ledger,
    owners: ownersWiring.owners,
    metrics,
    authenticate: (h) => auth.authenticate(h),
    onExpansionDecided: () => controller.refresh(),
    onVerdict: (a, verdict) => metrics.reviewSeconds.observe({ verdict }, (Date.now() - a.createdAt) / 1000),
    recordAudit: async (facts) => {
      const policy = controller.policy;
      if (!policy) return { recorded: 0, undecided: [], fieldChanges: 0 };
      const summary = await recordAuditFacts(facts, policy, store, Date.now());
      for (const u of summary.undecided) {
        metrics.undecided.inc();
        notifier.send({ event: 'audit.undecided', text: `${u.agent} did ${u.verb} ${u.target} without a Tether decision (audit ${u.auditId})`, detail: u });
      }
      return summary;
    },
    ready: () => controller.policy !== undefined,
    bodyLimitBytes: config.bodyLimitBytes,
    https: { cert: tls.cert, key: tls.key, clientCa: config.webhookClientAuth ? tls.ca : undefined },
    logLevel: config.logLevel,
  });
  log = app.log;
  ownersWiring.mountScim(app);
  if (config.gatewayConfig) {
    const { loadGatewayConfig, mountGateway } = await import('../adapters/mcp-gateway/gateway.ts');
    const gw = loadGatewayConfig(config.gatewayConfig);
    await mountGateway(app, { config: gw, governor, log: { info: (m) => app.log.info(m), warn: (m) => app.log.warn(m), error: (m) => app.log.error(m) } });
  }
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;

  // Renewal without downtime: new connections get the new certificate, open ones keep theirs.
  let loadedAt = Date.now();
  const renew = setInterval(() => {
    if (!needsRenewal(tls) && !filesChangedSince(tlsSource, loadedAt)) return;
    void loadTls(tlsSource)
      .then((t) => {
        tls = t;
        loadedAt = Date.now();
        (app.server as unknown as { setSecureContext(o: object): void }).setSecureContext({ cert: t.cert, key: t.key, ...(config.webhookClientAuth ? { ca: t.ca } : {}) });
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
      log: { info: (o, m) => app.log.info(o, m), warn: (o, m) => app.log.warn(o, m), error: (o, m) => app.log.error(o, m) },
    });
    await drift.start().catch(async (e: Error) => {
      clearInterval(renew);
      await app.close();
      source.stop();
      await store.close();
      throw new Error(`cannot start the drift watcher (kubeconfig ${d.kubeconfig ?? '(default)'}): ${e.message}`);
    });
  }
  const checkpoints = ledger.autoCheckpoint(10_000, (e) => app.log.warn({ err: String(e) }, 'checkpoint failed'));
  // Counters, violations and field histories older than any window can reach are dead weight.
  const pruning = setInterval(() => void store.prune(Date.now() - retentionMs(governor.policy)).catch((e: Error) => app.log.warn({ err: e.message }, 'prune failed')), 600_000);
  pruning.unref();

  return {
    url: `https://${host}:${port}`,
    port,
    caPem: tls.ca,
    store,
    governor,
    ledger,
    createdAdminToken,
    adminTokenFile: join(config.dataDir, 'admin-token'),
    async close() {
      await drift?.stop();
      ownersWiring.stop();
      clearInterval(renew);
      checkpoints.stop();
      clearInterval(pruning);
      source.stop();
      await app.close();
      await notifier.flush();
      await ledger.checkpoint().catch(() => undefined);
      await store.close();
    },
  };
}

function kubeConfig(path: string | undefined): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

/** The longest window any rule looks back over, and never less than a day. */
function retentionMs(policy: CompiledPolicy): number {
  let longest = 86_400_000;
  for (const a of policy.agents.values()) longest = Math.max(longest, a.breakerWindowMs, a.oscillationWindowMs ?? 0, ...a.budgets.map((b) => b.windowMs));
  return 2 * longest;
}

/** Store URLs may carry a password: never print it. */
function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
