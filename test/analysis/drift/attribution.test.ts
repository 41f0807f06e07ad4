// Attribution edge cases: authenticated evidence beats timing, removed fields are only leads,
// the GitOps applier's own writes mean "sync pending", and agents resolve as the engine resolves them.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { agentDirectoryFromPolicy } from '../../../src/analysis/drift/actors.ts';
import { detectDrift } from '../../../src/analysis/drift/detect.ts';
import { auditEvidenceFromEvents, parseAuditLog } from '../../../src/analysis/drift/evidence.ts';
import type { KubeObject } from '../../../src/analysis/drift/model.ts';
import { agentDoc, governanceDoc, policyOf } from '../../support/policy.ts';
import {
  AGENT,
  agentDecision,
  auditEvent,
  type Boutique,
  boutique,
  container,
  HUMAN,
  memoryLedger,
  spec,
} from './support.ts';

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups) c();
});

async function fresh(): Promise<Boutique> {
  const s = await boutique();
  cleanups.push(s.repo.cleanup);
  return s;
}

test("a human edit seconds after an agent decision is the human's when the audit log says so", async () => {
  const s = await fresh();
  const at = s.api.tick(10);
  s.api.update(
    'Deployment',
    'default',
    'emailservice',
    'kubectl-edit',
    (o) => void (container(o, 'server').image = 'emailservice:hand-patched'),
  );
  const leaves = [
    agentDecision({
      time: new Date(Date.parse(at) - 800).toISOString(),
      agent: AGENT.name,
      owner: AGENT.owner,
      verb: 'update',
      resource: 'deployments',
      namespace: 'default',
      name: 'emailservice',
      intent: 'unrelated',
    }),
  ];
  const timingOnly = await detectDrift(
    { desired: s.desired.objects, live: s.api.list() },
    { attribution: { ledger: memoryLedger(leaves) } },
  );
  const guessed = timingOnly.findings.find((f) => f.id.name === 'emailservice')?.fields[0]?.attribution;
  assert.equal(guessed?.actor.class, 'agent', 'by timing alone the agent decision matches');
  const audit = auditEvidenceFromEvents([
    auditEvent({
      auditID: 'e-1',
      username: HUMAN,
      verb: 'update',
      resource: 'deployments',
      namespace: 'default',
      name: 'emailservice',
      at,
      fieldManager: 'kubectl-edit',
    }),
  ]);
  const known = await detectDrift(
    { desired: s.desired.objects, live: s.api.list() },
    { attribution: { ledger: memoryLedger(leaves), audit } },
  );
  const a = known.findings.find((f) => f.id.name === 'emailservice')?.fields[0]?.attribution;
  assert.deepEqual([a?.actor.class, a?.actor.name, a?.confidence], ['human', HUMAN, 'high']);
});

test('a removed field is attributed as a lead only (low confidence)', async () => {
  const s = await fresh();
  const at = s.api.tick(10);
  s.api.update('Deployment', 'default', 'paymentservice', 'kubectl-edit', (o) => {
    delete container(o, 'server').readinessProbe;
  });
  const ledger = memoryLedger([
    agentDecision({
      time: at,
      agent: AGENT.name,
      owner: AGENT.owner,
      verb: 'update',
      resource: 'deployments',
      namespace: 'default',
      name: 'paymentservice',
      intent: 'drop the probe',
    }),
  ]);
  const report = await detectDrift({ desired: s.desired.objects, live: s.api.list() }, { attribution: { ledger } });
  const d = report.findings.find((f) => f.id.name === 'paymentservice')?.fields[0];
  assert.equal(d?.display, 'spec.template.spec.containers[name=server].readinessProbe');
  assert.equal(d?.kind, 'missing');
  assert.deepEqual([d?.attribution.actor.class, d?.attribution.confidence], ['agent', 'low']);
  assert.match(d?.attribution.evidence[0]?.detail ?? '', /no manager owns .*readinessProbe any more: it was removed/);
});

