// An end-to-end environment: the real kube-apiserver (harness) calling a real `tether serve`
// (child process, HTTPS, PostgreSQL when TETHER_TEST_PG_URL is set) through the admission,
// authorization and audit webhooks that `tether webhook-config` generates.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { https } from '../support/https.ts';
import { BACKENDS, tempDir } from '../store/backends.ts';
import { type KubeHarness, kubectl, startKubeHarness } from './harness.ts';

const run = promisify(execFile);
export const ROOT = new URL('../../', import.meta.url).pathname;
const TETHER = join(ROOT, 'bin/tether.js');

export const HUMAN_TOKENS = {
  alice: 'e2e-alice-token-000000000000000',
  bob: 'e2e-bob-token-00000000000000000',
  root: 'e2e-root-token-0000000000000000',
} as const;
export const RELEASE_AGENT_TOKEN = 'e2e-release-bot-token-000000000';
export const SCALER_AGENT_TOKEN = 'e2e-scaler-bot-token-0000000000';

export const sa = (name: string) => `system:serviceaccount:agents:${name}`;
const saGroups = ['system:serviceaccounts', 'system:serviceaccounts:agents'];

export const IDENTITIES = {
  scaler: { username: sa('scaler-bot'), groups: saGroups },
  triage: { username: sa('triage-bot'), groups: saGroups },
  release: { username: sa('release-bot'), groups: saGroups },
  rogue: { username: sa('rogue-bot'), groups: saGroups },
  builder: { username: sa('builder-bot'), groups: saGroups },
  mcp: { username: sa('k8s-mcp'), groups: saGroups },
  alice: { username: 'alice@example.com', groups: ['humans'] },
};
export const GATEWAY_AGENT_TOKEN = 'e2e-ops-bot-mcp-token-000000000';

export function agentsYaml(scalerNamespaces: string[] = ['shop']): string {
  const docs = [
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
    {
      apiVersion: 'tether.dev/v1alpha1',
      kind: 'Agent',
      metadata: { name: 'scaler-bot' },
      spec: {
        owner: { id: 'alice@example.com', name: 'Alice Doe' },
        authorityClass: 'autonomous',
        identities: [{ kind: 'ServiceAccount', namespace: 'agents', name: 'scaler-bot' }],
        boundary: {
          namespaces: scalerNamespaces,
          rules: [
            {
              apiGroups: ['apps'],
              resources: ['deployments', 'deployments/scale'],
              verbs: ['get', 'list', 'watch', 'update', 'patch'],
              fields: ['spec.replicas'],
            },
          ],
          conditions: [
            { name: 'max-replicas', expression: 'object.spec.replicas <= 10', message: 'at most 10 replicas' },
          ],
          budgets: [{ window: '1h', maxMutations: 4 }],
        },
        breaker: { maxViolations: 2, window: '5m' },
      },
    },
    {
      apiVersion: 'tether.dev/v1alpha1',
      kind: 'Agent',
      metadata: { name: 'triage-bot' },
      spec: {
        owner: { id: 'carol@example.com' },
        authorityClass: 'advisory',
        identities: [{ kind: 'ServiceAccount', namespace: 'agents', name: 'triage-bot' }],
        boundary: {
          namespaces: ['shop'],
          rules: [
            {
              apiGroups: ['apps'],
              resources: ['deployments', 'deployments/scale'],
              verbs: ['get', 'list', 'update', 'patch'],
            },
          ],
        },
      },
    },
    {
      apiVersion: 'tether.dev/v1alpha1',
      kind: 'Agent',
      metadata: { name: 'release-bot' },
      spec: {
        owner: { id: 'dave@example.com' },
        approvers: ['bob@example.com'],
        authorityClass: 'supervised',
        identities: [{ kind: 'ServiceAccount', namespace: 'agents', name: 'release-bot' }],
        boundary: {
          namespaces: ['shop'],
          rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'update', 'patch'] }],
        },
      },
    },
    {
      apiVersion: 'tether.dev/v1alpha1',
      kind: 'Agent',
      metadata: { name: 'ops-bot' },
      spec: {
        owner: { id: 'erin@example.com' },
        authorityClass: 'autonomous',
        identities: [{ kind: 'MCPClient', clientId: 'ops-bot' }],
        boundary: {
          namespaces: ['shop'],
          rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'create', 'update', 'patch'] }],
          budgets: [{ window: '1h', maxMutations: 20 }],
          chain: { maxDepth: 2, mayInvoke: ['k8s-mcp'] },
        },
        breaker: { maxViolations: 5 },
      },
    },
    {
      apiVersion: 'tether.dev/v1alpha1',
      kind: 'Agent',
      metadata: { name: 'k8s-mcp' },
      spec: {
        description: 'kubernetes-mcp-server: acts only on behalf of agents that call it through the gateway',
        owner: { id: 'platform@example.com' },
        authorityClass: 'autonomous',
        identities: [{ kind: 'ServiceAccount', namespace: 'agents', name: 'k8s-mcp' }],
        boundary: {
          namespaces: ['shop'],
          rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'create', 'update', 'patch'] }],
          budgets: [{ window: '1h', maxMutations: 20 }],
          chain: { maxDepth: 2 },
        },
        breaker: { maxViolations: 5 },
      },
    },
  ];
  return docs.map((d) => stringify(d)).join('---\n');
}

