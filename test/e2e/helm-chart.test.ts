// The Helm chart against the real kube-apiserver: every object it renders for three value sets is
// server-side applied (the API server validates each against its schema), and `tether serve` runs with
// exactly the configuration the chart produced — its ConfigMap, Secrets, service account and RBAC,
// read back from the API server — and refuses an agent through the webhook configuration it rendered.
//
// What a kubelet would do is done here by hand, and only that: each volume the Deployment mounts is
// written under a scratch root (ConfigMap and Secret keys as files), the pod's service account token
// comes from the TokenRequest API, and the pod's network namespace is stood in for by a free loopback
// port (the rendered webhook URL points there).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { CHART, ensureHelm, helm } from '../../scripts/helm.ts';
import { tempDir } from '../store/backends.ts';
import { https } from '../support/https.ts';
import { VALUE_SETS, valuesFile } from '../deploy/values.ts';
import { harnessBinary, type KubeHarness, kubectl, startKubeHarness } from './harness.ts';
import { agentsYaml, deploymentYaml, IDENTITIES, ROOT } from './tether-env.ts';

// biome-ignore lint/suspicious/noExplicitAny: rendered and fetched YAML is untyped; the assertions check its shape
type Y = any;

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [k: string]: unknown };

let skip: string | undefined = harnessBinary()
  ? undefined
  : 'the kube-apiserver harness is not built (scripts/build-harness.sh)';
if (!skip) {
  try {
    ensureHelm();
  } catch (e) {
    skip = `helm could not be built: ${(e as Error).message.split('\n')[0]}`;
  }
}
if (skip) console.warn(`\n*** HELM CHART E2E SKIPPED: ${skip} ***\n`);

/**
 * Stand-ins for CRDs other projects own (cert-manager, Prometheus Operator), schema-less: the API
 * server accepts the chart's objects of those kinds; their own validation is not what is tested here.
 */
