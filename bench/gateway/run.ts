// tools/call latency, side by side in one run, of one upstream MCP server
// (@modelcontextprotocol/server-everything over stdio, its `echo` tool) reached:
//   direct        — the SDK client spawns it over stdio;
//   direct-http   — the SDK client reaches it over Streamable HTTP (its own HTTP transport): the
//                   baseline for what the HTTP gateway and mcp-proxy add;
//   gateway-stdio — through `tether gateway --stdio` (the agent spawns the gateway, which spawns
//                   the server): the same agent-side transport as direct, so the difference is
//                   what the gateway adds;
//   gateway-http  — through `tether gateway` over Streamable HTTP (own process);
//   mcp-proxy     — through mcp-proxy (npm), a plain stdio → Streamable HTTP proxy, as a peer of
//                   gateway-http (same agent-side transport).
// Both gateway rows decide every call with the Governor and record it in the ledger (SQLite,
// synchronous=FULL: a decision leaf committed before the call goes out, a tool-result leaf after).
// The stores live under the temp directory: TMPDIR=/dev/shm makes fsync free, which shows how
// much of the gateway's figure is the disk's.
// Calls go one at a time, targets in turn, round after round, so drift hits all alike. Bounded by
// a call count and a deadline; everything it starts listens on 127.0.0.1 and is stopped at the end.
// Prints a table, then ONE JSON line of figures.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { percentile, ratioInterval, round } from '../support/stats.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const CALLS_PER_ROUND = Number(process.env.BENCH_CALLS ?? 200);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 300);
const DEADLINE_MS = Number(process.env.BENCH_DEADLINE_S ?? 240) * 1000;
const TOKEN = 'bench-token-0123456789abcdef';

const require = createRequire(import.meta.url);
const everything = join(
  dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')),
  'dist',
  'index.js',
);
const mcpProxy = join(dirname(require.resolve('mcp-proxy/package.json')), 'dist', 'bin', 'mcp-proxy.mjs');
const gatewayProcess = new URL('./gateway-process.ts', import.meta.url).pathname;

const started = performance.now();
// Other work on the machine moves these figures (fsync latency above all): the run says how busy it was.
const loadAtStart = loadavg()[0] as number;
const children: ChildProcess[] = [];
const clients: Client[] = [];
const dir = mkdtempSync(join(tmpdir(), 'tether-bench-gw-'));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function startChild(
  command: string,
  args: string[],
  readyWhen: (line: string) => string | undefined,
  what: string,
): Promise<string> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  children.push(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-4000)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} not ready in 60 s\n${stderr}`)), 60_000);
    let partial = '';
    let ready = false;
    // Each line is read once, the unfinished one again with its next chunk; nothing after ready.
    const look = (chunk: string) => {
      if (ready) return;
      const lines = (partial + chunk).split('\n');
      partial = lines.at(-1) ?? '';
      for (const line of lines) {
        const found = readyWhen(line);
        if (!found) continue;
        ready = true;
        clearTimeout(timer);
        resolve(found);
        return;
      }
    };
    child.stdout?.setEncoding('utf8').on('data', look);
    child.stderr?.on('data', look);
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}\n${stderr}`)));
  });
}

async function httpClient(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const c = new Client({ name: 'bench', version: '1' });
  await c.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  clients.push(c);
  return c;
}

function gatewayArgs(mode: 'http' | 'stdio'): string[] {
  return [
    gatewayProcess,
    join(dir, 'gateway.yaml'),
    join(dir, 'policy.yaml'),
    `sqlite:${join(dir, `tether-${mode}.db`)}`,
    ...(mode === 'stdio' ? ['--stdio'] : []),
  ];
}

async function stdioGatewayClient(): Promise<Client> {
  const c = new Client({ name: 'bench', version: '1' });
  await c.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: gatewayArgs('stdio'),
      env: { ...process.env, TETHER_GATEWAY_TOKEN: TOKEN } as Record<string, string>,
      stderr: 'ignore',
    }),
  );
  clients.push(c);
  return c;
}

