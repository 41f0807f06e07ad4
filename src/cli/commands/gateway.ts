// `tether gateway`: the MCP governance gateway on its own, over Streamable HTTP or, with --stdio,
// for one local agent. Composed by src/server/server.ts like `tether serve` (checkpoints, pruning,
// tracing, graceful shutdown); only the HTTP surface differs.
import { stringify } from 'yaml';
import {
  exportForAccessAnalysis,
  type GatewayConfig,
  GatewayConfigError,
  type GatewayLog,
  loadGatewayConfig,
  serveStdio,
} from '../../adapters/mcp-gateway/gateway.ts';
import { ConfigError, loadConfig, type ResolvedConfig } from '../../server/config.ts';
import { tracedGovernor } from '../../server/instrumented-decider.ts';
import { composeCore, startServer } from '../../server/server.ts';
import { UsageError } from '../output.ts';

export interface GatewayCommandOptions {
  /** The gateway YAML (deploy/examples/gateway/gateway.yaml shows every field). */
  readonly config: string;
  /** Directory of Agent and GovernancePolicy documents, watched for changes. */
  readonly policy: string;
  /** sqlite:<file> or postgres://…; default sqlite:.tether/tether.db */
  readonly store?: string;
  /** Keys and TLS files (default .tether): a gateway sharing a store with `tether serve` signs with the same ledger key. */
  readonly dataDir?: string;
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

/** The server configuration `tether gateway`'s flags stand for: the same file format `tether serve` reads. */
function serverConfig(opts: GatewayCommandOptions, gateway: GatewayConfig): ResolvedConfig {
  try {
    return loadConfig(undefined, {
      store: opts.store,
      dataDir: opts.dataDir,
      policy: { source: 'directory', dir: opts.policy },
      listen: { host: opts.host ?? gateway.listen.host, port: opts.port ?? gateway.listen.port },
      gatewayConfig: opts.config,
    });
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
}

export async function gatewayCommand(opts: GatewayCommandOptions): Promise<number> {
  let config: GatewayConfig;
  try {
    config = loadGatewayConfig(opts.config);
  } catch (e) {
    if (e instanceof GatewayConfigError) throw new UsageError(e.message);
    throw e;
  }
  const server = serverConfig(opts, config);
  if (!opts.stdio && !opts.exportAccess) return serveHttp(opts, server, config);
  // stdio and --export-access serve no HTTP: the same composition, without a listener.
  const core = await composeCore({ ...server, logLevel: 'warn' }, 'gateway');
  core.log = {
    info: (_o, m) => stderrLog.info(m),
    warn: (o, m) => stderrLog.warn(`${m} ${JSON.stringify(o)}`),
    error: (o, m) => stderrLog.error(`${m} ${JSON.stringify(o)}`),
  };
  try {
    const policy = core.controller.policy;
    if (!policy) throw new UsageError(`no usable policy in ${opts.policy}`);
    const governor = tracedGovernor(core.governor);
    if (opts.exportAccess) {
      process.stdout.write(stringify(await exportForAccessAnalysis(config, policy, stderrLog)));
      return 0;
    }
    const token = process.env[config.stdioTokenEnv];
    if (!token)
      throw new UsageError(
        `--stdio: set ${config.stdioTokenEnv} to the agent's token (the env variable is named by stdio.tokenEnv in ${opts.config})`,
      );
    const gw = await serveStdio({ config, governor, log: stderrLog }, { token });
    stderrLog.info(`serving ${gw.caller.subject.username} over stdio`);
    await Promise.race([gw.closed, opts.until ?? stopSignal()]);
    await gw.close();
    return 0;
  } finally {
    await core.close();
  }
}

async function serveHttp(opts: GatewayCommandOptions, server: ResolvedConfig, config: GatewayConfig): Promise<number> {
  const running = await startServer(server, 'gateway');
  try {
    if (!running.policyLoaded) throw new UsageError(`no usable policy in ${opts.policy}`);
    const url = `${running.url}/mcp`;
    stderrLog.info(`MCP endpoint at ${url}, in front of ${config.servers.map((s) => s.name).join(', ')}`);
    opts.onListening?.(url);
    await (opts.until ?? stopSignal());
    await running.shutdown();
    return 0;
  } finally {
    await running.close();
  }
}
