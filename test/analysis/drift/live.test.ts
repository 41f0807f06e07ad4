// Drift against a real kube-apiserver (test/e2e/harness.ts): the Online Boutique repository is
// applied with kubectl as admin, an agent identity scales and edits with kubectl, a human edits,
// and Tether reads the cluster, finds the drift and attributes it from managedFields, the audit
// log the API server wrote, and ledger decisions. Codify and revert run against it too.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { AgentDirectory } from '../../../src/analysis/drift/actors.ts';
import { codify } from '../../../src/analysis/drift/codify.ts';
import { type DesiredState, loadDesiredState } from '../../../src/analysis/drift/desired.ts';
import { detectDrift, type DetectOptions } from '../../../src/analysis/drift/detect.ts';
import { auditEvidenceFromEvents, parseAuditLog } from '../../../src/analysis/drift/evidence.ts';
import { type KubeClient, kubeClientFromKubeconfig } from '../../../src/analysis/drift/kube-client.ts';
import { loadLiveFromCluster } from '../../../src/analysis/drift/live.ts';
import type { DriftReport, ObjectFinding } from '../../../src/analysis/drift/model.ts';
import { revert } from '../../../src/analysis/drift/revert.ts';
import type { LedgerLeaf } from '../../../src/ledger/leaf.ts';
import { harnessBinary, type KubeHarness, kubectl, startKubeHarness } from '../../e2e/harness.ts';
import { AGENT, agentDecision, type FixtureRepo, fixtureRepo, gitIn, HUMAN, memoryLedger } from './support.ts';

const skip = harnessBinary()
  ? false
  : 'kube-harness binary not built (run scripts/build-harness.sh; needs Go) - live drift tests against a real kube-apiserver SKIPPED';
if (skip) console.error(`\n*** ${skip} ***\n`);

const agents: AgentDirectory = {
  agentForUser: (username) =>
    username === AGENT.username ? { name: AGENT.name, owner: AGENT.owner, authorityClass: 'autonomous' } : undefined,
};

let h: KubeHarness;
let repo: FixtureRepo;
let desired: DesiredState;
let client: KubeClient;
let auditLog: string;
const leaves: LedgerLeaf[] = [];

