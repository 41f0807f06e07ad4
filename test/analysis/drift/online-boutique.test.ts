// Drift on a real GitOps repository (Google's Online Boutique, kustomize): desired state rendered
// from Git with kubectl kustomize, live state from the API server stand-in, attribution from
// managedFields, Tether ledger leaves and audit events.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { detectDrift, type DetectOptions } from '../../../src/analysis/drift/detect.ts';
import { auditEvidenceFromEvents } from '../../../src/analysis/drift/evidence.ts';
import type { DesiredObject, KubeObject, ObjectFinding } from '../../../src/analysis/drift/model.ts';
import type { LedgerLeaf } from '../../../src/ledger/leaf.ts';
import {
  AGENT,
  agentDecision,
  agentDeletesService,
  auditEvent,
  boutique,
  type Boutique,
  container,
  HUMAN,
  memoryLedger,
  spec,
} from './support.ts';

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups) c();
});

async function scenario(opts: Parameters<typeof boutique>[0] = {}): Promise<Boutique> {
  const b = await boutique(opts);
  cleanups.push(b.repo.cleanup);
  return b;
}

function detect(b: Boutique, options: DetectOptions = {}, desired: readonly DesiredObject[] = b.desired.objects) {
  return detectDrift(
    { desired, live: b.api.list(), problems: b.desired.problems },
    { revision: b.desired.revision, ...options },
  );
}

function finding(findings: readonly ObjectFinding[], kind: string, name: string): ObjectFinding {
  const f = findings.find((x) => x.id.kind === kind && x.id.name === name);
  assert.ok(f, `no finding for ${kind} ${name}; have ${findings.map((x) => `${x.id.kind}/${x.id.name}`).join(', ')}`);
  return f;
}

test('a freshly applied repository is in sync: defaults, server metadata and status are not drift', async () => {
  const b = await scenario();
  assert.equal(b.desired.objects.length, 35);
  assert.deepEqual(b.desired.problems, []);
  const live = b.api.get('Deployment', 'default', 'frontend') as KubeObject;
  assert.equal(container(live, 'server').imagePullPolicy, 'IfNotPresent', 'the stand-in defaulted the container');
  assert.ok(live.status && live.metadata.managedFields?.length);
  const report = await detect(b);
  assert.deepEqual(report.findings, []);
  assert.equal(report.compared, 35);
  assert.equal(report.inSync, 35);
});

test('status-only changes and changes to defaulted fields Git leaves unset are never reported', async () => {
  const b = await scenario();
  for (const d of b.desired.objects.filter((x) => x.id.kind === 'Deployment')) {
    b.api.update(
      'Deployment',
      'default',
      d.id.name,
      'kube-controller-manager',
      (o) => {
        o.status = {
          ...(o.status as object),
          readyReplicas: 0,
          unavailableReplicas: 1,
          conditions: [{ type: 'Available', status: 'False' }],
        };
      },
      { subresource: 'status' },
    );
  }
  b.api.tick();
  b.api.update('Deployment', 'default', 'frontend', 'kubectl-edit', (o) => {
    spec(o).progressDeadlineSeconds = 900;
    spec(o).revisionHistoryLimit = 3;
    container(o, 'server').imagePullPolicy = 'Always';
    container(o, 'server').terminationMessagePolicy = 'FallbackToLogsOnError';
  });
  b.api.update('Service', 'default', 'frontend', 'kubectl-edit', (o) => {
    spec(o).sessionAffinity = 'ClientIP';
    o.metadata.labels = { ...o.metadata.labels, 'team.example.com/owner': 'shop' };
  });
  const report = await detect(b);
  assert.deepEqual(report.findings, []);
});

