// `tether gateway`: the MCP governance gateway on its own, over Streamable HTTP or, with --stdio,
// for one local agent. Composition only: config → store → policy → Governor → gateway.
import Fastify from 'fastify';
import { stringify } from 'yaml';
import {
  exportForAccessAnalysis,
  type GatewayConfig,
  GatewayConfigError,
  type GatewayLog,
  loadGatewayConfig,
  mountGateway,
  serveStdio,
} from '../../adapters/mcp-gateway/gateway.ts';
import { formatProblem } from '../../policy/errors.ts';
import { PolicyController } from '../../server/policy-controller.ts';
import { directorySource } from '../../server/policy-sources.ts';
import { Governor } from '../../service/governor.ts';
import { openStore } from '../../store/open.ts';
import type { Store } from '../../store/store.ts';
import { UsageError } from '../output.ts';

export interface GatewayCommandOptions {
  /** The gateway YAML (deploy/examples/gateway/gateway.yaml shows every field). */
  readonly config: string;
  /** Directory of Agent and GovernancePolicy documents, watched for changes. */
  readonly policy: string;
  /** sqlite:<file> or postgres://…; default sqlite:.tether/tether.db */
  readonly store?: string;
  /** Serve one local agent on stdin/stdout; its token comes from the env variable the config names. */
  readonly stdio?: boolean;
  /** Print what the access analysis reads (servers, their tools' RBAC metadata, runAs, grants) as YAML, and exit. */
  readonly exportAccess?: boolean;
  readonly host?: string;
  readonly port?: number;
  /** Resolves to stop the gateway (tests); by default SIGINT or SIGTERM. */
  readonly until?: Promise<unknown>;
  /** Called once the HTTP endpoint listens, with its URL. */
  readonly onListening?: (url: string) => void;
}

// Logs go to stderr: in stdio mode stdout carries the protocol.
const stderrLog: GatewayLog = {
  info: (m) => process.stderr.write(`tether gateway: ${m}\n`),
  warn: (m) => process.stderr.write(`tether gateway: warning: ${m}\n`),
  error: (m) => process.stderr.write(`tether gateway: error: ${m}\n`),
};

function stopSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

async function governorFor(policyDir: string, store: Store, log: GatewayLog): Promise<{ governor: Governor; stop(): void }> {
  let governor: Governor | undefined;
  const controller = new PolicyController(store, {
    onPolicy: (p) => governor?.setPolicy(p),
    onProblems: (problems, source) => log.warn(`policy from ${source} not applied (the last good one stays in force):\n${problems.map(formatProblem).join('\n')}`),
    onExpansionRequested: (r) => log.info(`boundary expansion ${r.id} for ${r.agent} awaits approval: ${r.changes.join('; ')}`),
  });
  const source = directorySource(policyDir, controller);
  await source.start();
  const policy = controller.policy;
  if (!policy) {
    source.stop();
    throw new UsageError(`no usable policy in ${policyDir}`);
  }
  governor = new Governor({ policy, store });
  return { governor, stop: () => source.stop() };
}

export async function gatewayCommand(opts: GatewayCommandOptions): Promise<number> {
  let config: GatewayConfig;
  try {
    config = loadGatewayConfig(opts.config);
  } catch (e) {
    if (e instanceof GatewayConfigError) throw new UsageError(e.message);
    throw e;
  }
  const store = await openStore(opts.store ?? 'sqlite:.tether/tether.db');
  let stopPolicy: () => void = () => undefined;
  try {
    const { governor, stop } = await governorFor(opts.policy, store, stderrLog);
    stopPolicy = stop;
    if (opts.exportAccess) {
      process.stdout.write(stringify(await exportForAccessAnalysis(config, governor.policy, stderrLog)));
      return 0;
    }
    if (opts.stdio) {
      const token = process.env[config.stdioTokenEnv];
      if (!token) throw new UsageError(`--stdio: set ${config.stdioTokenEnv} to the agent's token (the env variable is named by stdio.tokenEnv in ${opts.config})`);
      const gw = await serveStdio({ config, governor, log: stderrLog }, { token });
      stderrLog.info(`serving ${gw.caller.subject.username} over stdio`);
      await Promise.race([gw.closed, opts.until ?? stopSignal()]);
      await gw.close();
      return 0;
    }
    const app = Fastify({ logger: false });
    const mounted = await mountGateway(app, { config, governor, log: stderrLog });
    // Sessions, caps and reaping for Prometheus; `tether serve` exposes them in its own /metrics.
    app.get('/metrics', async (_req, reply) => reply.type(mounted.metrics.registry.contentType).send(await mounted.metrics.registry.metrics()));
    const host = opts.host ?? config.listen.host;
    const port = opts.port ?? config.listen.port;
    const address = await app.listen({ host, port });
    stderrLog.info(`MCP endpoint at ${address}/mcp, in front of ${config.servers.map((s) => s.name).join(', ')}`);
    opts.onListening?.(`${address}/mcp`);
    await (opts.until ?? stopSignal());
    await app.close();
    return 0;
  } finally {
    stopPolicy();
    await store.close();
  }
}
