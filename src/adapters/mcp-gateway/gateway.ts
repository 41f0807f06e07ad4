// The gateway's public face: mount it on a Fastify instance (Streamable HTTP), or serve one local
// agent over stdio. Both share the same sessions, governance and ledger recording.
import type { Readable, Writable } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { CallRecorder, type GatewayLog } from './call-recorder.ts';
import type { GatewayGovernor } from './call-governance.ts';
import { type Caller, CallerAuthenticator } from './caller-identity.ts';
import type { GatewayConfig } from './config.ts';
import { createGatewayMetrics, type GatewayMetrics, ProcessBudget } from './gateway-metrics.ts';
import { GATEWAY_INFO, GatewaySession, type SessionDeps } from './gateway-session.ts';
import { HttpEndpoint } from './http-endpoint.ts';
import { KindResolver } from './kinds.ts';
import { OriginGuard } from './origin-guard.ts';
import { protectedResource } from './resource-metadata.ts';
import { SharedUpstreams } from './shared-upstreams.ts';
import { TokenExchanger } from './token-exchange.ts';
import { deferUntilInitialize } from './stdio-hello.ts';

export { exportForAccessAnalysis } from './access-export.ts';
export type { GatewayGovernor } from './call-governance.ts';
export type { GatewayLog } from './call-recorder.ts';
export {
  type GatewayConfig,
  GatewayConfigError,
  loadGatewayConfig,
  parseGatewayConfig,
  resolveGatewayConfig,
} from './config.ts';

export interface GatewayDeps {
  readonly config: GatewayConfig;
  /** src/service/governor.ts's Governor: decides every Action and holds the store the results are recorded in. */
  readonly governor: GatewayGovernor;
  readonly log?: GatewayLog;
  readonly clock?: () => number;
  /** Where the gateway's metrics are registered (`tether serve`'s registry); by default a registry of its own. */
  readonly registry?: Registry;
}

export interface MountedGateway {
  readonly sessions: number;
  readonly upstreamProcesses: number;
  readonly metrics: GatewayMetrics;
  /** Closes every session and its upstreams, and waits for pending ledger records. Also runs when Fastify closes. */
  close(): Promise<void>;
}

const SILENT: GatewayLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

function sessionDeps(
  deps: GatewayDeps,
  log: GatewayLog,
  authenticator: CallerAuthenticator,
  processes?: ProcessBudget,
  metrics?: GatewayMetrics,
): { sessionDeps: SessionDeps; recorder: CallRecorder } {
  const recorder = new CallRecorder((leaf, opts) => deps.governor.store.append(leaf, opts), log, deps.clock);
  return {
    recorder,
    sessionDeps: {
      config: deps.config,
      governor: deps.governor,
      kinds: new KindResolver(deps.config.kinds),
      recorder,
      log,
      processes,
      metrics,
      exchanger: new TokenExchanger(authenticator.issuers, deps.clock ?? Date.now, (outcome) =>
        metrics?.tokenExchanges.inc({ outcome }),
      ),
    },
  };
}

/** Mounts the Streamable HTTP endpoint at `path` (default /mcp). */
export async function mountGateway(
  fastify: FastifyInstance,
  deps: GatewayDeps,
  opts: { readonly path?: string } = {},
): Promise<MountedGateway> {
  const log = deps.log ?? SILENT;
  const processes = new ProcessBudget(deps.config.limits.maxUpstreamProcesses);
  const authenticator = new CallerAuthenticator(deps.config.auth);
  let endpoint: HttpEndpoint | undefined;
  const metrics = createGatewayMetrics(
    () => ({ sessions: endpoint?.sessionCount ?? 0, upstreamProcesses: processes.used }),
    deps.registry,
  );
  const { recorder, sessionDeps: base } = sessionDeps(deps, log, authenticator, processes, metrics);
  const shared = new SharedUpstreams({
    clientInfo: { ...GATEWAY_INFO, title: 'Tether gateway (shared by every session)' },
    connectTimeoutMs: Math.min(30_000, deps.config.limits.callTimeoutMs),
    log: (m) => log.warn(m),
    processes,
  });
  const sd: SessionDeps = { ...base, shared };
  endpoint = new HttpEndpoint({
    config: deps.config,
    sessionDeps: sd,
    authenticator,
    recorder,
    log,
    clock: deps.clock ?? Date.now,
    guard: new OriginGuard(deps.config),
    resource: protectedResource(deps.config.auth),
    metrics,
    processes,
  });
  await endpoint.register(fastify, opts.path ?? '/mcp');
  const ep = endpoint;
  return {
    get sessions() {
      return ep.sessionCount;
    },
    get upstreamProcesses() {
      return processes.used;
    },
    metrics,
    close: () => ep.close(),
  };
}

export interface StdioGateway {
  readonly caller: Caller;
  /** Resolves when the agent closes stdin (or close() is called) and every record is written. */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

/**
 * One local agent over stdio. Its identity is the bearer token it was started with (the same
 * keys and issuers as HTTP); an unknown token refuses to start.
 */
export async function serveStdio(
  deps: GatewayDeps,
  io: { readonly token: string; readonly stdin?: Readable; readonly stdout?: Writable },
): Promise<StdioGateway> {
  const log = deps.log ?? SILENT;
  const authenticator = new CallerAuthenticator(deps.config.auth);
  const auth = await authenticator.authenticateToken(io.token, (deps.clock ?? Date.now)());
  if (!auth.ok) throw new Error(`the stdio agent's token was refused: ${auth.reason}`);
  const { recorder, sessionDeps: sd } = sessionDeps(deps, log, authenticator);
  const transport = deferUntilInitialize(new StdioServerTransport(io.stdin, io.stdout));
  let session: GatewaySession | undefined;
  let resolveClosed: () => void;
  const closed = new Promise<void>((r) => {
    resolveClosed = r;
  });
  const close = async () => {
    await session?.close();
    await transport.close().catch(() => undefined);
    await recorder.drain();
    resolveClosed();
  };
  transport.onInitialize(async (init: JSONRPCMessage) => {
    const params = ((init as { params?: Record<string, unknown> }).params ?? {}) as {
      capabilities?: Record<string, unknown>;
      clientInfo?: { name: string; version: string };
    };
    session = await GatewaySession.open(
      sd,
      auth.caller,
      { capabilities: params.capabilities ?? {}, clientInfo: params.clientInfo },
      io.token,
    );
    session.label = 'stdio';
    session.server.onclose = () => void close();
    await session.connect(transport);
  });
  await transport.start();
  return { caller: auth.caller, closed, close };
}
