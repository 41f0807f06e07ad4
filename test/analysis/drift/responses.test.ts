// The responses to drift: codify (the agent's change becomes a reviewed commit) and revert
// (Git re-applied for agent-caused drift only, stopping when something fights back).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { codify } from '../../../src/analysis/drift/codify.ts';
import { loadDesiredState } from '../../../src/analysis/drift/desired.ts';
import { detectDrift } from '../../../src/analysis/drift/detect.ts';
import type { KubeObject } from '../../../src/analysis/drift/model.ts';
import { type Applier, memoryFlapGuard, revert } from '../../../src/analysis/drift/revert.ts';
import type { ApiServerStandIn } from './apiserver-standin.ts';
import {
  AGENT,
  agentDecision,
  agentDeletesService,
  boutique,
  type Boutique,
  container,
  gitIn,
  type Loose,
  memoryLedger,
  spec,
} from './support.ts';

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups) c();
});

/** An agent scales loadgenerator and edits frontend's image (both recorded in the ledger); a human edits cartservice. */
async function driftedBoutique(path = 'kustomize'): Promise<Boutique & { ledger: ReturnType<typeof memoryLedger> }> {
  const b = await boutique({ path });
  cleanups.push(b.repo.cleanup);
  const t1 = b.api.tick();
  if (b.api.get('Deployment', 'default', 'loadgenerator'))
    b.api.update('Deployment', 'default', 'loadgenerator', 'kubectl', (o) => void (spec(o).replicas = 3), {
      subresource: 'scale',
    });
  const t2 = b.api.tick(30);
  b.api.update('Deployment', 'default', 'frontend', 'kubectl-edit', (o) => {
    container(o, 'server').image = 'us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo/frontend:v0.10.7';
    container(o, 'server').env.find((e: { name: string }) => e.name === 'ENABLE_PROFILER').value = '1';
  });
  b.api.tick(60);
  if (b.api.get('Deployment', 'default', 'cartservice'))
    b.api.update(
      'Deployment',
      'default',
      'cartservice',
      'kubectl-set',
      (o) => void (container(o, 'server').resources.limits.cpu = '400m'),
    );
  const ledger = memoryLedger([
    agentDecision({
      time: t1,
      agent: AGENT.name,
      owner: AGENT.owner,
      verb: 'patch',
      resource: 'deployments',
      namespace: 'default',
      name: 'loadgenerator',
      subresource: 'scale',
      intent: 'more synthetic load for the capacity test',
    }),
    agentDecision({
      time: t2,
      agent: AGENT.name,
      owner: AGENT.owner,
      verb: 'update',
      resource: 'deployments',
      namespace: 'default',
      name: 'frontend',
      intent: 'roll out frontend v0.10.7 with profiling',
    }),
  ]);
  return { ...b, ledger };
}