async function ok(kubeconfig: string, args: string[], input?: string): Promise<string> {
  const r = await kubectl(kubeconfig, args, input === undefined ? {} : { input });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** What the admission webhook would record when it allows the agent's request. */
function decide(p: { verb: string; name: string; subresource?: string; intent: string }): void {
  leaves.push(
    agentDecision({
      time: new Date().toISOString(),
      agent: AGENT.name,
      owner: AGENT.owner,
      verb: p.verb,
      resource: 'deployments',
      namespace: 'default',
      name: p.name,
      ...(p.subresource ? { subresource: p.subresource } : {}),
      intent: p.intent,
    }),
  );
}

async function detectLive(d: DesiredState, options: DetectOptions = {}): Promise<DriftReport> {
  const live = await loadLiveFromCluster(client, d.objects);
  assert.deepEqual(live.unreadable, []);
  const audit = auditEvidenceFromEvents(parseAuditLog(readFileSync(auditLog, 'utf8')).events);
  return detectDrift(
    {
      desired: d.objects,
      live: live.objects,
      problems: [...d.problems, ...live.problems],
      unreadable: live.unreadable,
    },
    {
      attribution: { ledger: memoryLedger(leaves), audit, agents, appliers: ['kubectl-client-side-apply'] },
      ...(d.revision ? { revision: d.revision } : {}),
      ...options,
    },
  );
}

function byName(report: DriftReport, name: string): ObjectFinding | undefined {
  return report.findings.find((f) => f.id.kind === 'Deployment' && f.id.name === name);
}

before(async () => {
  if (skip) return;
  repo = fixtureRepo();
  const policy = join(repo.dir, '..', `${repo.dir.split('/').pop()}-audit-policy.yaml`);
  writeFileSync(
    policy,
    [
      'apiVersion: audit.k8s.io/v1',
      'kind: Policy',
      'omitStages: [RequestReceived]',
      'rules:',
      '- level: None',
      '  verbs: [get, list, watch]',
      '- level: Metadata',
      '  resources:',
      '  - group: apps',
      '    resources: [deployments, deployments/scale, deployments/status]',
      '  - group: ""',
      '    resources: [services, serviceaccounts]',
      '- level: None',
      '',
    ].join('\n'),
  );
  h = await startKubeHarness({
    identities: {
      agent: { username: AGENT.username, groups: ['system:serviceaccounts', 'tether:agents'] },
      bob: { username: HUMAN },
    },
    auditPolicyFile: policy,
    apiserverArgs: [
      '--disable-admission-plugins=ServiceAccount',
      `--audit-log-path=${join(repo.dir, '..', `${repo.dir.split('/').pop()}-audit.log`)}`,
    ],
  });
  auditLog = join(repo.dir, '..', `${repo.dir.split('/').pop()}-audit.log`);
  const admin = h.kubeconfig('admin');
  await ok(admin, ['create', 'clusterrolebinding', 'drift-agent-edit', '--clusterrole=edit', '--group=tether:agents']);
  await ok(admin, ['create', 'clusterrolebinding', 'drift-bob-edit', '--clusterrole=edit', `--user=${HUMAN}`]);
  // The GitOps pipeline: kubectl apply -k, as admin.
  await ok(admin, ['apply', '-k', join(repo.dir, 'kustomize')]);
  desired = await loadDesiredState({ repo: repo.dir, path: 'kustomize' });
  client = await kubeClientFromKubeconfig(admin);
});

after(async () => {
  await h?.stop();
  if (repo) {
    rmSync(auditLog, { force: true });
    rmSync(join(repo.dir, '..', `${repo.dir.split('/').pop()}-audit-policy.yaml`), { force: true });
    repo.cleanup();
  }
});

test('right after kubectl apply -k the cluster matches Git: defaults and server fields are not drift', {
  skip,
}, async () => {
  const report = await detectLive(desired);
  assert.deepEqual(report.findings, []);
  assert.equal(report.compared, 35);
});

test('agent scale and edit, human edit: found and attributed; status-only changes are not reported', {
  skip,
}, async () => {
  const agent = h.kubeconfig('agent');
  const bob = h.kubeconfig('bob');
  decide({
    verb: 'patch',
    name: 'loadgenerator',
    subresource: 'scale',
    intent: 'raise synthetic load for the capacity test',
  });
  await ok(agent, ['scale', 'deployment/loadgenerator', '--replicas=3']);
  decide({ verb: 'patch', name: 'frontend', intent: 'turn the profiler on to chase latency' });
  await ok(agent, ['set', 'env', 'deployment/frontend', '-c', 'server', 'ENABLE_PROFILER=1']);
  await ok(agent, ['scale', 'deployment/frontend', '--replicas=4']);
  await ok(bob, ['set', 'resources', 'deployment/cartservice', '-c', 'server', '--limits=cpu=400m']);
  // A controller's status write, and an edit of a field Git leaves to the server.
  await ok(h.kubeconfig('admin'), [
    'patch',
    'deployment/adservice',
    '--subresource=status',
    '--type=merge',
    '-p',
    '{"status":{"replicas":2,"readyReplicas":1}}',
  ]);
  await ok(bob, ['patch', 'deployment/adservice', '--type=merge', '-p', '{"spec":{"progressDeadlineSeconds":900}}']);

  const report = await detectLive(desired);
  assert.deepEqual(report.findings.map((f) => `${f.id.name} ${f.fields.map((x) => x.display).join(',')}`).sort(), [
    'cartservice spec.template.spec.containers[name=server].resources.limits.cpu',
    'frontend spec.template.spec.containers[name=server].env[name=ENABLE_PROFILER].value',
    'loadgenerator spec.replicas',
  ]);

  const scale = byName(report, 'loadgenerator')?.fields[0]?.attribution;
  assert.equal(scale?.actor.class, 'agent');
  assert.equal(scale?.actor.name, AGENT.name);
  assert.equal(scale?.actor.owner, AGENT.owner);
  assert.equal(scale?.actor.intent?.summary, 'raise synthetic load for the capacity test');
  assert.equal(scale?.actor.username, AGENT.username);
  assert.equal(scale?.manager, 'kubectl');
  assert.equal(scale?.subresource, 'scale');
  assert.equal(scale?.confidence, 'high');
  assert.ok(scale?.auditId);

  const env = byName(report, 'frontend')?.fields[0]?.attribution;
  assert.equal(env?.actor.class, 'agent');
  assert.equal(env?.actor.intent?.summary, 'turn the profiler on to chase latency');
  assert.equal(env?.manager, 'kubectl-set');
  assert.equal(env?.confidence, 'high');

  const cpu = byName(report, 'cartservice')?.fields[0]?.attribution;
  assert.equal(cpu?.actor.class, 'human');
  assert.equal(cpu?.actor.name, HUMAN);
  assert.equal(cpu?.confidence, 'high');

  // From managedFields and the ledger alone (no audit log): still the agent, and a human.
  const live = await loadLiveFromCluster(client, desired.objects);
  const noAudit = await detectDrift(
    { desired: desired.objects, live: live.objects },
    { attribution: { ledger: memoryLedger(leaves) } },
  );
  assert.equal(byName(noAudit, 'loadgenerator')?.fields[0]?.attribution.actor.name, AGENT.name);
  assert.equal(byName(noAudit, 'frontend')?.fields[0]?.attribution.actor.owner, AGENT.owner);
  assert.equal(byName(noAudit, 'cartservice')?.fields[0]?.attribution.actor.class, 'human');
});

test('codify: the branch, applied with kubectl, makes the drift disappear', { skip }, async () => {
  const report = await detectLive(desired);
  const result = await codify(report, { repo: repo.dir, path: 'kustomize', branch: 'tether/live-codify' });
  assert.deepEqual(result.files, ['kustomize/base/frontend.yaml', 'kustomize/base/loadgenerator.yaml']);
  // The pipeline applies the reviewed branch.
  const checkout = `${repo.dir}-branch`;
  gitIn(repo.dir, ['worktree', 'add', '--quiet', checkout, 'tether/live-codify']);
  try {
    await ok(h.kubeconfig('admin'), ['apply', '-k', join(checkout, 'kustomize')]);
  } finally {
    gitIn(repo.dir, ['worktree', 'remove', '--force', checkout]);
  }
  const branch = await loadDesiredState({ repo: repo.dir, revision: 'tether/live-codify', path: 'kustomize' });
  const after = await detectLive(branch);
  assert.deepEqual(after.findings, [], "kubectl apply also restored the human's change, as Git says");
  desired = branch;
});

test("revert: server-side apply restores Git for the agent's changes only, a deleted object included", {
  skip,
}, async () => {
  decide({ verb: 'patch', name: 'loadgenerator', subresource: 'scale', intent: 'one more load step' });
  await ok(h.kubeconfig('agent'), ['scale', 'deployment/loadgenerator', '--replicas=6']);
  await ok(h.kubeconfig('bob'), ['set', 'image', 'deployment/emailservice', 'server=emailservice:debug']);
  leaves.push(
    agentDecision({
      time: new Date().toISOString(),
      agent: AGENT.name,
      owner: AGENT.owner,
      verb: 'delete',
      group: '',
      resource: 'services',
      namespace: 'default',
      name: 'adservice',
      intent: 'adservice looks unused',
    }),
  );
  await ok(h.kubeconfig('agent'), ['delete', 'service/adservice']);
  const report = await detectLive(desired);
  assert.equal(report.findings.length, 3);
  const gone = report.findings.find((f) => f.state === 'missing');
  assert.deepEqual(
    [
      gone?.id.name,
      gone?.attribution?.actor.name,
      gone?.attribution?.actor.intent?.summary,
      gone?.attribution?.confidence,
    ],
    ['adservice', AGENT.name, 'adservice looks unused', 'high'],
  );
  const result = await revert(report, { applier: client, desired: desired.objects, settleMs: 200 });
  assert.deepEqual(result.reverted, [
    { object: 'apps/Deployment default/loadgenerator', paths: ['spec.replicas'] },
    { object: 'Service default/adservice', paths: ['(object re-created)'] },
  ]);
  assert.deepEqual(result.flapping, []);
  assert.match(
    result.skipped.map((s) => `${s.object}: ${s.why}`).join('\n'),
    /emailservice: changed by human bob@example.com: Tether reverts only agent-caused drift/,
  );
  const after = await detectLive(desired);
  assert.deepEqual(
    after.findings.map((f) => f.id.name),
    ['emailservice'],
  );
  const lg = (await client.get('apps/v1', 'Deployment', 'loadgenerator', 'default'))?.metadata.managedFields ?? [];
  assert.ok(
    lg.some((m) => m.manager === 'tether-drift-revert' && m.operation === 'Apply'),
    'Tether owns exactly what it restored',
  );
});