function writeGatewayFiles(): void {
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
  writeFileSync(
    join(dir, 'gateway.yaml'),
    `auth: { keys: [{ clientId: bench, token: ${TOKEN} }] }
servers:
  - name: everything
    stdio: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(everything)}, stdio] }
`,
  );
}

function startGateway(): Promise<string> {
  return startChild(
    process.execPath,
    gatewayArgs('http'),
    (line) => (line.startsWith('{"url"') ? (JSON.parse(line) as { url: string }).url : undefined),
    'tether gateway',
  );
}

async function startMcpProxy(): Promise<string> {
  const port = await freePort();
  await startChild(
    process.execPath,
    [
      mcpProxy,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--server',
      'stream',
      '--',
      process.execPath,
      everything,
      'stdio',
    ],
    (line) => (/listening|started|port/i.test(line) ? 'up' : undefined),
    'mcp-proxy',
  );
  return `http://127.0.0.1:${port}/mcp`;
}

async function startEverythingHttp(): Promise<string> {
  const port = await freePort();
  const child = spawn(process.execPath, [everything, 'streamableHttp'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PORT: String(port) },
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server-everything (HTTP) not ready in 60 s')), 60_000);
    child.stderr?.setEncoding('utf8').on('data', (c: string) => {
      if (/listening on port/i.test(c)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stdout?.resume();
  });
  return `http://127.0.0.1:${port}/mcp`;
}

/**
 * Where a call through the HTTP gateway spends its time, from the gateway's Prometheus histograms:
 * its own part before the call goes upstream (the decision durably recorded), and the upstream's.
 */
async function timeSplit(gatewayUrl: string) {
  const text = await (await fetch(gatewayUrl.replace(/\/mcp$/, '/metrics'))).text();
  const num = (re: RegExp) => Number(re.exec(text)?.[1] ?? Number.NaN);
  const histogram = (name: string, labels: string) => {
    const series = (suffix: string, more = '') =>
      num(new RegExp(`^${name}_${suffix}\\{?${[more, labels].filter(Boolean).join(',')}\\}? (\\S+)$`, 'm'));
    const count = series('count');
    const share = (le: string) => series('bucket', `le="${le}"`) / count;
    return { meanMs: (series('sum') / count) * 1000, share };
  };
  const own = histogram('tether_gateway_governance_seconds', '');
  const upstream = histogram('tether_gateway_upstream_seconds', 'server="everything"');
  return {
    ownMeanMs: own.meanMs,
    ownUnder500us: own.share('0.0005'),
    ownUnder1ms: own.share('0.001'),
    ownOver2ms: 1 - own.share('0.002'),
    upstreamMeanMs: upstream.meanMs,
    upstreamOver2500us: 1 - upstream.share('0.0025'),
  };
}

async function connectWithRetry(make: () => Promise<Client>): Promise<Client> {
  for (let i = 0; ; i++) {
    try {
      return await make();
    } catch (e) {
      if (i >= 20) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function main(): Promise<void> {
  const direct = new Client({ name: 'bench', version: '1' });
  await direct.connect(
    new StdioClientTransport({ command: process.execPath, args: [everything, 'stdio'], stderr: 'ignore' }),
  );
  clients.push(direct);
  writeGatewayFiles();
  const [gatewayUrl, proxyUrl, everythingUrl] = await Promise.all([
    startGateway(),
    startMcpProxy(),
    startEverythingHttp(),
  ]);
  const targets: { name: string; client: Client; samples: number[]; rounds: number[][] }[] = [
    { name: 'direct', client: direct, samples: [], rounds: [] },
    { name: 'direct-http', client: await connectWithRetry(() => httpClient(everythingUrl)), samples: [], rounds: [] },
    { name: 'gateway-stdio', client: await stdioGatewayClient(), samples: [], rounds: [] },
    {
      name: 'gateway-http',
      client: await connectWithRetry(() => httpClient(gatewayUrl, { authorization: `Bearer ${TOKEN}` })),
      samples: [],
      rounds: [],
    },
    { name: 'mcp-proxy', client: await connectWithRetry(() => httpClient(proxyUrl)), samples: [], rounds: [] },
  ];
  const call = (c: Client, i: number) => c.callTool({ name: 'echo', arguments: { message: `m${i}` } });
  for (const t of targets) {
    const probe = await call(t.client, 0);
    if (probe.isError) throw new Error(`${t.name}: echo failed: ${JSON.stringify(probe.content)}`);
    for (let i = 0; i < WARMUP; i++) await call(t.client, i);
  }
  let rounds = 0;
  for (; rounds < ROUNDS && performance.now() - started < DEADLINE_MS; rounds++) {
    for (const t of targets) {
      const inRound: number[] = [];
      for (let i = 0; i < CALLS_PER_ROUND; i++) {
        const t0 = performance.now();
        await call(t.client, i);
        inRound.push(performance.now() - t0);
      }
      t.samples.push(...inRound);
      t.rounds.push(inRound);
    }
  }

  type S = { name: string; calls: number; p50: number; p90: number; p99: number };
  const stats: S[] = targets.map((t) => {
    const sorted = Float64Array.from(t.samples).sort();
    return {
      name: t.name,
      calls: sorted.length,
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
    };
  });
  const [base, baseHttp, gwStdio, gwHttp, proxy] = stats as [S, S, S, S, S];
  const split = await timeSplit(gatewayUrl);
  const roundsOf = (name: string) => targets.find((t) => t.name === name)?.rounds ?? [];
  // Over a few thousand calls a p99 rests on a few dozen, which come in bursts: how far the ratio holds.
  const p99Interval = ratioInterval(roundsOf('gateway-http'), roundsOf('mcp-proxy'), 99);
  const ms = (n: number) => `${n.toFixed(3)} ms`.padStart(10);
  const pct = (share: number) => `${(share * 100).toFixed(1)} %`;
  const signed = (n: number) => ` ${(n >= 0 ? '+' : '') + n.toFixed(3)} ms`.padStart(12);
  console.log(
    `tools/call echo, one at a time, ${rounds} rounds × ${CALLS_PER_ROUND} calls per target (after ${WARMUP} warm-up calls each)`,
  );
  console.log(
    `${'target'.padEnd(14)}${'p50'.padStart(10)}${'p90'.padStart(10)}${'p99'.padStart(10)}${'+p50 vs direct'.padStart(16)}${'+p99 vs direct'.padStart(16)}`,
  );
  for (const s of stats)
    console.log(
      `${s.name.padEnd(14)}${ms(s.p50)}${ms(s.p90)}${ms(s.p99)}${s === base ? '—'.padStart(16) : signed(s.p50 - base.p50).padStart(16)}${s === base ? '—'.padStart(16) : signed(s.p99 - base.p99).padStart(16)}`,
    );
  const addedP50 = gwStdio.p50 - base.p50;
  console.log(
    `gateway adds ${addedP50.toFixed(3)} ms at p50 over direct, same agent transport (stdio) (floor: < 1 ms): ${addedP50 < 1 ? 'met' : 'NOT MET'}`,
  );
  console.log(
    `over Streamable HTTP the gateway answers ${Math.abs(gwHttp.p50 - proxy.p50).toFixed(3)} ms ${gwHttp.p50 <= proxy.p50 ? 'sooner' : 'later'} than mcp-proxy at p50, ${Math.abs(gwHttp.p99 - proxy.p99).toFixed(3)} ms ${gwHttp.p99 <= proxy.p99 ? 'sooner' : 'later'} at p99`,
  );
  console.log(
    `over Streamable HTTP, added to direct-http: gateway ${(gwHttp.p50 - baseHttp.p50).toFixed(3)} ms at p50, ${(gwHttp.p99 - baseHttp.p99).toFixed(3)} ms at p99; mcp-proxy ${(proxy.p50 - baseHttp.p50).toFixed(3)} ms, ${(proxy.p99 - baseHttp.p99).toFixed(3)} ms`,
  );
  console.log(
    `gateway-http / mcp-proxy: p50 ${(gwHttp.p50 / proxy.p50).toFixed(2)}×, p99 ${(gwHttp.p99 / proxy.p99).toFixed(2)}×; targets: added p50 < 0.5 ms ${gwHttp.p50 - baseHttp.p50 < 0.5 ? 'met' : 'NOT MET'}, p99 below mcp-proxy's ${gwHttp.p99 < proxy.p99 ? 'met' : 'NOT MET'}`,
  );
  const verdict =
    p99Interval.high < 1 ? 'below 1' : p99Interval.low > 1 ? 'above 1' : 'includes 1: no difference this run can show';
  console.log(
    `gateway-http / mcp-proxy p99, 95 % interval over the rounds drawn again: ${p99Interval.low.toFixed(2)}–${p99Interval.high.toFixed(2)}× (${verdict})`,
  );
  console.log(
    `the gateway's own time before forwarding (decision durably recorded), from its metrics: mean ${split.ownMeanMs.toFixed(3)} ms, ${pct(split.ownUnder500us)} under 0.5 ms, ${pct(split.ownUnder1ms)} under 1 ms, ${pct(split.ownOver2ms)} over 2 ms`,
  );
  console.log(
    `the upstream's part (forwarded → answered, inside the gateway), from its metrics: mean ${split.upstreamMeanMs.toFixed(3)} ms, ${pct(split.upstreamOver2500us)} over 2.5 ms`,
  );
  const r = (n: number) => round(n, 3);
  console.log(
    JSON.stringify({
      bench: 'gateway',
      tool: 'everything/echo',
      rounds,
      callsPerTarget: base.calls,
      directP50Ms: r(base.p50),
      directP99Ms: r(base.p99),
      directHttpP50Ms: r(baseHttp.p50),
      directHttpP99Ms: r(baseHttp.p99),
      gatewayHttpAddedOverHttpP50Ms: r(gwHttp.p50 - baseHttp.p50),
      gatewayHttpAddedOverHttpP99Ms: r(gwHttp.p99 - baseHttp.p99),
      mcpProxyAddedOverHttpP50Ms: r(proxy.p50 - baseHttp.p50),
      mcpProxyAddedOverHttpP99Ms: r(proxy.p99 - baseHttp.p99),
      gatewayHttpToMcpProxyP50: r(gwHttp.p50 / proxy.p50),
      gatewayHttpToMcpProxyP99: r(gwHttp.p99 / proxy.p99),
      gatewayHttpToMcpProxyP99Low: r(p99Interval.low),
      gatewayHttpToMcpProxyP99High: r(p99Interval.high),
      governanceMeanMs: r(split.ownMeanMs),
      governanceUnder500us: r(split.ownUnder500us),
      governanceOver2ms: r(split.ownOver2ms),
      upstreamMeanMs: r(split.upstreamMeanMs),
      upstreamOver2500us: r(split.upstreamOver2500us),
      gatewayStdioP50Ms: r(gwStdio.p50),
      gatewayStdioP99Ms: r(gwStdio.p99),
      gatewayHttpP50Ms: r(gwHttp.p50),
      gatewayHttpP99Ms: r(gwHttp.p99),
      mcpProxyP50Ms: r(proxy.p50),
      mcpProxyP99Ms: r(proxy.p99),
      gatewayAddedP50Ms: r(addedP50),
      gatewayAddedP99Ms: r(gwStdio.p99 - base.p99),
      gatewayHttpAddedP50Ms: r(gwHttp.p50 - base.p50),
      mcpProxyAddedP50Ms: r(proxy.p50 - base.p50),
      gatewayHttpMinusMcpProxyP50Ms: r(gwHttp.p50 - proxy.p50),
      floorAddedP50Ms: 1,
      floorMet: addedP50 < 1,
      cpus: cpus().length,
      loadAvg1mStart: r(loadAtStart),
      loadAvg1mEnd: r(loadavg()[0] as number),
    }),
  );
}

async function cleanup(): Promise<void> {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  rmSync(dir, { recursive: true, force: true });
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
  await cleanup();
}
