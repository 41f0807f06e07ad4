// Admission reviews per second over HTTPS keep-alive: `tether serve` (ledger on SQLite) in one
// process, autocannon in this one. Real-shaped AdmissionReviews from 20 agents: allowed scales,
// CEL refusals, namespace refusals. Prints a table, then one JSON line.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { stringify } from 'yaml';
import { admissionReview, deploymentObject } from '../../test/support/admission.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const AGENTS = 20;

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });

const dir = mkdtempSync(join(tmpdir(), 'tether-bench-admission-'));
const policyDir = join(dir, 'policy');
const docs = [
  { apiVersion: 'tether.dev/v1alpha1', kind: 'GovernancePolicy', metadata: { name: 'g' }, spec: { agentSelectors: { serviceAccountNamespaces: ['agents'] } } },
  ...Array.from({ length: AGENTS }, (_, i) => ({
    apiVersion: 'tether.dev/v1alpha1',
    kind: 'Agent',
    metadata: { name: `bot-${i}` },
    spec: {
      owner: { id: `owner-${i}@example.com` },
      authorityClass: 'autonomous',
      identities: [{ kind: 'ServiceAccount', namespace: 'agents', name: `bot-${i}` }],
      boundary: {
        namespaces: ['shop'],
        rules: [{ apiGroups: ['apps'], resources: ['deployments', 'deployments/scale'], verbs: ['get', 'update', 'patch'] }],
        conditions: [{ name: 'max', expression: 'object.spec.replicas <= 20' }],
        budgets: [{ window: '1h', maxMutations: 100_000_000, maxDistinctObjects: 100_000 }],
      },
      breaker: { maxViolations: 100_000_000 },
    },
  })),
];
const { mkdirSync } = await import('node:fs');
mkdirSync(policyDir);
writeFileSync(join(policyDir, 'bench.yaml'), docs.map((d) => stringify(d)).join('---\n'));
const port = await freePort();
const server = spawn(
  process.execPath,
  [
    ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []),
    join(ROOT, 'bin/tether.js'),
    'serve',
    '--data-dir',
    join(dir, 'data'),
    '--policy',
    policyDir,
    '--port',
    String(port),
  ],
  {
    stdio: ['ignore', 'ignore', 'pipe'],
  },
);
let serverLog = '';
server.stderr.on('data', (c) => (serverLog += c));
const url = `https://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  try {
    const r = await fetch(`${url}/healthz`).catch(() => undefined);
    void r;
    readFileSync(join(dir, 'data', 'tls', 'ca.crt'));
    if (/serving on/.test(serverLog)) break;
  } catch {}
  if (i > 300) throw new Error(`server did not start: ${serverLog}`);
  await new Promise((r) => setTimeout(r, 100));
}

const bodies = Array.from({ length: 200 }, (_, k) => {
  const agent = `system:serviceaccount:agents:bot-${k % AGENTS}`;
  const name = `web-${k % 40}`;
  const kind = k % 10;
  const namespace = kind === 9 ? 'payments' : 'shop';
  const replicas = kind === 8 ? 50 : (k % 15) + 1;
  const intent = { 'tether.dev/intent': JSON.stringify({ summary: 'follow traffic', trigger: `alert:${k}` }) };
  return JSON.stringify(
    admissionReview({
      username: agent,
      resource: 'deployments',
      namespace,
      name,
      object: deploymentObject(name, replicas, intent, namespace),
      oldObject: deploymentObject(name, 3, {}, namespace),
      patch: k % 2 === 0,
    }),
  );
});

function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : Number.NaN;
}

let n = 0;
const result = await autocannon({
  url: `${url}/admission`,
  method: 'POST',
  connections: CONNECTIONS,
  duration: SECONDS,
  headers: { 'content-type': 'application/json' },
  requests: [{ setupRequest: (req) => ({ ...req, body: bodies[n++ % bodies.length] as string }) }],
});
const peak = peakRssMiB(server.pid as number);
server.kill('SIGTERM');

const figures = {
  bench: 'admission',
  connections: CONNECTIONS,
  seconds: SECONDS,
  reviews: result.requests.total,
  reviewsPerSecond: Math.round(result.requests.average),
  p50ms: result.latency.p50,
  p99ms: result.latency.p99,
  errors: result.errors + result.non2xx,
  serverPeakRssMiB: peak,
  store: 'sqlite',
};
console.log(`admission bench: ${AGENTS} agents, ${CONNECTIONS} keep-alive HTTPS connections for ${SECONDS}s, ledger on SQLite (WAL, synchronous=FULL)`);
console.log(`  reviews/s ${figures.reviewsPerSecond}   p50 ${figures.p50ms} ms   p99 ${figures.p99ms} ms   errors ${figures.errors}   server peak RSS ${peak} MiB`);
console.log('  (Kyverno publishes an average of 42.67 ms at 100 virtual users with one replica: a different machine and policy set.)');
console.log(JSON.stringify(figures));