test('a value the GitOps applier wrote means Git moved on and the sync is pending', async () => {
  const s = await fresh();
  // The pipeline (kubectl-client-side-apply) last applied an older revision; Git now says v0.10.6.
  s.api.update(
    'Deployment',
    'default',
    'shippingservice',
    'kubectl-client-side-apply',
    (o) => void (container(o, 'server').image = 'shippingservice:v0.10.5'),
  );
  const report = await detectDrift(
    { desired: s.desired.objects, live: s.api.list() },
    { attribution: { appliers: ['kubectl-client-side-apply'] } },
  );
  const a = report.findings.find((f) => f.id.name === 'shippingservice')?.fields[0]?.attribution;
  assert.deepEqual([a?.actor.class, a?.actor.name, a?.pendingSync], ['controller', 'kubectl-client-side-apply', true]);
});

test('agents resolve from the Tether policy exactly as the engine resolves them', async () => {
  const policy = policyOf(agentDoc('scaler-bot', { owner: { id: AGENT.owner } }), governanceDoc());
  const agents = agentDirectoryFromPolicy(policy);
  assert.deepEqual(agents.agentForUser(AGENT.username, ['system:serviceaccounts']), {
    name: 'scaler-bot',
    owner: AGENT.owner,
    authorityClass: 'autonomous',
  });
  assert.equal(agents.agentForUser(HUMAN, []), undefined);
  const s = await fresh();
  const at = s.api.tick(10);
  s.api.update('Service', 'default', 'redis-cart', 'kubectl-patch', (o) => void (spec(o).ports[0].targetPort = 6380));
  const audit = auditEvidenceFromEvents([
    auditEvent({
      auditID: 'p-1',
      username: AGENT.username,
      group: '',
      verb: 'patch',
      resource: 'services',
      namespace: 'default',
      name: 'redis-cart',
      at,
      fieldManager: 'kubectl-patch',
    }),
  ]);
  const report = await detectDrift(
    { desired: s.desired.objects, live: s.api.list() },
    { attribution: { audit, agents } },
  );
  const a = report.findings.find((f) => f.id.name === 'redis-cart')?.fields[0]?.attribution;
  assert.deepEqual(
    [a?.actor.class, a?.actor.name, a?.actor.owner, a?.confidence],
    ['agent', 'scaler-bot', AGENT.owner, 'high'],
  );
});

test('a dump without managedFields still attributes from the ledger, and says what is missing', async () => {
  const s = await fresh();
  const at = s.api.tick(10);
  s.api.update(
    'Deployment',
    'default',
    'currencyservice',
    'kubectl-edit',
    (o) => void (container(o, 'server').image = 'currency:x'),
  );
  const stripped = s.api
    .list()
    .map((o): KubeObject => ({ ...o, metadata: { ...o.metadata, managedFields: undefined } }) as KubeObject);
  const ledger = memoryLedger([
    agentDecision({
      time: at,
      agent: AGENT.name,
      owner: AGENT.owner,
      verb: 'update',
      resource: 'deployments',
      namespace: 'default',
      name: 'currencyservice',
      intent: 'try a build',
    }),
  ]);
  const report = await detectDrift({ desired: s.desired.objects, live: stripped }, { attribution: { ledger } });
  const a = report.findings.find((f) => f.id.name === 'currencyservice')?.fields[0]?.attribution;
  assert.deepEqual([a?.actor.class, a?.confidence], ['agent', 'medium']);
  assert.match(report.notes.join('\n'), /no live object carries managedFields/);
});

test('audit logs parse from the log backend (JSON lines) and the webhook backend (EventList)', () => {
  const e = auditEvent({
    auditID: 'x',
    username: HUMAN,
    verb: 'patch',
    resource: 'deployments',
    namespace: 'default',
    name: 'a',
    at: '2026-03-01T09:00:00Z',
  });
  assert.equal(parseAuditLog(`${JSON.stringify(e)}\n\n${JSON.stringify(e)}\nnot json\n`).events.length, 2);
  const list = parseAuditLog(
    JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items: [e, e, e] }),
  );
  assert.deepEqual([list.events.length, list.skipped], [3, 0]);
});