test('an agent scaling loadgenerator is attributed to the agent, its owner and its intent (ledger)', async () => {
  const b = await scenario();
  const before = b.api.now();
  b.api.update('Deployment', 'default', 'loadgenerator', 'kubectl', (o) => void (spec(o).replicas = 4), {
    subresource: 'scale',
  });
  const ledger = memoryLedger([
    agentDecision({
      time: before,
      agent: AGENT.name,
      owner: AGENT.owner,
      verb: 'patch',
      resource: 'deployments',
      namespace: 'default',
      name: 'loadgenerator',
      subresource: 'scale',
      intent: 'double the synthetic load for the capacity test',
      trigger: 'ticket:OPS-4411',
    }),
  ]);
  const report = await detect(b, { attribution: { ledger } });
  assert.equal(report.findings.length, 1);
  const f = finding(report.findings, 'Deployment', 'loadgenerator');
  assert.equal(f.source?.file, 'kustomize/base/loadgenerator.yaml');
  const [d] = f.fields;
  assert.equal(d?.display, 'spec.replicas');
  assert.equal(d?.desired, 1);
  assert.equal(d?.live, 4);
  const a = d?.attribution;
  assert.equal(a?.actor.class, 'agent');
  assert.equal(a?.actor.name, AGENT.name);
  assert.equal(a?.actor.owner, AGENT.owner);
  assert.equal(a?.actor.intent?.summary, 'double the synthetic load for the capacity test');
  assert.equal(a?.actor.intent?.trigger, 'ticket:OPS-4411');
  assert.equal(a?.manager, 'kubectl');
  assert.equal(a?.subresource, 'scale');
  // The API server leaves scale writes without a time: matched by subresource only.
  assert.equal(a?.confidence, 'medium');
  assert.deepEqual([...new Set(a?.evidence.map((e) => e.source))].sort(), ['ledger', 'managedFields']);
  assert.deepEqual(
    ledger.asked.find((t) => t.name === 'loadgenerator'),
    { group: 'apps', resource: 'deployments', namespace: 'default', name: 'loadgenerator' },
  );
});

test('with audit events the scale is attributed with high confidence, linked by audit ID', async () => {
  const b = await scenario();
  const at = b.api.now();
  b.api.update('Deployment', 'default', 'loadgenerator', 'kubectl', (o) => void (spec(o).replicas = 4), {
    subresource: 'scale',
  });
  const auditID = '6a1c1a0e-2a1b-4c46-9d7e-0c1f0f6a2b11';
  const leaves = [
    agentDecision({
      time: at,
      agent: AGENT.name,
      owner: AGENT.owner,
      verb: 'patch',
      resource: 'deployments',
      namespace: 'default',
      name: 'loadgenerator',
      subresource: 'scale',
      intent: 'capacity test',
      auditId: auditID,
    }),
  ];
  const audit = auditEvidenceFromEvents([
    auditEvent({
      auditID,
      username: AGENT.username,
      verb: 'patch',
      resource: 'deployments',
      namespace: 'default',
      name: 'loadgenerator',
      subresource: 'scale',
      at,
    }),
    // Noise that must not match: a read, a failed write, another object.
    {
      ...auditEvent({
        auditID: 'r1',
        username: HUMAN,
        verb: 'get',
        resource: 'deployments',
        namespace: 'default',
        name: 'loadgenerator',
        at,
      }),
    },
    {
      ...auditEvent({
        auditID: 'f1',
        username: HUMAN,
        verb: 'patch',
        resource: 'deployments',
        namespace: 'default',
        name: 'loadgenerator',
        subresource: 'scale',
        at,
      }),
      responseStatus: { code: 403 },
    },
  ]);
  const report = await detect(b, { attribution: { ledger: memoryLedger(leaves), audit } });
  const a = finding(report.findings, 'Deployment', 'loadgenerator').fields[0]?.attribution;
  assert.equal(a?.actor.class, 'agent');
  assert.equal(a?.actor.username, AGENT.username);
  assert.equal(a?.confidence, 'high');
  assert.equal(a?.auditId, auditID);
  assert.match(a?.evidence.find((e) => e.source === 'ledger')?.detail ?? '', /matched by audit ID/);
});

