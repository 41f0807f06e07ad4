// 1,000 MCP sessions held open at once through `tether gateway` (own process, Streamable HTTP,
// server-everything over stdio behind it), as clients that never send DELETE leave them:
//   shared    — the upstream configured `shared: true`: one process for every session;
//   per-session — the default: one upstream process per session, capped by
//               limits.maxUpstreamProcesses (default 32), so sessions beyond it get 503.
// For each: time to open the sessions, the gateway's RSS, the upstream processes and their RSS,
// refusals, and tools/call latency on 200 of the sessions afterwards. Prints a table, then ONE
// JSON line. Bounded: a deadline, everything on 127.0.0.1, everything stopped at the end.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { percentile, round } from '../support/stats.ts';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 1000);
const CONCURRENCY = 16;
const DEADLINE_MS = Number(process.env.BENCH_DEADLINE_S ?? 300) * 1000;
const TOKEN = 'bench-token-0123456789abcdef';
const require = createRequire(import.meta.url);
const everything = join(
  dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')),
  'dist',
  'index.js',
);
const gatewayProcess = new URL('./gateway-process.ts', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'tether-bench-gw-sessions-'));
const started = performance.now();
const children: ChildProcess[] = [];

/** RSS in MiB of a process, and of its descendants (the upstream servers) with their count. */
function memory(pid: number): { gatewayMiB: number; upstreams: number; upstreamMiB: number } {
  const rss = (p: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  const parentOf = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parentOf.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {}
  }
  const descendants = [...parentOf.keys()].filter((p) => {
    for (let q = parentOf.get(p); q !== undefined && q > 1; q = parentOf.get(q)) if (q === pid) return true;
    return false;
  });
  let upstreamMiB = 0;
  for (const p of descendants) {
    try {
      upstreamMiB += rss(p);
    } catch {}
  }
  return { gatewayMiB: rss(pid), upstreams: descendants.length, upstreamMiB };
}

function startGateway(name: string, shared: boolean): Promise<{ url: string; child: ChildProcess }> {
  writeFileSync(
    join(dir, `${name}.yaml`),
    `auth: { keys: [{ clientId: bench, token: ${TOKEN} }] }
limits: { maxSessions: ${SESSIONS + 10} }
servers:
  - name: everything
    shared: ${shared}
    stdio: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(everything)}, stdio] }
`,
  );
  const child = spawn(
    process.execPath,
    [gatewayProcess, join(dir, `${name}.yaml`), join(dir, 'policy.yaml'), `sqlite:${join(dir, `${name}.db`)}`],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const m = /\{"url":"([^"]+)"\}/.exec(out);
      if (m) resolve({ url: m[1] as string, child });
    });
    child.stderr?.resume();
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}`)));
  });
}

const headers = (session?: string) => ({
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  authorization: `Bearer ${TOKEN}`,
  ...(session ? { 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' } : {}),
});

async function openSession(url: string): Promise<string | undefined> {
  const init = {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
  };
  const res = await fetch(url, { method: 'POST', headers: headers(), body: JSON.stringify(init) });
  await res.text();
  const id = res.headers.get('mcp-session-id');
  if (res.status !== 200 || !id) return undefined;
  const ack = await fetch(url, {
    method: 'POST',
    headers: headers(id),
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  await ack.text();
  return id;
}

async function callEcho(url: string, session: string, i: number): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: headers(session),
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 2 + i,
      method: 'tools/call',
      params: { name: 'echo', arguments: { message: `m${i}` } },
    }),
  });
  const body = await res.text();
  if (!body.includes(`Echo: m${i}`)) throw new Error(`echo failed: ${body.slice(0, 200)}`);
  return performance.now() - t0;
}

async function scenario(name: string, shared: boolean) {
  const { url, child } = await startGateway(name, shared);
  const before = memory(child.pid as number);
  const sessions: string[] = [];
  let refused = 0;
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < SESSIONS && performance.now() - started < DEADLINE_MS) {
        next++;
        const id = await openSession(url);
        if (id) sessions.push(id);
        else refused++;
      }
    }),
  );
  const openSeconds = (performance.now() - t0) / 1000;
  const held = memory(child.pid as number);
  const samples: number[] = [];
  for (let i = 0; i < Math.min(200, sessions.length); i++)
    samples.push(await callEcho(url, sessions[(i * 7) % sessions.length] as string, i));
  const sorted = Float64Array.from(samples).sort();
  const metrics = await (await fetch(url.replace(/\/mcp$/, '/metrics'))).text();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return {
    name,
    sessions: sessions.length,
    refused,
    refusedMetric: Number(/tether_gateway_refused_total\{cap="upstream-processes"\} (\d+)/.exec(metrics)?.[1] ?? 0),
    openSeconds: round(openSeconds, 2),
    gatewayRssMiBBefore: round(before.gatewayMiB, 1),
    gatewayRssMiB: round(held.gatewayMiB, 1),
    perSessionKiB: round(((held.gatewayMiB - before.gatewayMiB) * 1024) / Math.max(1, sessions.length), 1),
    upstreamProcesses: held.upstreams,
    upstreamRssMiB: round(held.upstreamMiB, 1),
    totalRssMiB: round(held.gatewayMiB + held.upstreamMiB, 1),
    echoP50Ms: round(percentile(sorted, 50), 3),
    echoP99Ms: round(percentile(sorted, 99), 3),
  };
}

async function main(): Promise<void> {
  writeFileSync(
    join(dir, 'policy.yaml'),
    `apiVersion: tether.dev/v1alpha1
