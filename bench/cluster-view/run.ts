// The engine's cluster view at the issue's size (30,000 pods, 20,000 bindings, 10,000 roles,
// 5,000 namespaces; bench/access's synthetic cluster): memory it holds, time to sync, and how long
// an RBAC change takes to be reflected in the answers containment reads. Beside it, the peer: the
// access analyzer building its full model from the same objects. Floors: under 500 MiB held, under
// 1 s per RBAC change. Prints a table, then one JSON line. Run with --expose-gc for exact memory.
//   node --expose-gc bench/cluster-view/run.ts
import { inputsFromObjects } from '../../src/analysis/access/load.ts';
import { buildAccessModel } from '../../src/analysis/access/model.ts';
import { serviceAccountGroups, serviceAccountUsername } from '../../src/kube/rbac-match.ts';
import { ClusterState } from '../../src/kube/cluster-view.ts';
import { percentile, round } from '../support/stats.ts';
import { ISSUE_SIZE, syntheticCluster } from '../access/synthetic-cluster.ts';

const FLOOR_MIB = 500;
const FLOOR_CHANGE_MS = 1000;
const gc = (globalThis as { gc?: () => void }).gc;
const heapMiB = () => {
  gc?.();
  return process.memoryUsage().heapUsed / 1024 / 1024;
};

const cluster = syntheticCluster(ISSUE_SIZE);
const objects = cluster.objects;
const before = heapMiB();
// The objects the bench generated are not the view's: the view keeps its own copies.
let t = performance.now();
const view = new ClusterState();
// As informers deliver them: every object a fresh copy, so what the view keeps is counted.
for (const o of objects) view.upsert(structuredClone(o));
view.markSynced();
view.warm();
const syncMs = performance.now() - t;
const heldMiB = heapMiB() - before;

// An RBAC change: a new RoleBinding gives app in team-7 the cluster-wide admin-like role. Measured
// from the informer event to the first answer that shows it, ten times.
const user = (ns: string) => ({ username: serviceAccountUsername(ns, 'app'), groups: serviceAccountGroups(ns) });
const changes: number[] = [];
for (let i = 0; i < 10; i++) {
  const ns = `team-${i * 97}`;
  const beforeRules = view.rulesOf(user(ns)).length;
  t = performance.now();
  view.upsert({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: `bench-grant-${i}`, namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ kind: 'ServiceAccount', name: 'app', namespace: ns }],
  });
  const after = view.rulesOf(user(ns)).length;
  changes.push(performance.now() - t);
  if (after <= beforeRules && view.roleRules({ kind: 'ClusterRole', namespace: '', name: 'cluster-admin' }))
    throw new Error('the change was not reflected');
}
const sizes = view.sizes;
const podChange = (() => {
  const s = performance.now();
  for (let i = 0; i < 10_000; i++)
    view.upsert({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `p-${i}`, namespace: 'team-1' },
      spec: { serviceAccountName: 'app' },
    });
  return (performance.now() - s) / 10_000;
})();
changes.sort((a, b) => a - b);

t = performance.now();
const model = buildAccessModel(inputsFromObjects(objects.map((object) => ({ object, source: { origin: 'bench' } }))));
const peerMs = performance.now() - t;
void model;

const change = {
  p50ms: round(percentile(Float64Array.from(changes), 50)),
  maxMs: round(changes[changes.length - 1] ?? 0),
};
console.log(
  `cluster view: ${sizes.pods} pods, ${sizes.rbacObjects} RBAC objects, ${sizes.serviceAccounts} service accounts (machine shared with other work: figures are indicative)`,
);
console.log(
  `  held in memory           ${heldMiB.toFixed(1).padStart(8)} MiB   (floor ${FLOOR_MIB} MiB)${gc ? '' : '   run with --expose-gc for an exact figure'}`,
);
console.log(`  first sync (load+index)  ${syncMs.toFixed(0).padStart(8)} ms`);
console.log(
  `  RBAC change reflected    p50 ${change.p50ms.toFixed(1)} ms, max ${change.maxMs.toFixed(1)} ms over 10 changes   (floor ${FLOOR_CHANGE_MS} ms)`,
);
console.log(`  pod event applied        ${(podChange * 1000).toFixed(2).padStart(8)} µs`);
console.log(`  peer: access analyzer model from the same objects ${peerMs.toFixed(0)} ms`);
const ok = heldMiB < FLOOR_MIB && change.maxMs < FLOOR_CHANGE_MS;
console.log(
  JSON.stringify({
    bench: 'cluster-view',
    ...sizes,
    heldMiB: round(heldMiB),
    syncMs: round(syncMs),
    rbacChange: change,
    podEventUs: round(podChange * 1000),
    peerModelMs: round(peerMs),
    ok,
  }),
);
if (!ok) process.exitCode = 1;