test('an agent editing the image is attributed with high confidence by time; a human edit to a human', async () => {
  const b = await scenario();
  const agentAt = b.api.tick();
  b.api.update(
    'Deployment',
    'default',
    'frontend',
    'kubectl-edit',
    (o) =>
      void (container(o, 'server').image =
        'us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo/frontend:v0.10.7-hotfix'),
  );
  const humanAt = b.api.tick(120);
  b.api.update('Deployment', 'default', 'cartservice', 'kubectl-set', (o) => {
    container(o, 'server').resources.limits.memory = '256Mi';
  });
  const leaves: LedgerLeaf[] = [
    agentDecision({
      time: new Date(Date.parse(agentAt) - 400).toISOString(),
      agent: AGENT.name,
      owner: AGENT.owner,
      verb: 'update',
      resource: 'deployments',
      namespace: 'default',
      name: 'frontend',
      intent: 'roll out the checkout hotfix',
      approvals: ['apr-7'],
    }),
    // An old decision on cartservice, long before the human's edit: it must not be blamed.
    agentDecision({
      time: '2026-03-01T08:00:00Z',
      agent: AGENT.name,
      owner: AGENT.owner,
      verb: 'update',
      resource: 'deployments',
      namespace: 'default',
      name: 'cartservice',
      intent: 'older change',
    }),
  ];
  const report = await detect(b, { attribution: { ledger: memoryLedger(leaves) } });
  assert.equal(report.findings.length, 2);
  const image = finding(report.findings, 'Deployment', 'frontend').fields[0];
  assert.equal(image?.display, 'spec.template.spec.containers[name=server].image');
  assert.equal(image?.attribution.actor.class, 'agent');
  assert.equal(image?.attribution.confidence, 'high');
  assert.deepEqual(image?.attribution.actor.approvals, ['apr-7']);
  assert.equal(image?.attribution.manager, 'kubectl-edit');
  assert.equal(image?.attribution.time, agentAt);
  const memory = finding(report.findings, 'Deployment', 'cartservice').fields[0];
  assert.equal(memory?.display, 'spec.template.spec.containers[name=server].resources.limits.memory');
  assert.equal(memory?.attribution.actor.class, 'human');
  assert.equal(memory?.attribution.confidence, 'medium');
  assert.equal(memory?.attribution.time, humanAt);
  assert.match(
    memory?.attribution.evidence.map((e) => e.detail).join('\n') ?? '',
    /no agent decision on this object around/,
  );

  const audit = auditEvidenceFromEvents([
    auditEvent({
      auditID: 'h1',
      username: HUMAN,
      verb: 'patch',
      resource: 'deployments',
      namespace: 'default',
      name: 'cartservice',
      at: humanAt,
      fieldManager: 'kubectl-set',
    }),
  ]);
  const sure = await detect(b, { attribution: { ledger: memoryLedger(leaves), audit } });
  const m2 = finding(sure.findings, 'Deployment', 'cartservice').fields[0]?.attribution;
  assert.equal(m2?.actor.class, 'human');
  assert.equal(m2?.actor.name, HUMAN);
  assert.equal(m2?.confidence, 'high');
});

test('without a ledger a kubectl edit is a human with low confidence, and says why', async () => {
  const b = await scenario();
  b.api.update('Service', 'default', 'frontend', 'kubectl-edit', (o) => void (spec(o).ports[0].targetPort = 9090));
  const report = await detect(b);
  const d = finding(report.findings, 'Service', 'frontend').fields[0];
  assert.equal(d?.display, 'spec.ports[port=80,protocol=TCP].targetPort');
  assert.equal(d?.attribution.actor.class, 'human');
  assert.equal(d?.attribution.confidence, 'low');
  assert.match(d?.attribution.evidence.map((e) => e.detail).join('\n') ?? '', /no ledger consulted/);
});

