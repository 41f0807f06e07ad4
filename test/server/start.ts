// Starts a real `tether serve` (HTTPS, a real store) on a free port, with a policy directory of
// its own, for the server tests.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ResolvedConfig } from '../../src/server/config.ts';
import { type RunningServer, type Surface, startServer } from '../../src/server/server.ts';
import { tempDir } from '../store/backends.ts';

export const TOKENS = {
  alice: 'alice-token-0123456789abcdef',
  bob: 'bob-token-0123456789abcdefgh',
  root: 'root-token-0123456789abcdefg',
  releaseAgent: 'agent-release-token-0123456789',
} as const;

export const SA = (name: string) => `system:serviceaccount:agents:${name}`;

export const agent = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'tether.dev/v1alpha1',
  kind: 'Agent',
  metadata: { name },
  spec: {
    owner: { id: 'alice@example.com' },
    identities: [{ kind: 'ServiceAccount', namespace: 'agents', name }],
    ...spec,
  },
});
const deployments = (verbs: string[]) => ({
  namespaces: ['shop'],
  rules: [{ apiGroups: ['apps'], resources: ['deployments', 'deployments/scale'], verbs }],
});

export function testPolicy(overrides: { scalerBudget?: number } = {}): Record<string, unknown>[] {
  return [
    {
      apiVersion: 'tether.dev/v1alpha1',
      kind: 'GovernancePolicy',
      metadata: { name: 'default' },
      spec: {
        agentSelectors: { serviceAccountNamespaces: ['agents'] },
        requireIntent: true,
        approvals: { administrators: ['root@example.com'], ttl: '10m' },
      },
    },
    agent('scaler', {
      authorityClass: 'autonomous',
      boundary: {
        ...deployments(['get', 'list', 'update', 'patch']),
        budgets: [{ window: '1h', maxMutations: overrides.scalerBudget ?? 3 }],
      },
      breaker: { maxViolations: 2, window: '5m' },
    }),
    // Its rollouts change the pod template of Deployments that run as `default` (containment/run-as).
    agent('release', {
      authorityClass: 'supervised',
      approvers: ['bob@example.com'],
      boundary: { ...deployments(['get', 'update', 'patch']), runAs: ['default'] },
    }),
    agent('reader', {
      authorityClass: 'advisory',
      boundary: {
        namespaces: ['shop'],
        rules: [{ apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list'] }],
      },
    }),
    agent('trial', { authorityClass: 'advisory', mode: 'audit', boundary: deployments(['get']) }),
  ];
}

export function writePolicy(dir: string, docs: Record<string, unknown>[]): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'policy.yaml'), docs.map((d) => stringify(d)).join('---\n'));
}

export async function startTestServer(
  storeUrl: string,
  opts: {
    bodyLimitBytes?: number;
    notifications?: ResolvedConfig['notifications'];
    webhookClientAuth?: boolean;
    policy?: Record<string, unknown>[];
    requestTimeoutSeconds?: number;
    idleTimeoutSeconds?: number;
    ledger?: ResolvedConfig['ledger'];
    surface?: Surface;
    scim?: ResolvedConfig['scim'];
    /** Also serve the webhooks on a port of their own (port 0: any free one), from threads. */
    webhooks?: ResolvedConfig['webhooks'];
  } = {},
): Promise<RunningServer & { policyDir: string; dataDir: string }> {
  const dataDir = tempDir('tether-serve-');
  const policyDir = join(dataDir, 'policy');
  writePolicy(policyDir, opts.policy ?? testPolicy());
  const config: ResolvedConfig = {
    host: '127.0.0.1',
    port: 0,
    dataDir,
    storeUrl,
    policy: { source: 'directory', dir: policyDir },
    tls: { kind: 'self-managed', hosts: ['127.0.0.1', 'localhost'] },
    tokens: [
      { token: TOKENS.alice, human: 'alice@example.com' },
      { token: TOKENS.bob, human: 'bob@example.com' },
      { token: TOKENS.root, human: 'root@example.com' },
      { token: TOKENS.releaseAgent, agentUsername: SA('release') },
    ],
    notifications: opts.notifications ?? [],
    bodyLimitBytes: opts.bodyLimitBytes ?? 256 * 1024,
    logLevel: 'warn',
    webhookClientAuth: opts.webhookClientAuth,
    ...(opts.webhooks ? { webhooks: opts.webhooks } : {}),
    requestTimeoutSeconds: opts.requestTimeoutSeconds,
    idleTimeoutSeconds: opts.idleTimeoutSeconds,
    ...(opts.ledger ? { ledger: opts.ledger } : {}),
    scim: opts.scim,
    // No API server here: containment reads a fixed cluster (test/fixtures/cluster) in its place.
    clusterView: { dump: new URL('../fixtures/cluster', import.meta.url).pathname },
  };
  const server = await startServer(config, opts.surface);
  return Object.assign(server, { policyDir, dataDir });
}
