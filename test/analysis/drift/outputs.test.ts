// Report outputs: table, PolicyReport (wgpolicyk8s.io/v1alpha2), ledger leaves, notification.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { detectDrift } from '../../../src/analysis/drift/detect.ts';
import { formatTable } from '../../../src/analysis/drift/format-table.ts';
import { driftLeaves } from '../../../src/analysis/drift/ledger-leaves.ts';
import type { DriftReport } from '../../../src/analysis/drift/model.ts';
import { notificationPayload } from '../../../src/analysis/drift/notify.ts';
import { toPolicyReports } from '../../../src/analysis/drift/policy-report.ts';
import { canonicalJson } from '../../../src/common/canonical-json.ts';
import { AGENT, agentDecision, type Boutique, boutique, container, memoryLedger, spec } from './support.ts';

const HOTFIX = 'registry.example.com/frontend:hotfix-41';
let b: Boutique;
let report: DriftReport;

before(async () => {
  b = await boutique();
  const at = b.api.tick();
  b.api.update(
    'Deployment',
    'default',
    'frontend',
    'kubectl-edit',
    (o) => void (container(o, 'server').image = HOTFIX),
  );
  b.api.tick(60);
  b.api.update(
    'Service',
    'default',
    'cartservice',
    'kubectl-edit',
    (o) => void (spec(o).selector = { app: 'cart-v2' }),
  );
  b.api.delete('ServiceAccount', 'default', 'emailservice');
  const ledger = memoryLedger([
    agentDecision({
      time: at,
      agent: AGENT.name,
      owner: AGENT.owner,
      verb: 'update',
      resource: 'deployments',
      namespace: 'default',
      name: 'frontend',
      intent: 'ship hotfix 41',
      trigger: 'incident:INC-88',
      approvals: ['apr-1'],
    }),
  ]);
  report = await detectDrift(
    {
      desired: b.desired.objects,
      live: b.api.list(),
      problems: [
        { where: 'kustomize/base/broken.yaml', message: 'document 2 (line 9): invalid YAML', severity: 'error' },
      ],
    },
    { attribution: { ledger }, revision: b.desired.revision, now: new Date('2026-03-01T10:00:00Z'), listInSync: true },
  );
});
after(() => b.repo.cleanup());

test('the table names object, field, both values, the actor with owner, confidence, evidence and intent', () => {
  const text = formatTable(report);
  assert.match(
    text,
    /^3 of 35 object\(s\) differ from Git at HEAD \([0-9a-f]{12}\); 0 extra object\(s\); 32 in sync\./,
  );
  assert.match(
    text,
    /apps\/Deployment default\/frontend\s+spec\.template\.spec\.containers\[name=server\]\.image\s+us-central1-docker\.pkg\.dev\/onli…\s+registry\.example\.com\/frontend:h…\s+agent scaler-bot \(owner alice@example\.com\)\s+high/,
  );
  assert.match(text, /Service default\/cartservice\s+spec\.selector\.app\s+cartservice\s+cart-v2\s+human\s+medium/);
  assert.match(text, /ServiceAccount default\/emailservice\s+\(object missing from cluster\)/);
  assert.match(text, /intent "ship hotfix 41" \(trigger incident:INC-88\)/);
  assert.match(text, /error: kustomize\/base\/broken\.yaml: document 2 \(line 9\): invalid YAML/);
  assert.match(
    text,
    /prevention: agents scaler-bot changed objects Git declares, outside Git; add boundary\.protected .*gitopsManaged: true .*\(0 of these 1 do\)/,
  );
});