test('an agent scaling a workload whose replicas Git leaves unset is not drift', async () => {
  const b = await scenario();
  b.api.update('Deployment', 'default', 'frontend', 'kubectl', (o) => void (spec(o).replicas = 9), {
    subresource: 'scale',
  });
  assert.deepEqual((await detect(b)).findings, []);
});

test('an autoscaler owns the replicas of its target, even where Git sets them', async () => {
  const b = await scenario();
  b.api.create({
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'loadgenerator', namespace: 'default' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'loadgenerator' },
      minReplicas: 1,
      maxReplicas: 5,
    },
  });
  b.api.update(
    'Deployment',
    'default',
    'loadgenerator',
    'kube-controller-manager',
    (o) => void (spec(o).replicas = 5),
    { subresource: 'scale' },
  );
  const report = await detect(b);
  assert.deepEqual(report.findings, []);
  assert.equal(report.ignoredObjects, 1);
  const noHpa = await detect(b, { respectAutoscalers: false });
  assert.equal(finding(noHpa.findings, 'Deployment', 'loadgenerator').fields[0]?.attribution.actor.class, 'controller');
});

test('quantity notation and list order are noise, not drift', async () => {
  const b = await scenario();
  // Git written with other notations than the server prints: 0.1 CPU, 65536Ki memory, 200m as 0.2.
  const desired = b.desired.objects.map((d) => {
    if (d.id.kind !== 'Deployment' || d.id.name !== 'frontend') return d;
    const o = structuredClone(d.object);
    container(o, 'server').resources = {
      requests: { cpu: 0.1, memory: '65536Ki' },
      limits: { cpu: '0.2', memory: '0.125Gi' },
    };
    return { ...d, object: o };
  });
  const live = b.api.get('Deployment', 'default', 'frontend') as KubeObject;
  assert.deepEqual(container(live, 'server').resources, {
    requests: { cpu: '100m', memory: '64Mi' },
    limits: { cpu: '200m', memory: '128Mi' },
  });
  // Someone reorders env vars and containers' ports: same content, other order.
  b.api.update('Deployment', 'default', 'frontend', 'kubectl-edit', (o) => void container(o, 'server').env.reverse());
  b.api.update(
    'Deployment',
    'default',
    'cartservice',
    'kubectl-edit',
    (o) => void container(o, 'server').env.reverse(),
  );
  assert.deepEqual((await detect(b, {}, desired)).findings, []);
});

test('GitOps-labelled objects absent from Git are extra; unlabelled or foreign ones are not', async () => {
  const flux = {
    'kustomize.toolkit.fluxcd.io/name': 'boutique',
    'kustomize.toolkit.fluxcd.io/namespace': 'flux-system',
  };
  const b = await scenario({ labels: flux });
  const at = b.api.tick();
  const debug = (name: string, labels?: Record<string, string>): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default', ...(labels ? { labels } : {}) },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'sh', image: 'busybox:1.36' }] } },
    },
  });
  b.api.create(debug('debug-shell', flux), 'kubectl-client-side-apply');
  b.api.create(debug('scratch'), 'kubectl-create');
  b.api.create(
    debug('other-app', {
      'kustomize.toolkit.fluxcd.io/name': 'payments',
      'kustomize.toolkit.fluxcd.io/namespace': 'flux-system',
    }),
    'kustomize-controller',
  );
  const ledger = memoryLedger([
    agentDecision({
      time: at,
      agent: AGENT.name,
      owner: AGENT.owner,
      verb: 'create',
      resource: 'deployments',
      namespace: 'default',
      name: 'debug-shell',
      intent: 'debug checkout latency',
    }),
  ]);
  const report = await detect(b, { attribution: { ledger } });
  assert.deepEqual(
    report.findings.map((f) => `${f.state} ${f.id.name}`),
    ['extra debug-shell'],
  );
  const f = finding(report.findings, 'Deployment', 'debug-shell');
  assert.equal(f.gitopsOwner, 'kustomize.toolkit.fluxcd.io/name=boutique');
  assert.equal(f.attribution?.actor.class, 'agent');
  assert.equal(f.attribution?.actor.intent?.summary, 'debug checkout latency');
  const any = await detect(b, { extraOwners: 'any' });
  assert.deepEqual(any.findings.map((x) => x.id.name).sort(), ['debug-shell', 'other-app']);
});

