// A real gateway for tests: Fastify on 127.0.0.1, a Governor over a SQLite store in a temp dir,
// a policy given as YAML text, and official SDK clients that connect with a bearer token.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  type MountedGateway,
  mountGateway,
  resolveGatewayConfig,
} from '../../../../src/adapters/mcp-gateway/gateway.ts';
import { compilePolicy } from '../../../../src/policy/compile.ts';
import { parsePolicySources } from '../../../../src/policy/load.ts';
import { Governor } from '../../../../src/service/governor.ts';
import { openStore } from '../../../../src/store/open.ts';
import type { Store } from '../../../../src/store/store.ts';

export interface TestGateway {
  readonly url: string;
  readonly dir: string;
  readonly governor: Governor;
  readonly store: Store;
  readonly mounted: MountedGateway;
  readonly logs: string[];
  connect(token: string, opts?: { capabilities?: ClientCapabilities; name?: string }): Promise<Client>;
  close(): Promise<void>;
}

export function compileTestPolicy(yaml: string) {
  const parsed = parsePolicySources([{ name: 'policy.yaml', text: yaml }]);
  if (parsed.problems.some((p) => p.severity === 'error')) throw new Error(JSON.stringify(parsed.problems));
  const { policy, problems } = compilePolicy(parsed);
  if (!policy) throw new Error(JSON.stringify(problems));
  return policy;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `tether-gw-${prefix}-`));
}

/** A port nobody listens on right now: for a gateway whose resource URL must be known before it starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export async function startTestGateway(opts: {
  policy: string;
  gateway: Record<string, unknown>;
  dir?: string;
  clock?: () => number;
  port?: number;
}): Promise<TestGateway> {
  const dir = opts.dir ?? tempDir('t');
  const store = await openStore(`sqlite:${join(dir, 'tether.db')}`);
  const governor = new Governor({ policy: compileTestPolicy(opts.policy), store, clock: opts.clock });
  const config = resolveGatewayConfig(opts.gateway, 'gateway.yaml', dir);
  const logs: string[] = [];
  const log = {
    info: (m: string) => logs.push(`info: ${m}`),
    warn: (m: string) => logs.push(`warn: ${m}`),
    error: (m: string) => logs.push(`error: ${m}`),
  };
  const app: FastifyInstance = Fastify({ logger: false });
  const mounted = await mountGateway(app, { config, governor, log, clock: opts.clock });
  const address = await app.listen({ host: '127.0.0.1', port: opts.port ?? 0 });
  const url = `${address}/mcp`;
  const clients: Client[] = [];
  return {
    url,
    dir,
    governor,
    store,
    mounted,
    logs,
    async connect(token, o = {}) {
      const client = new Client(
        { name: o.name ?? 'test-agent', version: '1.0.0' },
        { capabilities: o.capabilities ?? {} },
      );
      await client.connect(
        new StreamableHTTPClientTransport(new URL(url), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      );
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await app.close();
      await store.close();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A kubeconfig whose cluster nobody answers: enough for kubernetes-mcp-server to list its tools. */
export function unreachableKubeconfig(dir: string): string {
  const file = join(dir, 'kubeconfig-unreachable.yaml');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{ name: nowhere, cluster: { server: "https://127.0.0.1:9" } }]',
      'users: [{ name: nobody, user: { token: not-a-token } }]',
      'contexts: [{ name: nowhere, context: { cluster: nowhere, user: nobody, namespace: shop } }]',
      'current-context: nowhere',
      '',
    ].join('\n'),
  );
  return file;
}
