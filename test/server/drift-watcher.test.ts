// The drift watcher of `tether serve` against a real kube-apiserver (test/e2e/harness.ts): the
// Online Boutique manifests are applied as admin, one Deployment is scaled by hand, and two
// watcher replicas share a coordination.k8s.io/v1 Lease and one SQLite ledger. Exactly one leads;
// it records the drift once; when it stops the other takes over and does not re-record it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DriftWatcher, type DriftRunResult } from '../../src/server/drift-watcher.ts';
import type { Notice } from '../../src/server/notify.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';
import { type FixtureRepo, fixtureRepo } from '../analysis/drift/support.ts';
import { harnessBinary, type KubeHarness, kubectl, startKubeHarness } from '../e2e/harness.ts';

const skip = harnessBinary()
  ? false
  : 'kube-harness binary not built (run scripts/build-harness.sh; needs Go) - drift watcher tests against a real kube-apiserver SKIPPED';
if (skip) console.error(`\n*** ${skip} ***\n`);

const LEASE_S = 3;
const INTERVAL_S = 1;

let h: KubeHarness;
let repo: FixtureRepo;
let tmp: string;
let admin: string;

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(admin, args, input === undefined ? {} : { input });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(
  what: string,
  ms: number,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

interface Replica {
  readonly watcher: DriftWatcher;
  readonly store: Store;
  readonly runs: DriftRunResult[];
  readonly notices: Notice[];
}

async function replica(name: string, dbUrl: string, leaseName: string): Promise<Replica> {
  const store = await openStore(dbUrl);
  const runs: DriftRunResult[] = [];
  const notices: Notice[] = [];
  const watcher = new DriftWatcher({
    repo: repo.dir,
    path: 'kustomize',
    intervalSeconds: INTERVAL_S,
    kubeconfig: admin,
    leaseNamespace: 'default',
    leaseName,
    leaseDurationSeconds: LEASE_S,
    identity: `${name}_${process.pid}`,
    store,
    policy: () => undefined,
    notifier: { send: (n) => void notices.push(n) },
    onRun: (r) => void runs.push(r),
  });
  return { watcher, store, runs, notices };
}

async function driftLeavesIn(store: Store) {
  return (await store.queryLedger({ kind: 'drift', limit: 10_000 })).map((e) => e.leaf);
}

async function leaseHolder(name: string): Promise<string | undefined> {
  const r = await kubectl(admin, ['get', 'lease', name, '-n', 'default', '-o', 'json']);
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as { spec?: { holderIdentity?: string } }).spec?.holderIdentity;
}

before(async () => {
  if (skip) return;
  h = await startKubeHarness();
  admin = h.kubeconfig('admin');
  repo = fixtureRepo();
  tmp = mkdtempSync(join(tmpdir(), 'tether-drift-watcher-'));
  // kustomize/ rather than kubernetes-manifests/: only there does Git set a replica count (loadgenerator, replicas: 1);
  // kubernetes-manifests/kustomization.yaml leaves loadgenerator out and no Deployment in it sets replicas.
  await ok(['apply', '-k', join(repo.dir, 'kustomize')]);
  // A drift: someone scales a Deployment outside Git (Git sets loadgenerator's replicas: 1).
  await ok(['scale', 'deployment/loadgenerator', '--replicas=3']);
});