kind: Agent
metadata: { name: bench-bot }
spec:
  owner: { id: bench@example.com }
  authorityClass: autonomous
  identities: [{ kind: MCPClient, clientId: bench }]
  boundary:
    namespaces: [shop]
    rules: [{ apiGroups: [mcp.tether.dev], resources: [tools], verbs: [get, call], clusterScope: true }]
`,
  );
  const loadStart = loadavg()[0] as number;
  const results = [await scenario('shared', true), await scenario('per-session', false)];
  console.log(
    `${SESSIONS} sessions opened (${CONCURRENCY} at a time), never closed by the client; then tools/call echo on 200 of them`,
  );
  console.log(
    `${'upstream'.padEnd(12)}${'held'.padStart(6)}${'refused'.padStart(9)}${'open s'.padStart(8)}${'gw RSS'.padStart(10)}${'KiB/sess'.padStart(10)}${'procs'.padStart(7)}${'procs RSS'.padStart(11)}${'total'.padStart(12)}${'p50'.padStart(12)}${'p99'.padStart(12)}`,
  );
  for (const r of results)
    console.log(
      `${r.name.padEnd(12)}${String(r.sessions).padStart(6)}${String(r.refused).padStart(9)}${r.openSeconds.toFixed(1).padStart(8)}${`${r.gatewayRssMiB} MiB`.padStart(10)}${String(r.perSessionKiB).padStart(10)}${String(r.upstreamProcesses).padStart(7)}${`${r.upstreamRssMiB} MiB`.padStart(11)}${`${r.totalRssMiB} MiB`.padStart(12)}${`${r.echoP50Ms} ms`.padStart(12)}${`${r.echoP99Ms} ms`.padStart(12)}`,
    );
  console.log(
    JSON.stringify({
      bench: 'gateway-sessions',
      sessions: SESSIONS,
      results,
      loadAvg1mStart: round(loadStart, 2),
      loadAvg1mEnd: round(loadavg()[0] as number, 2),
    }),
  );
}

const hardStop = setTimeout(() => {
  console.error('bench: deadline passed, stopping');
  for (const c of children) c.kill('SIGKILL');
  process.exit(1);
}, DEADLINE_MS + 60_000);
hardStop.unref();
try {
  await main();
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
