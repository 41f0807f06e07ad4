// Admission reviews per second over HTTPS keep-alive, side by side in one run:
//   Tether+SQLite  — `tether serve`, every decision durable in the ledger (WAL, synchronous=FULL)
//                    before its answer is sent;
//   Tether+SQLite/loop — the same with SQLite writes on the event loop (TETHER_SQLITE_WRITER=loop)
//                    instead of the writer thread: the two designs side by side;
//   Tether+PG      — the same with the ledger on PostgreSQL (BENCH_PG_URL or TETHER_TEST_PG_URL;
//                    a fresh database of its own; skipped without one);
//   OPA            — Open Policy Agent (scripts/build-opa.sh) serving bench/admission/policy.rego,
//                    the same agents, namespaces, resources and replica condition, with no budgets
//                    and nothing written: OPA keeps no durable state.
// Real-shaped AdmissionReviews from 20 agents (allowed updates and patches, CEL refusals, namespace
// refusals); first every distinct review goes to each target once and their outcomes must agree;
// then autocannon drives each target with the same connections and duration, targets in turn,
// round after round. CPU is the server process's (plus, for PostgreSQL, its backends'), from /proc.
// Each row also says how many of the machine's cores sat idle during the target's rounds, and what
// autocannon spent per review: the first tells a target held by latency from one held by work.
// BENCH_CPU_PROF=DIR writes a V8 profile of the Tether+SQLite server (see bench/support/cpu-profile.ts).
// BENCH_SWEEP (default 32,64): more connection counts, run after the 16-connection rounds for Tether+SQLite,
// its webhook port and OPA, interleaved the same way: at 16 connections a review's latency sets the
// throughput (16 in flight), with more in flight the servers' capacity does. Empty to skip.
// BENCH_BASELINE=DIR adds `Tether+SQLite@base`, served from another checkout (with its own
// node_modules), in the same interleaved rounds: before and after a change, under the same load.
// Prints a table, then ONE JSON line of figures.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { stringify } from 'yaml';
import { admissionReview, deploymentObject } from '../../test/support/admission.ts';
import { coresAllowPerSecond, round } from '../support/stats.ts';
import { machineIdleSeconds, post, startOpa, startTether, type Target } from './servers.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const PG_URL = process.env.BENCH_PG_URL ?? process.env.TETHER_TEST_PG_URL;
const BASELINE = process.env.BENCH_BASELINE;
const SWEEP = (process.env.BENCH_SWEEP ?? '32,64')
  .split(',')
  .filter((c) => c.trim() !== '')
  .map((c) => {
    if (!/^\s*[1-9]\d*\s*$/.test(c)) throw new Error(`BENCH_SWEEP: ${c} is not a connection count`);
    return Number(c);
  });
/** The targets the sweep runs: the two SQLite designs' ports and the peer. */
const SWEPT = new Set(['Tether+SQLite', 'Tether+SQLite/threads', 'OPA']);
const AGENTS = 20;

const dir = mkdtempSync(join(tmpdir(), 'tether-bench-admission-'));
const loadAtStart = loadavg()[0] as number;