test("codify commits the agent's changes on a new branch; rendered and compared again, that drift is gone", async () => {
  const b = await driftedBoutique();
  const report = await detectDrift(
    { desired: b.desired.objects, live: b.api.list() },
    { attribution: { ledger: b.ledger }, revision: b.desired.revision },
  );
  assert.equal(report.findings.length, 3);

  const result = await codify(report, {
    repo: b.repo.dir,
    path: 'kustomize',
    branch: 'tether/drift-test',
    now: new Date('2026-03-01T10:00:00Z'),
  });
  assert.equal(result.branch, 'tether/drift-test');
  assert.ok(result.commit);
  assert.equal(result.base, b.repo.commit);
  assert.deepEqual(result.files, ['kustomize/base/frontend.yaml', 'kustomize/base/loadgenerator.yaml']);
  assert.deepEqual(result.codified.map((c) => `${c.object} ${c.path}`).sort(), [
    'apps/Deployment default/frontend spec.template.spec.containers[name=server].env[name=ENABLE_PROFILER].value',
    'apps/Deployment default/frontend spec.template.spec.containers[name=server].image',
    'apps/Deployment default/loadgenerator spec.replicas',
  ]);
  assert.deepEqual(
    result.skipped,
    [],
    "the human's change is not the agent's to codify, so it is not even a candidate",
  );

  // The user's checkout is untouched: same branch, same commit, clean tree, no stray worktree.
  assert.equal(gitIn(b.repo.dir, ['rev-parse', '--abbrev-ref', 'HEAD']).trim(), 'main');
  assert.equal(gitIn(b.repo.dir, ['rev-parse', 'HEAD']).trim(), b.repo.commit);
  assert.equal(gitIn(b.repo.dir, ['status', '--porcelain']), '');
  assert.equal(gitIn(b.repo.dir, ['worktree', 'list']).trim().split('\n').length, 1);

  // A reviewable commit: one parent, only the changed lines, comments and layout kept.
  assert.equal(gitIn(b.repo.dir, ['rev-parse', `${result.commit}^`]).trim(), b.repo.commit);
  const numstat = gitIn(b.repo.dir, ['diff', '--numstat', b.repo.commit, result.commit as string])
    .trim()
    .split('\n');
  assert.deepEqual(numstat.sort(), ['1\t1\tkustomize/base/loadgenerator.yaml', '2\t2\tkustomize/base/frontend.yaml']);
  const message = gitIn(b.repo.dir, ['log', '-1', '--format=%B', result.commit as string]);
  assert.match(message, /codify live changes by agent scaler-bot \(owner alice@example.com\)/);
  assert.match(message, /Intent: roll out frontend v0.10.7 with profiling/);
  const diff = gitIn(b.repo.dir, [
    'diff',
    b.repo.commit,
    result.commit as string,
    '--',
    'kustomize/base/frontend.yaml',
  ]);
  assert.match(diff, /-\s+value: "0"\n\+\s+value: "1"/, 'the quoting style of the file is kept');

  // Applied (rendered from the branch) and compared with the same live objects: the agent's drift is gone.
  const after = await loadDesiredState({ repo: b.repo.dir, revision: result.branch as string, path: 'kustomize' });
  const again = await detectDrift(
    { desired: after.objects, live: b.api.list() },
    { attribution: { ledger: b.ledger } },
  );
  assert.deepEqual(
    again.findings.map((f) => `${f.id.name} ${f.fields.map((x) => x.display).join(',')}`),
    ['cartservice spec.template.spec.containers[name=server].resources.limits.cpu'],
  );
});

test('codify edits a plain manifest file in place too', async () => {
  const b = await driftedBoutique('kustomize/base/frontend.yaml');
  const report = await detectDrift(
    { desired: b.desired.objects, live: b.api.list() },
    { attribution: { ledger: b.ledger }, revision: b.desired.revision },
  );
  assert.equal(b.desired.objects[0]?.source.renderer, 'plain');
  const result = await codify(report, {
    repo: b.repo.dir,
    path: 'kustomize/base/frontend.yaml',
    branch: 'codify-plain',
  });
  assert.equal(result.codified.length, 2);
  const after = await loadDesiredState({
    repo: b.repo.dir,
    revision: 'codify-plain',
    path: 'kustomize/base/frontend.yaml',
  });
  assert.deepEqual((await detectDrift({ desired: after.objects, live: b.api.list() })).findings, []);
});