test('PolicyReports follow wgpolicyk8s.io/v1alpha2: one per namespace, failures and passes, string properties', () => {
  const reports = toPolicyReports(report);
  assert.equal(reports.length, 1);
  const r = reports[0];
  assert.equal(r?.apiVersion, 'wgpolicyk8s.io/v1alpha2');
  assert.equal(r?.kind, 'PolicyReport');
  assert.equal(r?.metadata.namespace, 'default');
  assert.deepEqual(r?.summary, { pass: 32, fail: 3, warn: 0, error: 0, skip: 0 });
  for (const res of r?.results ?? []) {
    assert.ok(['pass', 'fail', 'warn', 'error', 'skip'].includes(res.result));
    assert.ok(res.severity === undefined || ['critical', 'high', 'medium', 'low', 'info'].includes(res.severity));
    assert.equal(res.timestamp.seconds, Date.parse('2026-03-01T10:00:00Z') / 1000);
    assert.equal(res.resources.length, 1);
    for (const v of Object.values(res.properties)) assert.equal(typeof v, 'string');
  }
  const frontend = r?.results.find((x) => x.resources[0]?.name === 'frontend' && x.resources[0]?.kind === 'Deployment');
  assert.deepEqual(frontend?.resources, [
    { apiVersion: 'apps/v1', kind: 'Deployment', name: 'frontend', namespace: 'default' },
  ]);
  assert.equal(frontend?.result, 'fail');
  assert.equal(frontend?.severity, 'high');
  assert.equal(frontend?.properties.intent, 'ship hotfix 41');
  assert.equal(frontend?.properties.actors, 'agent scaler-bot (owner alice@example.com)');
  const missing = r?.results.find((x) => x.resources[0]?.kind === 'ServiceAccount' && x.result === 'fail');
  assert.equal(missing?.rule, 'exists');
  const cluster = toPolicyReports({
    ...report,
    inSyncObjects: [{ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', name: 'x' }],
    findings: [],
  });
  assert.deepEqual(
    cluster.map((x) => [x.kind, x.metadata.namespace]),
    [['ClusterPolicyReport', undefined]],
  );
});

test('ledger leaves are kind drift, name agent, owner and intent, and hold digests instead of values', () => {
  const leaves = driftLeaves(report);
  assert.equal(leaves.length, 3);
  const frontend = leaves.find((l) => l.target?.name === 'frontend');
  assert.equal(frontend?.kind, 'drift');
  assert.equal(frontend?.agent, AGENT.name);
  assert.equal(frontend?.owner, AGENT.owner);
  assert.equal(frontend?.authorityClass, 'autonomous');
  assert.deepEqual(frontend?.target, {
    group: 'apps',
    version: 'v1',
    resource: 'deployments',
    namespace: 'default',
    name: 'frontend',
  });
  assert.equal(frontend?.intent?.summary, 'ship hotfix 41');
  assert.deepEqual(frontend?.approvals, ['apr-1']);
  assert.match(frontend?.objectDigest ?? '', /^sha256:[0-9a-f]{64}$/);
  assert.match(frontend?.intentDigest ?? '', /^sha256:[0-9a-f]{64}$/);
  const text = canonicalJson(leaves);
  assert.ok(!text.includes(HOTFIX), 'values never enter the ledger');
  assert.ok(!text.includes('cart-v2'));
  const fields =
    (
      frontend?.detail as
        | { fields?: { desiredDigest: string; liveDigest: string; actor: { class: string; confidence: string } }[] }
        | undefined
    )?.fields ?? [];
  assert.match(fields[0]?.liveDigest ?? '', /^sha256:/);
  assert.deepEqual([fields[0]?.actor.class, fields[0]?.actor.confidence], ['agent', 'high']);
  const sa = leaves.find((l) => l.target?.resource === 'serviceaccounts');
  assert.equal(sa?.agent, undefined);
  assert.equal((sa?.detail as { state?: string } | undefined)?.state, 'missing');
});

test('the notification groups agent-caused drift by accountable owner', () => {
  const n = notificationPayload(report);
  assert.equal(n.severity, 'critical');
  assert.equal(n.title, 'GitOps drift: 3 object(s) differ from Git, 1 changed by agents');
  assert.deepEqual(n.owners, [
    {
      owner: AGENT.owner,
      agents: [AGENT.name],
      objects: [
        {
          object: 'apps/Deployment default/frontend',
          state: 'drifted',
          paths: ['spec.template.spec.containers[name=server].image'],
          intents: ['ship hotfix 41'],
        },
      ],
    },
  ]);
  assert.deepEqual(n.others.map((o) => `${o.object}: ${o.actors.join(', ')}`).sort(), [
    'Service default/cartservice: human',
    'ServiceAccount default/emailservice: unknown',
  ]);
  assert.equal(notificationPayload({ ...report, findings: [] }).severity, 'info');
});
