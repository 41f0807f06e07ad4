// Full effective-access analysis of a large synthetic cluster (30,000 pods, 5,000 namespaces,
// 10,000 roles, 20,000 bindings, 200 agents with gateway tools): time per phase and peak memory.
// The floor is under 10 s and under 2 GiB for the full analysis. Prints a table, then one JSON line.
//   node bench/access/run.ts [--from-dump] [--worst-case]
//   --from-dump   also time reading the cluster from a JSON List dump
//   --worst-case  every agent may call pods_run on the server bound to cluster-admin, so every agent reaches everything
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeAccess } from '../../src/analysis/access/analyze.ts';
import { inputsFromObjects } from '../../src/analysis/access/load.ts';
import { buildAccessModel } from '../../src/analysis/access/model.ts';
import { type LocatedObject, readObjectDump } from '../../src/kube/object-dump.ts';
import { peakRssMiB, round } from '../support/stats.ts';
import { ISSUE_SIZE, syntheticCluster } from './synthetic-cluster.ts';

const FLOOR_MS = 10_000;
const FLOOR_MIB = 2048;

let peakHeap = 0;
const sampler = setInterval(() => {
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
}, 20);
const time = <T>(fn: () => T): [T, number] => {
  const t = performance.now();
  const r = fn();
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  return [r, performance.now() - t];
};

const worstCase = process.argv.includes('--worst-case');
const [cluster, generateMs] = time(() => syntheticCluster(ISSUE_SIZE, 42, { worstCase }));
const counts: Record<string, number> = {};
for (const o of cluster.objects) counts[o.kind as string] = (counts[o.kind as string] ?? 0) + 1;

let loadMs: number | undefined;
let objects: LocatedObject[] = cluster.objects.map((object, item) => ({
  object,
  source: { origin: 'synthetic', item },
}));
if (process.argv.includes('--from-dump')) {
  const dir = mkdtempSync(join(tmpdir(), 'tether-bench-access-'));
  const file = join(dir, 'cluster.json');
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: cluster.objects }));
  const [dump, ms] = time(() => readObjectDump([file]));
  rmSync(dir, { recursive: true, force: true });
  objects = dump.objects;
  loadMs = ms;
}

const start = performance.now();
const cpuStart = process.cpuUsage();
const [inputs, inventoryMs] = time(() =>
  inputsFromObjects(objects, { agents: cluster.agents, gateway: cluster.gateway }),
);
const [model, indexMs] = time(() => buildAccessModel(inputs));
const [report, analyzeMs] = time(() => analyzeAccess(model));
const [json, renderMs] = time(() => JSON.stringify(report));
const totalMs = performance.now() - start;
const cpu = process.cpuUsage(cpuStart);
clearInterval(sampler);

const reach = report.agents.map((a) => a.reach.identities).sort((x, y) => x - y);
const figures = {
  bench: 'access',
  scenario: worstCase ? 'worst-case' : 'mixed',
  objects: counts,
  agents: report.summary.agents,
  gatewayGrants: cluster.gateway.grants.length,
  grants: model.index.grants.length,
  findings: report.summary.findings,
  bySeverity: report.summary.bySeverity,
  medianIdentitiesReached: reach[Math.floor(reach.length / 2)],
  maxIdentitiesReached: reach[reach.length - 1],
  generateMs: round(generateMs),
  loadFromDumpMs: loadMs === undefined ? undefined : round(loadMs),
  inventoryMs: round(inventoryMs),
  indexMs: round(indexMs),
  analyzeMs: round(analyzeMs),
  renderJsonMs: round(renderMs),
  reportMiB: round(json.length / 1024 / 1024, 1),
  fullAnalysisMs: round(totalMs),
  // CPU time of the analysis thread and GC helpers: steadier than wall time on a shared machine.
  fullAnalysisCpuMs: round((cpu.user + cpu.system) / 1000),
  peakHeapMiB: round(peakHeap / 1024 / 1024, 1),
  peakRssMiB: peakRssMiB(),
  floorMs: FLOOR_MS,
  floorMiB: FLOOR_MIB,
  withinFloor: totalMs < FLOOR_MS && peakRssMiB() < FLOOR_MIB,
};

console.log(
  `objects: ${Object.entries(counts)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ')}`,
);
console.log(
  `agents ${figures.agents}, gateway grants ${figures.gatewayGrants}, findings ${figures.findings} (${JSON.stringify(figures.bySeverity)})`,
);
console.log(
  `identities reached per agent: median ${figures.medianIdentitiesReached}, max ${figures.maxIdentitiesReached}`,
);
console.log('phase                 ms');
for (const [k, v] of [
  ['generate (not counted)', figures.generateMs],
  ['load from JSON dump', figures.loadFromDumpMs ?? '-'],
  ['inventory', figures.inventoryMs],
  ['index + graph', figures.indexMs],
  ['analyze 200 agents', figures.analyzeMs],
  ['render JSON', figures.renderJsonMs],
  ['full analysis', figures.fullAnalysisMs],
  ['  (CPU time)', figures.fullAnalysisCpuMs],
] as const) {
  console.log(`${k.padEnd(22)}${String(v).padStart(9)}`);
}
console.log(
  `peak heap ${figures.peakHeapMiB} MiB, peak RSS ${figures.peakRssMiB} MiB (floor: ${FLOOR_MS / 1000} s, ${FLOOR_MIB / 1024} GiB) → ${figures.withinFloor ? 'within the floor' : 'OVER THE FLOOR'}`,
);
console.log(JSON.stringify(figures));
