// The Helm chart: lint, render for three value sets, refuse bad values at install, keep
// deploy/manifests fresh. (Applying what it renders to a real API server: test/e2e/helm-chart.test.ts.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { CHART, ensureHelm, helm, MANIFESTS, renderManifests } from '../../scripts/helm.ts';
import { agentMatchExpression } from '../../src/adapters/kube-config/webhook-config.ts';
import { VALUE_SETS, type ValueSetName, valuesFile } from './values.ts';

// biome-ignore lint/suspicious/noExplicitAny: rendered and fetched YAML is untyped; the assertions check its shape
type Y = any;

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec?: Y;
  data?: Y;
  webhooks?: Y[];
};

let helmMissing: string | undefined;
try {
  ensureHelm();
} catch (e) {
  helmMissing = `helm could not be built (needs Go): ${(e as Error).message.split('\n')[0]}`;
  console.warn(`\n*** HELM CHART TESTS SKIPPED: ${helmMissing} ***\n`);
}

export function render(values: unknown, release = 'tether', namespace = 'tether-system'): Obj[] {
  const r = helm(['template', release, CHART, '--namespace', namespace, '-f', valuesFile(values)]);
  assert.equal(r.code, 0, r.stderr);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Obj)
    .filter(Boolean);
}

const find = (objs: Obj[], kind: string, name?: string) =>
  objs.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));