test('a deleted object is missing; the ledger says which agent deleted it', async () => {
  const b = await scenario();
  const ledger = agentDeletesService(b.api, 'emailservice', 'remove unused service');
  const report = await detect(b, { attribution: { ledger } });
  const f = finding(report.findings, 'Service', 'emailservice');
  assert.equal(f.state, 'missing');
  assert.equal(f.attribution?.actor.class, 'agent');
  assert.equal(f.attribution?.actor.owner, AGENT.owner);
  const unknown = await detect(b);
  assert.equal(finding(unknown.findings, 'Service', 'emailservice').attribution?.actor.class, 'unknown');
});

test('ignore rules by JSON pointer, by kind and by field manager', async () => {
  const b = await scenario();
  b.api.update('Deployment', 'default', 'frontend', 'kubectl-edit', (o) => void (container(o, 'server').image = 'x:1'));
  b.api.update('Deployment', 'default', 'adservice', 'kubectl-set', (o) => void (container(o, 'server').image = 'y:1'));
  b.api.update('Service', 'default', 'cartservice', 'kubectl-edit', (o) => void (spec(o).selector = { app: 'other' }));
  assert.equal((await detect(b)).findings.length, 3);
  const byPointer = await detect(b, {
    ignore: [
      {
        group: 'apps',
        kind: 'Deployment',
        jsonPointers: ['/spec/template/spec/containers/*/image'],
        reason: 'images are promoted by the release bot',
      },
    ],
  });
  assert.deepEqual(
    byPointer.findings.map((f) => f.id.name),
    ['cartservice'],
  );
  const byKind = await detect(b, { ignore: [{ kind: 'Service' }] });
  assert.deepEqual(byKind.findings.map((f) => f.id.name).sort(), ['adservice', 'frontend']);
  const byManager = await detect(b, { ignore: [{ managers: ['kubectl-set'] }] });
  assert.deepEqual(byManager.findings.map((f) => f.id.name).sort(), ['cartservice', 'frontend']);
});

test('Secret values never appear in findings', async () => {
  const b = await scenario();
  const secret: KubeObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'redis-auth', namespace: 'default' },
    type: 'Opaque',
    stringData: { password: 'hunter2' },
  };
  const desired = [
    ...b.desired.objects,
    {
      id: { group: '', version: 'v1', kind: 'Secret', namespace: 'default', name: 'redis-auth' },
      object: secret,
      source: { file: 'secret.yaml', doc: 0, renderer: 'plain' as const },
    },
  ];
  b.api.create(
    { ...secret, stringData: undefined, data: { password: Buffer.from('hunter2').toString('base64') } } as KubeObject,
    'kubectl-client-side-apply',
  );
  assert.deepEqual((await detect(b, {}, desired)).findings, [], 'stringData is compared as data');
  b.api.update(
    'Secret',
    'default',
    'redis-auth',
    'kubectl-edit',
    (o) => void ((o.data as Record<string, string>).password = Buffer.from('letmein').toString('base64')),
  );
  const report = await detect(b, {}, desired);
  const text = JSON.stringify(report);
  assert.ok(
    !text.includes(Buffer.from('letmein').toString('base64')) &&
      !text.includes(Buffer.from('hunter2').toString('base64')),
  );
  assert.match(String(finding(report.findings, 'Secret', 'redis-auth').fields[0]?.live), /^\(secret value sha256:/);
});