function writePolicy(policyDir: string): void {
  const agent = (i: number) => ({
    apiVersion: 'tether.dev/v1alpha1',
    kind: 'Agent',
    metadata: { name: `bot-${i}` },
    spec: {
      owner: { id: `owner-${i}@example.com` },
      authorityClass: 'autonomous',
      identities: [{ kind: 'ServiceAccount', namespace: 'agents', name: `bot-${i}` }],
      boundary: {
        namespaces: ['shop'],
        rules: [
          { apiGroups: ['apps'], resources: ['deployments', 'deployments/scale'], verbs: ['get', 'update', 'patch'] },
        ],
        conditions: [{ name: 'max', expression: 'object.spec.replicas <= 20' }],
        budgets: [{ window: '1h', maxMutations: 100_000_000, maxDistinctObjects: 100_000 }],
      },
      breaker: { maxViolations: 100_000_000 },
    },
  });
  const governance = {
    apiVersion: 'tether.dev/v1alpha1',
    kind: 'GovernancePolicy',
    metadata: { name: 'g' },
    spec: { agentSelectors: { serviceAccountNamespaces: ['agents'] } },
  };
  mkdirSync(policyDir);
  writeFileSync(
    join(policyDir, 'bench.yaml'),
    [governance, ...Array.from({ length: AGENTS }, (_, i) => agent(i))].map((d) => stringify(d)).join('---\n'),
  );
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

const admin = async (url: string, sql: string) => {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(sql).finally(() => c.end());
};

/** A database of the bench's own, dropped at the end. */
async function freshPgDatabase(url: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `tether_bench_${process.pid}_${Date.now()}`;
  await admin(url, `CREATE DATABASE ${name}`);
  const u = new URL(url);
  u.pathname = `/${name}`;
  return { url: u.toString(), drop: () => admin(url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** Every distinct review to every target once: the answers' `allowed` must be the same everywhere. */
async function checkAgreement(
  targets: readonly Target[],
): Promise<{ reviews: number; agree: number; allowed: number; refused: number }> {
  let agree = 0;
  let allowed = 0;
  for (const body of bodies) {
    const outcomes = await Promise.all(
      targets.map(async (t) => {
        const r = await post(t.url, body, t.ca);
        if (r.status !== 200) throw new Error(`${t.name} answered ${r.status}: ${r.body.slice(0, 300)}`);
        return (JSON.parse(r.body) as { response: { allowed: boolean } }).response.allowed;
      }),
    );
    if (outcomes.every((o) => o === outcomes[0])) agree++;
    if (outcomes[0]) allowed++;
  }
  return { reviews: bodies.length, agree, allowed, refused: bodies.length - allowed };
}

interface Run {
  readonly reviews: number;
  readonly seconds: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly cpuSeconds: number;
  /** Seconds the machine's CPUs sat idle during the round, all of them together. */
  readonly idleSeconds: number;
  /** CPU seconds of the bench's own process: autocannon, the load generator. */
  readonly loadGenSeconds: number;
}

async function load(t: Target, seconds: number, connections = CONNECTIONS): Promise<Run> {
  let n = 0;
  const cpuBefore = await t.cpuSeconds();
  const idleBefore = machineIdleSeconds();
  const selfBefore = process.cpuUsage();
  // PostgreSQL backends come and go with the pool: read their CPU often, not only at the ends.
  const sampler = setInterval(() => void t.cpuSeconds(), 250);
  const r = await autocannon({
    url: t.url,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/json' },
    requests: [{ setupRequest: (req) => ({ ...req, body: bodies[n++ % bodies.length] as string }) }],
  });
  clearInterval(sampler);
  const cpu = (await t.cpuSeconds()) - cpuBefore;
  const self = process.cpuUsage(selfBefore);
  return {
    reviews: r.requests.total,
    seconds: r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.non2xx + r.timeouts,
    cpuSeconds: cpu,
    idleSeconds: machineIdleSeconds() - idleBefore,
    loadGenSeconds: (self.user + self.system) / 1e6,
  };
}

function summarise(t: Target, runs: readonly Run[]) {
  const reviews = runs.reduce((a, r) => a + r.reviews, 0);
  const seconds = runs.reduce((a, r) => a + r.seconds, 0);
  const cpu = runs.reduce((a, r) => a + r.cpuSeconds, 0);
  const loadGenMicros = (runs.reduce((a, r) => a + r.loadGenSeconds, 0) / reviews) * 1e6;
  return {
    target: t.name,
    reviewsPerSecond: Math.round(reviews / seconds),
    // p50: the mean of the rounds'; p99: the worst round's.
    p50ms: round(runs.reduce((a, r) => a + r.p50, 0) / runs.length, 1),
    p99ms: Math.max(...runs.map((r) => r.p99)),
    cpuSecondsPer1000: round((cpu / reviews) * 1000, 3),
    cpuMicrosPerReview: Math.round((cpu / reviews) * 1e6),
    peakRssMiB: t.peakRssMiB(),
    idleCores: round(runs.reduce((a, r) => a + r.idleSeconds, 0) / seconds, 2),
    loadGenMicrosPerReview: Math.round(loadGenMicros),
    coresAllowPerSecond: coresAllowPerSecond(cpus().length, (cpu / reviews) * 1e6, loadGenMicros),
    errors: runs.reduce((a, r) => a + r.errors, 0),
    rounds: runs.map((r) => ({ rps: Math.round(r.reviews / r.seconds), p50: r.p50, p99: r.p99 })),
  };
}

const policyDir = join(dir, 'policy');
writePolicy(policyDir);
const targets: Target[] = [];
let pgDatabase: Awaited<ReturnType<typeof freshPgDatabase>> | undefined;
try {
  const sqlite = await startTether('Tether+SQLite', {
    dataDir: join(dir, 'sqlite'),
    policyDir,
    cpuProfDir: process.env.BENCH_CPU_PROF,
  });
  targets.push(sqlite);
  targets.push(
    await startTether('Tether+SQLite/threads', {
      dataDir: join(dir, 'threads'),
      policyDir,
      webhookPort: true,
      cpuProfDir: process.env.BENCH_CPU_PROF,
    }),
  );
  targets.push(
    await startTether('Tether+SQLite/loop', {
      dataDir: join(dir, 'loop'),
      policyDir,
      env: { TETHER_SQLITE_WRITER: 'loop' },
    }),
  );
  if (BASELINE)
    targets.push(await startTether('Tether+SQLite@base', { dataDir: join(dir, 'base'), policyDir, root: BASELINE }));
  if (PG_URL) {
    pgDatabase = await freshPgDatabase(PG_URL);
    targets.push(await startTether('Tether+PG', { dataDir: join(dir, 'pg'), policyDir, store: pgDatabase.url }));
  } else console.log('  (no BENCH_PG_URL or TETHER_TEST_PG_URL: Tether+PG skipped)');
  const tls = join(dir, 'sqlite', 'tls');
  // The same serving certificate (Tether's self-managed one) for every target: same handshake cost.
  targets.push(
    await startOpa({
      cert: join(tls, 'tls.crt'),
      key: join(tls, 'tls.key'),
      ca: join(tls, 'ca.crt'),
      policy: new URL('./policy.rego', import.meta.url).pathname,
    }),
  );

  const agreement = await checkAgreement(targets);
  for (const t of targets) await load(t, WARMUP_SECONDS);
  const runs = new Map<Target, Run[]>(targets.map((t) => [t, []]));
  for (let i = 0; i < ROUNDS; i++) for (const t of targets) runs.get(t)?.push(await load(t, SECONDS));
  const rows = targets.map((t) => summarise(t, runs.get(t) ?? []));
  const swept = await sweep(targets.filter((t) => SWEPT.has(t.name)));
  print(rows, agreement, swept);
} finally {
  for (const t of targets) await t.stop();
  await pgDatabase?.drop();
  // The stores grow to ~700 MB over a run with the sweep: left behind, a few runs fill the disk.
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** Each Tether target's figures over OPA's in the same rounds (none when OPA is not among them). */
function ratiosToOpa(rows: readonly ReturnType<typeof summarise>[]) {
  const opa = rows.find((r) => r.target === 'OPA');
  if (!opa) return [];
  return rows
    .filter((r) => r !== opa)
    .map((r) => ({
      target: r.target,
      throughput: round(r.reviewsPerSecond / opa.reviewsPerSecond, 2),
      p99: round(r.p99ms / opa.p99ms, 2),
      cpuPerReview: round(r.cpuMicrosPerReview / opa.cpuMicrosPerReview, 2),
    }));
}

/** The sweep: for each connection count, a warm-up and ROUNDS interleaved rounds per target. */
async function sweep(swept: readonly Target[]): Promise<Sweep[]> {
  const out: Sweep[] = [];
  for (const connections of SWEEP) {
    for (const t of swept) await load(t, WARMUP_SECONDS, connections);
    const runs = new Map<Target, Run[]>(swept.map((t) => [t, []]));
    for (let i = 0; i < ROUNDS; i++) for (const t of swept) runs.get(t)?.push(await load(t, SECONDS, connections));
    out.push({ connections, rows: swept.map((t) => summarise(t, runs.get(t) ?? [])) });
  }
  return out;
}

interface Sweep {
  readonly connections: number;
  readonly rows: ReturnType<typeof summarise>[];
}

function printSweep(swept: readonly Sweep[]): void {
  if (swept.length === 0) return;
  console.log(`  with more connections (${ROUNDS} interleaved rounds of ${SECONDS}s each):`);
  console.log(
    `  ${'connections'.padEnd(11)} ${'target'.padEnd(21)} ${'reviews/s'.padStart(9)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'CPU µs/rev'.padStart(10)} ${'errors'.padStart(6)} ${'idle cores'.padStart(10)}  vs OPA`,
  );
  for (const { connections, rows } of swept) {
    const ratios = ratiosToOpa(rows);
    for (const r of rows) {
      const q = ratios.find((x) => x.target === r.target);
      const vs = q ? `throughput ×${q.throughput}, p99 ×${q.p99}` : '';
      console.log(
        `  ${String(connections).padEnd(11)} ${r.target.padEnd(21)} ${String(r.reviewsPerSecond).padStart(9)} ${String(r.p50ms).padStart(7)} ${String(r.p99ms).padStart(7)} ${String(r.cpuMicrosPerReview).padStart(10)} ${String(r.errors).padStart(6)} ${r.idleCores.toFixed(2).padStart(10)}  ${vs}`,
      );
    }
  }
}

function print(
  rows: ReturnType<typeof summarise>[],
  agreement: Awaited<ReturnType<typeof checkAgreement>>,
  swept: readonly Sweep[],
): void {
  const loadAtEnd = loadavg()[0] as number;
  console.log(
    `admission bench: ${AGENTS} agents, ${CONNECTIONS} keep-alive HTTPS connections, ${ROUNDS} interleaved rounds of ${SECONDS}s per target (after ${WARMUP_SECONDS}s warm-up), ${cpus().length} CPUs, load average ${loadAtStart.toFixed(1)} → ${loadAtEnd.toFixed(1)}`,
  );
  console.log(
    `  outcomes: ${agreement.agree}/${agreement.reviews} distinct reviews answered alike by every target (${agreement.allowed} allowed, ${agreement.refused} refused)`,
  );
  console.log(
    `  ${'target'.padEnd(19)} ${'reviews/s'.padStart(9)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'CPU s/1k'.padStart(9)} ${'CPU µs/rev'.padStart(10)} ${'peak RSS'.padStart(9)} ${'errors'.padStart(6)} ${'idle cores'.padStart(10)} ${'load gen µs/rev'.padStart(15)} ${'cores allow/s'.padStart(13)}`,
  );
  for (const r of rows)
    console.log(
      `  ${r.target.padEnd(19)} ${String(r.reviewsPerSecond).padStart(9)} ${String(r.p50ms).padStart(7)} ${String(r.p99ms).padStart(7)} ${r.cpuSecondsPer1000.toFixed(3).padStart(9)} ${String(r.cpuMicrosPerReview).padStart(10)} ${`${r.peakRssMiB} MiB`.padStart(9)} ${String(r.errors).padStart(6)} ${r.idleCores.toFixed(2).padStart(10)} ${String(r.loadGenMicrosPerReview).padStart(15)} ${String(r.coresAllowPerSecond).padStart(13)}`,
    );
  const ratios = ratiosToOpa(rows);
  for (const q of ratios)
    console.log(`  ${q.target}/OPA: throughput ×${q.throughput}, p99 ×${q.p99}, CPU per review ×${q.cpuPerReview}`);
  console.log(
    '  p50 is the mean of the rounds, p99 the worst round. Tether+PG CPU includes its PostgreSQL backends; OPA decides without budgets or a ledger.',
  );
  console.log(
    `  idle cores: the machine's ${cpus().length} CPUs left unused during the target's rounds (a target held by latency leaves some; one held by work does not); load gen: autocannon's CPU per review; cores allow: the most reviews/s the CPUs could make at this cost per review (server + load gen), every core busy.`,
  );
  printSweep(swept);
  console.log(
    JSON.stringify({
      bench: 'admission',
      connections: CONNECTIONS,
      seconds: SECONDS,
      rounds: ROUNDS,
      cpus: cpus().length,
      loadAtStart,
      loadAtEnd,
      agreement,
      targets: rows,
      ratios,
      sweep: swept.map(({ connections, rows }) => ({
        connections,
        targets: rows.map(({ rounds: _, ...r }) => r),
      })),
    }),
  );
}