test('codify leaves out a value that comes from a kustomize patch, and says so', async () => {
  const b = await driftedBoutique();
  // An overlay patches loadgenerator's replicas: editing the base file cannot change the result.
  mkdirSync(join(b.repo.dir, 'overlays', 'capacity'), { recursive: true });
  writeFileSync(
    join(b.repo.dir, 'overlays', 'capacity', 'kustomization.yaml'),
    'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../kustomize/base\npatches:\n  - target: {kind: Deployment, name: loadgenerator}\n    patch: |-\n      - op: replace\n        path: /spec/replicas\n        value: 2\n',
  );
  gitIn(b.repo.dir, ['add', '-A']);
  gitIn(b.repo.dir, ['commit', '-q', '-m', 'capacity overlay']);
  const desired = await loadDesiredState({ repo: b.repo.dir, path: 'overlays/capacity' });
  const report = await detectDrift(
    { desired: desired.objects, live: b.api.list() },
    { attribution: { ledger: b.ledger }, ...(desired.revision ? { revision: desired.revision } : {}) },
  );
  assert.equal(report.findings.find((f) => f.id.name === 'loadgenerator')?.fields[0]?.desired, 2);
  const result = await codify(report, { repo: b.repo.dir, path: 'overlays/capacity', branch: 'codify-overlay' });
  assert.deepEqual(result.codified.map((c) => c.path).sort(), [
    'spec.template.spec.containers[name=server].env[name=ENABLE_PROFILER].value',
    'spec.template.spec.containers[name=server].image',
  ]);
  const refused = result.skipped.find((s) => s.path === 'spec.replicas');
  assert.match(refused?.why ?? '', /rendered object still differs .*kustomize patch or transformer/);
  assert.equal(
    readFileSync(join(b.repo.dir, 'kustomize', 'base', 'loadgenerator.yaml'), 'utf8').includes('replicas: 1'),
    true,
    'the checkout is untouched',
  );
});

test('codify with nothing to codify creates no branch', async () => {
  const b = await boutique();
  cleanups.push(b.repo.cleanup);
  b.api.update(
    'Deployment',
    'default',
    'cartservice',
    'kubectl-set',
    (o) => void (container(o, 'server').resources.limits.cpu = '400m'),
  );
  const report = await detectDrift(
    { desired: b.desired.objects, live: b.api.list() },
    { attribution: { ledger: memoryLedger([]) } },
  );
  const result = await codify(report, { repo: b.repo.dir, path: 'kustomize', branch: 'nothing' });
  assert.equal(result.commit, undefined);
  assert.equal(gitIn(b.repo.dir, ['branch', '--list', 'nothing']).trim(), '');
});

test('codify refuses to reuse an existing branch', async () => {
  const b = await driftedBoutique();
  const report = await detectDrift(
    { desired: b.desired.objects, live: b.api.list() },
    { attribution: { ledger: b.ledger } },
  );
  await assert.rejects(
    codify(report, { repo: b.repo.dir, path: 'kustomize', branch: 'main' }),
    /^DriftInputError: branch main already exists in .*; name another with --branch$/,
  );
});

/** Server-side apply against the stand-in: the applied fields merge in, owned by the applier. */
function standInApplier(
  api: ApiServerStandIn,
  afterApply?: (obj: KubeObject) => void,
): Applier & { applied: KubeObject[] } {
  const applied: KubeObject[] = [];
  const merge = (into: Loose, from: Loose) => {
    for (const [k, v] of Object.entries(from)) {
      if (Array.isArray(v) && Array.isArray(into[k])) {
        for (const item of v) {
          const keyName = 'name' in item ? 'name' : 'containerPort' in item ? 'containerPort' : undefined;
          const existing = keyName
            ? into[k].find((x: Record<string, unknown>) => x[keyName] === item[keyName])
            : undefined;
          if (existing) merge(existing, item);
          else into[k].push(structuredClone(item));
        }
      } else if (v && typeof v === 'object' && !Array.isArray(v) && into[k] && typeof into[k] === 'object')
        merge(into[k], v);
      else into[k] = structuredClone(v);
    }
  };
  return {
    applied,
    async apply(obj, fieldManager) {
      applied.push(obj);
      const { apiVersion: _a, kind, metadata, ...fields } = obj;
      if (!api.get(kind, metadata.namespace, metadata.name)) return api.create(obj, fieldManager);
      const out = api.update(kind, metadata.namespace, metadata.name, fieldManager, (o) => merge(o as Loose, fields), {
        operation: 'Apply',
      });
      afterApply?.(out);
      return out;
    },
    async get(_apiVersion, kind, name, namespace) {
      return api.get(kind, namespace, name);
    },
  };
}