describe('helm chart', { skip: helmMissing }, () => {
  const rendered = {} as Record<ValueSetName, Obj[]>;
  before(() => {
    for (const name of Object.keys(VALUE_SETS) as ValueSetName[]) rendered[name] = render(VALUE_SETS[name]);
  });

  test('helm lint passes with the defaults and with each value set', () => {
    const plain = helm(['lint', CHART, '--strict']);
    assert.equal(plain.code, 0, plain.stdout + plain.stderr);
    for (const values of Object.values(VALUE_SETS)) {
      const r = helm(['lint', CHART, '--strict', '-f', valuesFile(values)]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }
  });

  test('SQLite: one replica, a volume claim, recreated on upgrade; PostgreSQL: two replicas from a Secret URL, rolling', () => {
    const sqlite = find(rendered.sqlite, 'Deployment') as Obj;
    assert.equal(sqlite.spec.replicas, 1);
    assert.equal(sqlite.spec.strategy.type, 'Recreate');
    assert.ok(find(rendered.sqlite, 'PersistentVolumeClaim'));
    assert.match(
      find(rendered.sqlite, 'ConfigMap')?.data['tether.yaml'],
      /store: sqlite:\/var\/lib\/tether\/tether\.db/,
    );

    const pg = find(rendered.postgres, 'Deployment') as Obj;
    assert.equal(pg.spec.replicas, 2);
    assert.equal(pg.spec.strategy.type, 'RollingUpdate');
    assert.equal(find(rendered.postgres, 'PersistentVolumeClaim'), undefined);
    const config = find(rendered.postgres, 'ConfigMap')?.data['tether.yaml'] as string;
    assert.match(config, /storeFile: \/etc\/tether\/store\/url/);
    assert.doesNotMatch(config, /postgres:\/\//, 'the URL (and its password) stays in the Secret');
    assert.equal(find(rendered.postgres, 'PodDisruptionBudget')?.spec.minAvailable, 1);
  });

  test('the pod is locked down: non-root, read-only root, no privilege escalation, seccomp RuntimeDefault, probes on /healthz and /readyz', () => {
    for (const objs of Object.values(rendered)) {
      const pod = (find(objs, 'Deployment') as Obj).spec.template.spec;
      const c = pod.containers[0];
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
      assert.deepEqual(
        [
          c.securityContext.readOnlyRootFilesystem,
          c.securityContext.allowPrivilegeEscalation,
          c.securityContext.capabilities.drop,
        ],
        [true, false, ['ALL']],
      );
      assert.equal(c.readinessProbe.httpGet.path, '/readyz');
      assert.equal(c.livenessProbe.httpGet.path, '/healthz');
      assert.ok(c.resources.requests.cpu && c.resources.requests.memory);
      assert.ok(pod.affinity.podAntiAffinity);
    }
  });

  test('tokens, the ledger signing key and notification URLs come from Secrets, mounted read-only', () => {
    const pod = (find(rendered.postgres, 'Deployment') as Obj).spec.template.spec;
    const secrets = pod.volumes.filter((v: Y) => v.secret).map((v: Y) => v.secret.secretName);
    assert.deepEqual(secrets.sort(), [
      'tether-keys',
      'tether-ledger-key',
      'tether-postgres',
      'tether-slack',
      'tether-tls',
      'tether-tokens',
    ]);
    const mounts = Object.fromEntries(pod.containers[0].volumeMounts.map((m: Y) => [m.name, m]));
    assert.equal(mounts['ledger-key'].mountPath, '/etc/tether/ledger', 'the key is kept apart from the data volume');
    assert.equal(mounts.data.mountPath, '/var/lib/tether');
    const config = find(rendered.postgres, 'ConfigMap')?.data['tether.yaml'] as string;
    assert.match(
      config,
      /signingKeyFile: \/etc\/tether\/ledger\/ledger-signing-key\.pem/,
      'serve reads the key where it is mounted',
    );
    assert.match(
      config,
      /tokenFile: \/etc\/tether\/tokens\/alice\n\s+human: alice@example.com|human: alice@example.com\n\s+tokenFile: \/etc\/tether\/tokens\/alice/,
    );
    assert.match(config, /urlFile: \/etc\/tether\/notifications\/0\/url/);
    assert.match(config, /digestKeyFile: \/etc\/tether\/digest\/digest-key/, 'every replica keys digests alike');
    assert.equal(
      pod.containers[0].env.find((e: Y) => e.name === 'OTEL_EXPORTER_OTLP_ENDPOINT')?.value,
      'http://otel-collector.observability:4318',
    );
  });

  test('the webhook fails closed for agents only, with the same matchConditions tether webhook-config builds', () => {
    for (const [name, objs] of Object.entries(rendered)) {
      const hook = (find(objs, 'ValidatingWebhookConfiguration') as Obj).webhooks?.[0];
      assert.equal(hook.failurePolicy, 'Fail');
      const threads = (VALUE_SETS[name as ValueSetName] as { webhook?: { threads?: number } }).webhook?.threads ?? 0;
      assert.deepEqual(hook.clientConfig.service, {
        name: 'tether',
        namespace: 'tether-system',
        path: '/admission',
        port: threads > 0 ? 9443 : 443,
      });
      const a = (VALUE_SETS[name as ValueSetName] as { agents?: Record<string, string[]> }).agents ?? {
        serviceAccountNamespaces: ['agents'],
      };
      const expected = agentMatchExpression(
        {
          usernames: [...(a.usernames ?? [])].sort(),
          prefixes: [
            ...new Set([
              ...(a.usernamePrefixes ?? []),
              ...(a.serviceAccountNamespaces ?? []).map((ns) => `system:serviceaccount:${ns}:`),
            ]),
          ].sort(),
          groups: [...(a.groups ?? [])].sort(),
        },
        'request.userInfo.username',
        'request.userInfo.groups',
      );
      assert.equal(hook.matchConditions[0].expression, expected, name);
    }
  });

  test("the CA bundle: the chart's own CA signs the serving certificate; with cert-manager, cert-manager injects it", async () => {
    const { X509Certificate } = await import('node:crypto');
    const secret = find(rendered.sqlite, 'Secret', 'tether-tls') as Obj;
    const ca = new X509Certificate(Buffer.from(secret.data['ca.crt'], 'base64'));
    const leaf = new X509Certificate(Buffer.from(secret.data['tls.crt'], 'base64'));
    assert.ok(leaf.verify(ca.publicKey), 'the serving certificate is signed by the CA');
    assert.match(leaf.subjectAltName ?? '', /DNS:tether\.tether-system\.svc\b/);
    const hook = (find(rendered.sqlite, 'ValidatingWebhookConfiguration') as Obj).webhooks?.[0];
    assert.equal(
      Buffer.from(hook.clientConfig.caBundle, 'base64').toString(),
      Buffer.from(secret.data['ca.crt'], 'base64').toString(),
    );

    const cm = rendered.certManager;
    assert.equal(find(cm, 'Secret', 'tether-tls'), undefined, 'no private key in the rendered output');
    assert.equal(
      find(cm, 'ValidatingWebhookConfiguration')?.metadata.annotations?.['cert-manager.io/inject-ca-from'],
      'tether-system/tether',
    );
    assert.equal(find(cm, 'Certificate', 'tether')?.spec.secretName, 'tether-tls');
    assert.ok(find(cm, 'ServiceMonitor'));
  });

  test('RBAC is least privilege: reads, plus writes only to Agent status, PolicyReports, its Lease and its own Secret', () => {
    const objs = rendered.postgres;
    const cluster = (
      find(objs, 'ClusterRole') as Obj & { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] }
    ).rules;
    const writes = cluster
      .filter((r) => r.verbs.some((v) => !['get', 'list', 'watch'].includes(v)))
      .flatMap((r) => r.resources);
    assert.deepEqual(writes.sort(), ['agents/status', 'clusterpolicyreports', 'policyreports']);
    assert.ok(!cluster.some((r) => r.resources.includes('secrets')), 'no cluster-wide Secret access');
    assert.ok(!cluster.some((r) => r.verbs.includes('*') || r.resources.includes('*')));
    const role = (
      find(objs, 'Role') as Obj & { rules: { resources: string[]; resourceNames?: string[]; verbs: string[] }[] }
    ).rules;
    const secretRule = role.find((r) => r.resources.includes('secrets'));
    assert.deepEqual(secretRule?.resourceNames, ['tether-tls']);
  });

  test('webhook.threads moves the reviews to port 9443, served by that many threads; 0 keeps them on 443', () => {
    const config = (objs: Obj[]) => parse((find(objs, 'ConfigMap') as Obj).data['tether.yaml']);
    const ports = (objs: Obj[]) => (find(objs, 'Service', 'tether') as Obj).spec.ports.map((p: Y) => p.port);
    const threaded = rendered.postgres;
    assert.equal(config(threaded).listen.webhookPort, 9443);
    assert.equal(config(threaded).webhookThreads, 2);
    assert.deepEqual(ports(threaded), [443, 9443]);
    const container = (find(threaded, 'Deployment') as Obj).spec.template.spec.containers[0];
    assert.deepEqual(
      container.ports.map((p: Y) => [p.name, p.containerPort]),
      [
        ['https', 8443],
        ['webhooks', 9443],
      ],
    );
    const policy = render({ ...VALUE_SETS.postgres, networkPolicy: { enabled: true } });
    assert.deepEqual(
      (find(policy, 'NetworkPolicy') as Obj).spec.ingress[0].ports.map((p: Y) => p.port),
      [8443, 9443],
    );
    assert.equal(config(rendered.sqlite).listen.webhookPort, undefined);
    assert.equal(config(rendered.sqlite).webhookThreads, undefined);
    assert.deepEqual(ports(rendered.sqlite), [443]);
  });

  test('bad values fail at install with a message that names the value', () => {
    const refuse = (values: unknown, pattern: RegExp) => {
      const r = helm(['template', 't', CHART, '-f', valuesFile(values)]);
      assert.notEqual(r.code, 0, `accepted: ${JSON.stringify(values)}`);
      assert.match(r.stderr, pattern);
    };
    refuse({ store: { type: 'sqlite' }, replicaCount: 2 }, /replicaCount/);
    refuse({ store: { type: 'mysql' } }, /store\.type|store\/type|type/);
    refuse({ webhook: { url: 'http://tether.example:8443' } }, /webhook/);
    refuse({ tls: { mode: 'existing' } }, /existingSecret|caBundle/);
    refuse({ tokens: { existingSecret: 'x', entries: [{ key: 'a', human: 'a@x', agentUsername: 'b' }] } }, /tokens/);
    refuse({ replicasCount: 3 }, /replicasCount/);
    refuse({ webhook: { threads: -1 } }, /threads/);
    refuse({ ledger: { signingKey: { existingSecret: '' } } }, /existingSecret/);
  });

  test('deploy/manifests is rendered from the current chart (run npm run gen:manifests)', () => {
    assert.equal(readFileSync(MANIFESTS, 'utf8'), renderManifests(), 'deploy/manifests/tether.yaml is stale');
  });
});