const foreignCrd = (group: string, kind: string, plural: string) => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${plural}.${group}` },
  spec: {
    group,
    scope: 'Namespaced',
    names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      },
    ],
  },
});

const AGENT_RBAC = `
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
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: agents-operate }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: agent-operator }
subjects: [{ kind: Group, name: "system:serviceaccounts:agents", apiGroup: rbac.authorization.k8s.io }]
`;

const ROOT_TOKEN = 'chart-e2e-root-token-000000000000';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function render(
  values: unknown,
  release: string,
  namespace: string,
  extra: string[] = [],
): { crds: string; objects: string } {
  const r = helm([
    'template',
    release,
    CHART,
    '--namespace',
    namespace,
    '--include-crds',
    '-f',
    valuesFile(values),
    ...extra,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const docs = parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
  const y = (xs: Obj[]) => xs.map((o) => stringify(o)).join('---\n');
  return {
    crds: y(docs.filter((o) => o.kind === 'CustomResourceDefinition')),
    objects: y(docs.filter((o) => o.kind !== 'CustomResourceDefinition')),
  };
}

describe('the Helm chart on a real kube-apiserver', { skip }, () => {
  let kube: KubeHarness;
  let admin: string;
  const must = async (args: string[], input?: string) => {
    const r = await kubectl(admin, args, { input });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const apply = (yaml: string) => must(['apply', '--server-side', '--field-manager=helm-chart-e2e', '-f', '-'], yaml);

  before(async () => {
    kube = await startKubeHarness({ identities: IDENTITIES });
    admin = kube.kubeconfig('admin');
    await apply(
      [
        foreignCrd('cert-manager.io', 'Certificate', 'certificates'),
        foreignCrd('cert-manager.io', 'Issuer', 'issuers'),
        foreignCrd('monitoring.coreos.com', 'ServiceMonitor', 'servicemonitors'),
      ]
        .map((o) => stringify(o))
        .join('---\n'),
    );
  });
  after(async () => {
    await kube?.stop();
  });

  for (const [name, values] of Object.entries(VALUE_SETS)) {
    test(`${name}: every rendered object is accepted by server-side apply`, async () => {
      const release = `tether-${name.toLowerCase()}`;
      const { crds, objects } = render({ ...values, createNamespace: true }, release, release);
      await apply(crds);
      await must([
        'wait',
        '--for=condition=Established',
        'crd/agents.tether.dev',
        'crd/governancepolicies.tether.dev',
        'crd/certificates.cert-manager.io',
        '--timeout=60s',
      ]);
      // The Namespace first: the namespaced objects of the same apply need it.
      const docs = parseAllDocuments(objects).map((d) => d.toJS() as Obj);
      await apply(
        docs
          .filter((o) => o.kind === 'Namespace')
          .map((o) => stringify(o))
          .join('---\n'),
      );
      await apply(
        docs
          .filter((o) => o.kind !== 'Namespace')
          .map((o) => stringify(o))
          .join('---\n'),
      );
      for (const o of docs) {
        const ns = o.metadata.namespace ? ['-n', o.metadata.namespace] : [];
        const got = await kubectl(admin, [
          'get',
          `${o.kind}.${o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : ''}`.replace(/\.$/, ''),
          o.metadata.name,
          ...ns,
          '-o',
          'name',
        ]);
        assert.equal(got.code, 0, `${o.kind} ${o.metadata.name} is not there: ${got.stderr}`);
      }
      // The webhook points at a Service no pod backs here: leave agents alone for the next test.
      await must(['delete', 'validatingwebhookconfiguration', release]);
    });
  }

  test('tether serve with the configuration the chart produced: in-cluster credentials, its RBAC, its webhook; an agent is refused', async () => {
    const port = await freePort();
    const scratch = tempDir('tether-chart-pod-');
    const values = {
      ...VALUE_SETS.sqlite,
      createNamespace: true,
      webhook: { url: `https://127.0.0.1:${port}`, timeoutSeconds: 5 },
      tls: { mode: 'self-signed', extraIPs: ['127.0.0.1'] },
      tokens: { existingSecret: 'tether-tokens', entries: [{ key: 'root', human: 'root@example.com' }] },
      ledger: { signingKey: { existingSecret: 'tether-ledger-key', key: 'signing.pem' } },
      digestKey: { existingSecret: 'tether-ledger-key', key: 'digest' },
      logLevel: 'warn',
    };
    const { crds, objects } = render(values, 'tether', 'tether-system');
    await apply(crds);
    const docs = parseAllDocuments(objects).map((d) => d.toJS() as Obj);
    const webhook = docs.filter((o) => o.kind === 'ValidatingWebhookConfiguration');
    await apply(
      docs
        .filter((o) => o.kind === 'Namespace')
        .map((o) => stringify(o))
        .join('---\n'),
    );
    await must([
      'create',
      'secret',
      'generic',
      'tether-tokens',
      '-n',
      'tether-system',
      `--from-literal=root=${ROOT_TOKEN}`,
    ]);
    const signing = generateKeyPairSync('ed25519');
    await must([
      'create',
      'secret',
      'generic',
      'tether-ledger-key',
      '-n',
      'tether-system',
      `--from-literal=signing.pem=${signing.privateKey.export({ type: 'pkcs8', format: 'pem' })}`,
      `--from-literal=digest=${'ab'.repeat(32)}`,
    ]);
    await apply(
      docs
        .filter((o) => o.kind !== 'Namespace' && o.kind !== 'ValidatingWebhookConfiguration')
        .map((o) => stringify(o))
        .join('---\n'),
    );
    await apply(AGENT_RBAC);
    await apply([deploymentYaml('web', 'shop'), deploymentYaml('ledger', 'payments')].join('---\n'));
    await apply(agentsYaml());

    const { args, env } = await materializePod(scratch, port);
    let log = '';
    const proc: ChildProcess = spawn(process.execPath, [join(ROOT, 'bin/tether.js'), ...args], {
      cwd: scratch,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout?.on('data', (c) => (log += c));
    proc.stderr?.on('data', (c) => (log += c));
    try {
      const ca = readFileSync(join(scratch, 'etc/tether/tls/ca.crt'), 'utf8');
      const url = `https://127.0.0.1:${port}`;
      // Ready means the policy was listed and watched through the service account's RBAC.
      await waitFor(`readiness\n${log}`, async () => (await https(`${url}/readyz`, { ca })).status === 200);
      const agents = (await https<{ name: string }[]>(`${url}/v1/agents`, { ca, token: ROOT_TOKEN })).body;
      assert.ok(
        agents.some((a) => a.name === 'scaler-bot'),
        JSON.stringify(agents),
      );
      // Checkpoints are signed with the key from the Secret, not one made in the data directory.
      const pubkey = (await https<{ pem: string }>(`${url}/v1/ledger/pubkey`, { ca, token: ROOT_TOKEN })).body.pem;
      assert.equal(pubkey, signing.publicKey.export({ type: 'spki', format: 'pem' }));
      // Status written back with the chart's agents/status permission.
      await waitFor(
        'Agent status',
        async () =>
          (await kubectl(admin, ['get', 'agent', 'scaler-bot', '-o', 'jsonpath={.status.enforced}'])).stdout === 'true',
      );

      await apply(webhook.map((o) => stringify(o)).join('---\n'));
      const intent = (replicas: number) =>
        JSON.stringify({
          metadata: { annotations: { 'tether.dev/intent': JSON.stringify({ summary: 'chart e2e' }) } },
          spec: { replicas },
        });
      // The API server may take a moment to see the new webhook configuration: probe with an identity that
      // looks like an agent but has none (a dry run, refused as unregistered), so no real agent collects
      // refusals toward its breaker while the webhook is not in place yet.
      await waitFor('the webhook to be in place', async () => {
        const r = await kubectl(kube.kubeconfig('rogue'), [
          'patch',
          'deployment/web',
          '-n',
          'shop',
          '--type=merge',
          '--dry-run=server',
          '-p',
          intent(5),
        ]);
        return r.code !== 0 && /admission webhook "agents\.tether\.dev" denied the request/.test(r.stderr);
      });
      const refused = await kubectl(kube.kubeconfig('scaler'), [
        'patch',
        'deployment/ledger',
        '-n',
        'payments',
        '--type=merge',
        '-p',
        intent(2),
      ]);
      assert.notEqual(refused.code, 0, 'outside its boundary the agent is refused');
      assert.match(
        refused.stderr,
        /admission webhook "agents\.tether\.dev" denied the request.*boundary/is,
        'by Tether, saying which rule',
      );
      const allowed = await kubectl(kube.kubeconfig('scaler'), [
        'patch',
        'deployment/web',
        '-n',
        'shop',
        '--type=merge',
        '-p',
        intent(3),
      ]);
      assert.equal(allowed.code, 0, `inside its boundary the agent is allowed: ${allowed.stderr}`);
      const human = await kubectl(admin, [
        'patch',
        'deployment/ledger',
        '-n',
        'payments',
        '--type=merge',
        '-p',
        '{"spec":{"replicas":2}}',
      ]);
      assert.equal(human.code, 0, 'humans never wait on Tether');
    } finally {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      await kubectl(admin, ['delete', 'validatingwebhookconfiguration', 'tether']);
    }
  });

  /** The pod's volumes as files under `root`, its service account, and its command line pointing there. */
  async function materializePod(root: string, port: number): Promise<{ args: string[]; env: NodeJS.ProcessEnv }> {
    const get = async (kind: string, name: string) =>
      JSON.parse(await must(['get', kind, name, '-n', 'tether-system', '-o', 'json'])) as Record<string, Y>;
    const deployment = await get('deployment', 'tether');
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    const write = (path: string, content: string | Buffer) => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
    };
    for (const m of container.volumeMounts as { name: string; mountPath: string; subPath?: string }[]) {
      const v = (pod.volumes as Record<string, Y>[]).find((x) => x.name === m.name) as Record<string, Y>;
      let files: Record<string, Buffer> = {};
      if (v.configMap)
        files = Object.fromEntries(
          Object.entries((await get('configmap', v.configMap.name)).data as Record<string, string>).map(([k, s]) => [
            k,
            Buffer.from(s),
          ]),
        );
      else if (v.secret)
        files = Object.fromEntries(
          Object.entries((await get('secret', v.secret.secretName)).data as Record<string, string>).map(([k, s]) => [
            k,
            Buffer.from(s, 'base64'),
          ]),
        );
      const items = (v.configMap ?? v.secret)?.items as { key: string; path: string }[] | undefined;
      if (items) files = Object.fromEntries(items.map((i) => [i.path, files[i.key] as Buffer]));
      if (m.subPath) write(m.mountPath, files[m.subPath] as Buffer);
      else {
        mkdirSync(join(root, m.mountPath), { recursive: true });
        for (const [k, b] of Object.entries(files)) write(join(m.mountPath, k), b);
      }
    }
    // The pod's paths live under the scratch root; its port is the free loopback one the webhook URL names.
    const configPath = (container.args as string[])[(container.args as string[]).indexOf('--config') + 1] as string;
    const config = parse(readFileSync(join(root, configPath), 'utf8'));
    assert.equal(config.policy.source, 'kubernetes');
    assert.equal(config.policy.kubeconfig, undefined, 'in the cluster, no kubeconfig');
    // Every path the pod sees, store URLs too (sqlite:/var/lib/tether/…), moves under the scratch root.
    const rooted = JSON.parse(
      JSON.stringify(config).replace(
        /"(sqlite:)?(\/(etc\/tether|var\/lib\/tether)[^"]*)"/g,
        (_m, scheme: string | undefined, p: string) => JSON.stringify(`${scheme ?? ''}${join(root, p)}`),
      ),
    );
    assert.doesNotMatch(
      JSON.stringify(rooted),
      /[":](\/etc\/tether|\/var\/lib\/tether)/,
      'no path of the pod is left pointing at this machine',
    );
    rooted.listen = { host: '127.0.0.1', port };
    writeFileSync(join(root, configPath), stringify(rooted));
    // The service account, as the kubelet projects it: a TokenRequest token, the cluster CA, the namespace.
    const saDir = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
    mkdirSync(saDir, { recursive: true });
    writeFileSync(
      join(saDir, 'token'),
      (await must(['create', 'token', pod.serviceAccountName, '-n', 'tether-system', '--duration=1h'])).trim(),
    );
    const kc = parse(readFileSync(admin, 'utf8'));
    const cluster = kc.clusters[0].cluster;
    writeFileSync(
      join(saDir, 'ca.crt'),
      cluster['certificate-authority-data']
        ? Buffer.from(cluster['certificate-authority-data'], 'base64')
        : readFileSync(cluster['certificate-authority']),
    );
    writeFileSync(join(saDir, 'namespace'), 'tether-system');
    const server = new URL(kube.url);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: root,
      ...Object.fromEntries((container.env ?? []).map((e: { name: string; value: string }) => [e.name, e.value])),
      KUBERNETES_SERVICE_HOST: server.hostname,
      KUBERNETES_SERVICE_PORT: server.port,
      TETHER_SERVICEACCOUNT_ROOT: root,
    };
    return { args: (container.args as string[]).map((a) => (a.startsWith('/') ? join(root, a) : a)), env };
  }
});

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