test("revert re-applies Git for the agent's drift only; the human's change stays and is reported", async () => {
  const b = await driftedBoutique();
  const report = await detectDrift(
    { desired: b.desired.objects, live: b.api.list() },
    { attribution: { ledger: b.ledger } },
  );
  const applier = standInApplier(b.api);
  const result = await revert(report, { applier, desired: b.desired.objects });
  assert.deepEqual(result.reverted.map((r) => r.object).sort(), [
    'apps/Deployment default/frontend',
    'apps/Deployment default/loadgenerator',
  ]);
  assert.match(
    result.skipped.map((s) => `${s.object} ${s.why}`).join('\n'),
    /cartservice changed by human: Tether reverts only agent-caused drift/,
  );
  // Only the drifted fields are applied, so Tether owns exactly those.
  const frontendPatch = applier.applied.find((o) => o.metadata.name === 'frontend') as KubeObject;
  assert.deepEqual(spec(frontendPatch), {
    template: {
      spec: {
        containers: [
          {
            name: 'server',
            image: 'us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo/frontend:v0.10.6',
            env: [{ name: 'ENABLE_PROFILER', value: '0' }],
          },
        ],
      },
    },
  });
  assert.deepEqual(spec(applier.applied.find((o) => o.metadata.name === 'loadgenerator') as KubeObject), {
    replicas: 1,
  });
  const after = await detectDrift(
    { desired: b.desired.objects, live: b.api.list() },
    { attribution: { ledger: b.ledger } },
  );
  assert.deepEqual(
    after.findings.map((f) => f.id.name),
    ['cartservice'],
  );
});

test('revert stops when a controller changes the field right back, and refuses to flap later', async () => {
  const b = await driftedBoutique();
  // A controller acting for the agent re-scales loadgenerator as soon as Tether reverts it.
  const fight = (o: KubeObject) => {
    if (o.metadata.name === 'loadgenerator')
      b.api.update('Deployment', 'default', 'loadgenerator', 'capacity-operator', (x) => void (spec(x).replicas = 3));
  };
  const guard = memoryFlapGuard();
  const applier = standInApplier(b.api, fight);
  const report = await detectDrift(
    { desired: b.desired.objects, live: b.api.list() },
    { attribution: { ledger: b.ledger } },
  );
  const first = await revert(report, {
    applier,
    desired: b.desired.objects,
    guard,
    settleMs: 1,
    sleep: async () => {},
  });
  assert.deepEqual(
    first.flapping.map((f) => `${f.object} ${f.path}: ${f.against}`),
    [
      'apps/Deployment default/loadgenerator spec.replicas: capacity-operator (a controller) changed it back right after the revert',
    ],
  );
  const again = await detectDrift(
    { desired: b.desired.objects, live: b.api.list() },
    { attribution: { ledger: b.ledger } },
  );
  const second = await revert(again, { applier, desired: b.desired.objects, guard, minConfidence: 'low' });
  assert.equal(applier.applied.filter((o) => o.metadata.name === 'loadgenerator').length, 1, 'no second revert');
  assert.ok(second.flapping.length > 0 || second.skipped.some((s) => s.object.endsWith('loadgenerator')));
});

test('revert re-creates an object an agent deleted, and never deletes what an agent created', async () => {
  const b = await boutique();
  cleanups.push(b.repo.cleanup);
  const ledger = agentDeletesService(b.api, 'emailservice', 'cleanup');
  const report = await detectDrift({ desired: b.desired.objects, live: b.api.list() }, { attribution: { ledger } });
  const applier = standInApplier(b.api);
  const result = await revert(report, { applier, desired: b.desired.objects });
  assert.deepEqual(result.reverted, [{ object: 'Service default/emailservice', paths: ['(object re-created)'] }]);
  assert.deepEqual((await detectDrift({ desired: b.desired.objects, live: b.api.list() })).findings, []);
});