after(async () => {
  if (skip) return;
  await h?.stop();
  repo?.cleanup();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('two replicas: one leads, records the drift once, and the other takes over when it stops', {
  skip,
  timeout: 90_000,
}, async () => {
  const db = `sqlite:${join(tmp, 'two-replicas.db')}`;
  const a = await replica('replica-a', db, 'tether-drift');
  const b = await replica('replica-b', db, 'tether-drift');
  const replicas = [a, b];
  let overlap = 0;
  const sampler = setInterval(() => {
    if (replicas.filter((r) => r.watcher.isLeader).length > 1) overlap++;
  }, 20);
  try {
    await Promise.all([a.watcher.start(), b.watcher.start()]);

    // One leads and completes two runs; the other never runs.
    const leader = await until('a leader with two runs', 30_000, () =>
      replicas.find((r) => r.watcher.isLeader && r.runs.length >= 2),
    );
    const follower = leader === a ? b : a;
    assert.equal(follower.watcher.isLeader, false);
    assert.equal(follower.runs.length, 0, 'the replica without the lease does not run drift');
    assert.equal(await leaseHolder('tether-drift'), leader.watcher.identity, 'the Lease names the leader');

    // The first run found and recorded the scaled Deployment; the second recorded nothing new.
    const [first, second] = leader.runs;
    assert.ok(first && second);
    const scaled = first.report.findings.find((f) => f.id.kind === 'Deployment' && f.id.name === 'loadgenerator');
    assert.ok(
      scaled,
      `loadgenerator drift found (findings: ${first.report.findings.map((f) => f.id.name).join(', ')})`,
    );
    assert.equal(scaled.state, 'drifted');
    assert.ok(
      scaled.fields.some((d) => d.display.includes('replicas')),
      scaled.fields.map((d) => d.display).join(', '),
    );
    assert.equal(first.recorded.length, first.report.findings.length);
    assert.ok(second.report.findings.length >= 1, 'the drift is still there on the second run');
    assert.equal(second.recorded.length, 0, 'standing drift is not re-recorded');
    const recorded = await driftLeavesIn(leader.store);
    assert.equal(recorded.length, first.recorded.length, 'the ledger holds each finding once');
    assert.equal(
      recorded.filter((l) => l.target?.name === 'loadgenerator' && l.target.resource === 'deployments').length,
      1,
    );
    assert.equal(recorded[0]?.source, 'drift-detector');
    assert.equal(leader.notices.length, 1, 'one notification, for the first run');
    assert.equal(leader.notices[0]?.event, 'drift.found');
    assert.match(leader.notices[0]?.text ?? '', /loadgenerator/);

    // The leader stops (and releases the Lease): the other takes over within the lease duration.
    const stoppedAt = Date.now();
    await leader.watcher.stop();
    assert.equal(leader.watcher.isLeader, false);
    await until('the follower to take over', LEASE_S * 1000, () => follower.watcher.isLeader);
    const tookMs = Date.now() - stoppedAt;
    assert.ok(tookMs <= LEASE_S * 1000, `took over after ${tookMs} ms`);
    assert.equal(await leaseHolder('tether-drift'), follower.watcher.identity);

    // Its first run sees the same drift, finds it already in the ledger, and records nothing.
    await until('the new leader to run', 15_000, () => follower.runs.length >= 1);
    assert.ok((follower.runs[0]?.report.findings.length ?? 0) >= 1);
    assert.equal(follower.runs[0]?.recorded.length, 0, 'a takeover does not re-record what the former leader recorded');
    assert.equal((await driftLeavesIn(follower.store)).length, recorded.length);
    assert.equal(follower.notices.length, 0);
    assert.equal(overlap, 0, 'never two leaders at once');
  } finally {
    clearInterval(sampler);
    await a.watcher.stop();
    await b.watcher.stop();
    await a.store.close();
    await b.store.close();
  }
});

test('a holder that vanishes without releasing loses the Lease once it expires', {
  skip,
  timeout: 60_000,
}, async () => {
  // A replica that crashed: it holds the Lease and renews it no more.
  const renewed = new Date();
  await ok(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'tether-drift-crash', namespace: 'default' },
      spec: {
        holderIdentity: 'crashed-replica',
        leaseDurationSeconds: LEASE_S,
        acquireTime: renewed.toISOString().replace('Z', '000Z'),
        renewTime: renewed.toISOString().replace('Z', '000Z'),
      },
    }),
  );
  const db = `sqlite:${join(tmp, 'crash.db')}`;
  const c = await replica('replica-c', db, 'tether-drift-crash');
  try {
    await c.watcher.start();
    assert.equal(c.watcher.isLeader, false, 'a live-looking lease is not taken');
    await until('takeover of the expired lease', LEASE_S * 1000 + 3000, () => c.watcher.isLeader);
    const after = Date.now() - renewed.getTime();
    assert.ok(after >= LEASE_S * 1000, `taken over only after expiry (${after} ms)`);
    assert.equal(await leaseHolder('tether-drift-crash'), c.watcher.identity);
    await until('a run', 15_000, () => c.runs.length >= 1);
    // A fresh ledger: this replica records the standing drift.
    assert.ok((c.runs[0]?.recorded.length ?? 0) >= 1);
  } finally {
    await c.watcher.stop();
    await c.store.close();
  }
});