/** What agents may do as far as Kubernetes RBAC is concerned: Tether narrows it further. */
const RBAC = `
apiVersion: v1
kind: Namespace
metadata: { name: shop }
---
apiVersion: v1
kind: Namespace
metadata: { name: payments }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: agent-operator }
rules:
  - { apiGroups: [apps], resources: [deployments, deployments/scale], verbs: [get, list, watch, update, patch] }
  - { apiGroups: [""], resources: [secrets, configmaps], verbs: [get, list] }
  - { apiGroups: [""], resources: [configmaps], verbs: [create, update, patch] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: agents-operate }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: agent-operator }
subjects: [{ kind: Group, name: "system:serviceaccounts:agents", apiGroup: rbac.authorization.k8s.io }]
---
apiVersion: v1
kind: Secret
metadata: { name: db-password, namespace: shop }
stringData: { password: hunter2-never-in-the-ledger }
`;

export function deploymentYaml(name: string, namespace: string, replicas = 1): string {
  return stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'server', image: `registry.example/${name}:v1` }] },
      },
    },
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

export interface TetherEnv {
  readonly kube: KubeHarness;
  readonly url: string;
  readonly dataDir: string;
  readonly storeUrl: string;
  readonly caFile: string;
  readonly policyDir: string;
  /** A gateway config in front of kubernetes-mcp-server, acting as the harness identity k8s-mcp. */
  gatewayConfig(binary: string): string;
  kubectl(
    identity: keyof typeof IDENTITIES | 'admin',
    args: string[],
    input?: string,
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  tether(args: string[], token?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  api<T>(path: string, token?: string, body?: unknown): Promise<T>;
  startTether(): Promise<void>;
  stopTether(): Promise<void>;
  close(): Promise<void>;
}

/**
 * `scimToken`: serve the SCIM endpoint with this token (owners then come from the directory).
 * `webhookThreads`: the API server's webhooks go to a webhook port served by this many threads.
 * `agents`: the policy to register instead of agentsYaml() (same GovernancePolicy and agents, plus what a suite needs).
 */
export async function startTetherEnv(
  opts: { scimToken?: string; agents?: string; webhookThreads?: number } = {},
): Promise<TetherEnv> {
  const agents = opts.agents ?? agentsYaml();
  const dir = tempDir('tether-e2e-');
  const dataDir = join(dir, 'data');
  const configDir = join(dir, 'apiserver');
  const policyDir = join(dir, 'policy');
  mkdirSync(policyDir, { recursive: true });
  writeFileSync(join(policyDir, 'agents.yaml'), agents);
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  // With webhookThreads, the API server calls the webhook port (listen.webhookPort) and its threads.
  const webhookPort = opts.webhookThreads ? await freePort() : undefined;
  const webhookUrl = webhookPort ? `https://127.0.0.1:${webhookPort}` : url;
  const backend = BACKENDS.find((b) => b.name === 'postgres' && !b.skip) ?? BACKENDS[0];
  const storeUrl = await (backend as (typeof BACKENDS)[number]).fresh();

  // Cluster-side configuration, generated by the CLI as an operator would.
  const gen = await run(
    process.execPath,
    [
      TETHER,
      'webhook-config',
      '--url',
      webhookUrl,
      '--policy',
      policyDir,
      '--data-dir',
      dataDir,
      '--host',
      '127.0.0.1',
      '--host',
      'localhost',
      '--out-dir',
      configDir,
      '--timeout',
      '5',
    ],
    { cwd: ROOT },
  );
  if (!/wrote/.test(gen.stdout)) throw new Error(`webhook-config: ${gen.stdout}${gen.stderr}`);

  const kube = await startKubeHarness({
    identities: IDENTITIES,
    authorizationConfigFile: join(configDir, 'authorization-config.yaml'),
    auditPolicyFile: join(configDir, 'audit-policy.yaml'),
    auditWebhookConfigFile: join(configDir, 'audit-webhook.kubeconfig'),
    dataDir: join(dir, 'kube'),
    // The API server presents the client certificate webhook-config issued: Tether accepts no other caller on its webhooks.
    apiserverArgs: [`--admission-control-config-file=${join(configDir, 'admission-config.yaml')}`],
  });
  let proc: ChildProcess | undefined;
  let log = '';
  const stopTetherProcess = async () => {
    if (!proc || proc.exitCode !== null) return;
    const p = proc;
    await new Promise<void>((r) => {
      p.once('exit', () => r());
      p.kill('SIGTERM');
    });
  };
  // Whatever fails from here on, the harness and Tether must not outlive the test.
  let env: TetherEnv | undefined;
  try {
    env = await setUp();
    return env;
  } catch (e) {
    await (env as TetherEnv | undefined)?.close().catch(() => undefined);
    await stopAll();
    throw e;
  }
  async function stopAll() {
    await stopTetherProcess();
    await kube.stop().catch(() => undefined);
    await backend?.cleanup().catch(() => undefined);
  }
  async function setUp(): Promise<TetherEnv> {
    const admin = kube.kubeconfig('admin');
    const must = async (args: string[], input?: string) => {
      const r = await kubectl(admin, args, { input });
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
      return r;
    };
    await must(['apply', '-f', join(ROOT, 'deploy/crds')]);
    await must([
      'wait',
      '--for=condition=Established',
      'crd/agents.tether.dev',
      'crd/governancepolicies.tether.dev',
      '--timeout=60s',
    ]);
    await must(['apply', '-f', '-'], RBAC);
    await must(
      ['apply', '-f', '-'],
      deploymentYaml('web', 'shop') +
        '---\n' +
        deploymentYaml('api', 'shop') +
        '---\n' +
        deploymentYaml('ledger', 'payments'),
    );

    const configFile = join(dir, 'tether.yaml');
    writeFileSync(
      configFile,
      stringify({
        listen: { host: '127.0.0.1', port, ...(webhookPort ? { webhookPort } : {}) },
        ...(opts.webhookThreads ? { webhookThreads: opts.webhookThreads } : {}),
        dataDir,
        store: storeUrl,
        policy: { source: 'kubernetes', kubeconfig: admin },
        tls: { hosts: ['127.0.0.1', 'localhost'] },
        tokens: [
          { token: HUMAN_TOKENS.alice, human: 'alice@example.com' },
          { token: HUMAN_TOKENS.bob, human: 'bob@example.com' },
          { token: HUMAN_TOKENS.root, human: 'root@example.com' },
          { token: RELEASE_AGENT_TOKEN, agentUsername: sa('release-bot') },
          { token: SCALER_AGENT_TOKEN, agentUsername: sa('scaler-bot') },
        ],
        logLevel: 'warn',
        webhookClientAuth: true,
        ...(opts.scimToken ? { scim: { token: opts.scimToken } } : {}),
      }),
    );
    const caFile = join(dataDir, 'tls', 'ca.crt');

    const env: TetherEnv = {
      kube,
      url,
      dataDir,
      storeUrl,
      caFile,
      policyDir,
      gatewayConfig(binary: string) {
        const file = join(dir, 'gateway.yaml');
        writeFileSync(
          file,
          stringify({
            apiVersion: 'gateway.tether.dev/v1alpha1',
            kind: 'GatewayConfig',
            auth: { keys: [{ clientId: 'ops-bot', token: GATEWAY_AGENT_TOKEN }] },
            servers: [
              {
                name: 'kubernetes',
                stdio: { command: binary, args: ['--kubeconfig', kube.kubeconfig('mcp'), '--disable-multi-cluster'] },
                defaultNamespace: 'shop',
                runAs: { serviceAccount: { namespace: 'agents', name: 'k8s-mcp' } },
              },
            ],
          }),
        );
        return file;
      },
      kubectl: (identity, args, input) => kubectl(kube.kubeconfig(identity), args, { input }),
      async tether(args, token) {
        return new Promise((resolve) => {
          execFile(
            process.execPath,
            [TETHER, ...args],
            {
              cwd: ROOT,
              env: {
                ...process.env,
                TETHER_SERVER: url,
                TETHER_CA: caFile,
                TETHER_DATA_DIR: dataDir,
                ...(token ? { TETHER_TOKEN: token } : {}),
              },
            },
            (err, stdout, stderr) =>
              resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
          );
        });
      },
      async api<T>(path: string, token: string = HUMAN_TOKENS.root, body?: unknown) {
        const r = await https<T>(`${url}${path}`, { ca: caPem(), token, body });
        if (r.status >= 400) throw new Error(`${path}: ${r.status} ${r.text}`);
        return r.body;
      },
      async startTether() {
        log = '';
        proc = spawn(process.execPath, [TETHER, 'serve', '--config', configFile], {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        proc.stdout?.on('data', (c) => (log += c));
        proc.stderr?.on('data', (c) => (log += c));
        const deadline = Date.now() + 60_000;
        for (;;) {
          if (proc.exitCode !== null) throw new Error(`tether serve exited: ${log}`);
          try {
            const agents = await env.api<{ name: string }[]>('/v1/agents');
            if (agents.length >= 5) return;
          } catch {}
          if (Date.now() > deadline) throw new Error(`tether serve did not load the cluster's agents in time:\n${log}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      },
      stopTether: stopTetherProcess,
      close: stopAll,
    };
    let ca: string | undefined;
    const caPem = () => (ca ??= readFileSync(caFile, 'utf8'));
    await must(['apply', '-f', '-'], agents);
    await env.startTether();
    await must(['apply', '-f', join(configDir, 'validating-webhook.yaml')]);
    return env;
  }
}
