// The admission webhooks bench/admission runs side by side: `tether serve` with its ledger on
// SQLite or PostgreSQL, and Open Policy Agent serving bench/admission/policy.rego. Each is its
// own process on 127.0.0.1 over HTTPS with the same serving certificate; CPU is read from /proc.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';

const ROOT = new URL('../../', import.meta.url).pathname;
const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

export interface Target {
  readonly name: string;
  readonly url: string;
  /** The CA file its serving certificate chains to. */
  readonly ca: string;
  readonly process: ChildProcess;
  /** CPU seconds so far of everything that does this target's work (server, database backends). */
  cpuSeconds(): Promise<number>;
  /** The server process's resident high-water mark. */
  peakRssMiB(): number;
  stop(): Promise<void>;
}

export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });

/** utime + stime of one process (all its threads), in seconds; undefined once it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/**
 * Seconds every CPU of the machine has spent idle (or waiting for I/O) since boot, from the `cpu`
 * line of /proc/stat. Across a round it says whether a target left cores unused: one held by
 * latency leaves them idle, one held by work does not.
 */
export function idleSecondsOf(procStat: string): number {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat has no cpu line');
  const [, , , , idle, iowait] = line.trim().split(/\s+/).map(Number);
  if (!Number.isFinite(idle) || !Number.isFinite(iowait)) throw new Error(`unreadable cpu line: ${line}`);
  return ((idle as number) + (iowait as number)) / TICKS_PER_SECOND;
}

export const machineIdleSeconds = (): number => idleSecondsOf(readFileSync('/proc/stat', 'utf8'));

function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : Number.NaN;
}

async function waitFor(what: string, ready: () => Promise<boolean>, log: () => string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await ready().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not start: ${log()}`);
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
}

/**
 * `tether serve` from this checkout (or from `root`, another checkout: a before/after in one run);
 * `store` is a store URL, or undefined for SQLite in the data dir.
 */
export async function startTether(
  name: string,
  opts: {
    dataDir: string;
    policyDir: string;
    store?: string;
    cpuProfDir?: string;
    root?: string;
    env?: Record<string, string>;
    /** Send the load to the webhook port (`--webhook-port`), served by threads of their own. */
    webhookPort?: boolean;
  },
): Promise<Target> {
  const port = await freePort();
  const webhookPort = opts.webhookPort ? await freePort() : undefined;
  const prof = opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir] : [];
  const store = opts.store ? ['--store', opts.store] : [];
  const args = [
    ...prof,
    join(opts.root ?? ROOT, 'bin/tether.js'),
    'serve',
    '--data-dir',
    opts.dataDir,
    '--policy',
    opts.policyDir,
    '--port',
    String(port),
    ...store,
    ...(webhookPort === undefined ? [] : ['--webhook-port', String(webhookPort)]),
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  let log = '';
  child.stderr?.on('data', (c) => (log += c));
  await waitFor(
    name,
    async () => /serving on/.test(log) || /"policy in force"/.test(log),
    () => log,
  );
  const pid = child.pid as number;
  const backends = opts.store ? await databaseBackends(opts.store) : undefined;
  return {
    name,
    url: `https://127.0.0.1:${webhookPort ?? port}/admission`,
    ca: join(opts.dataDir, 'tls', 'ca.crt'),
    process: child,
    cpuSeconds: async () => (processCpuSeconds(pid) ?? 0) + (backends ? await backends.cpuSeconds() : 0),
    peakRssMiB: () => peakRssMiB(pid),
    stop: async () => {
      await stopper(child)();
      await backends?.close();
    },
  };
}

/**
 * The PostgreSQL backends serving Tether's connections do part of its work: their CPU counts
 * too. Found by database name; a backend that closes between two readings loses what it did since
 * the last one, so the reading is taken often (see bench/admission/run.ts).
 */
async function databaseBackends(url: string): Promise<{ cpuSeconds(): Promise<number>; close(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const seen = new Map<number, number>();
  let gone = 0;
  return {
    async cpuSeconds() {
      const { rows } = await client.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
      const live = new Set(rows.map((r) => r.pid));
      for (const [pid, s] of seen) {
        if (live.has(pid)) continue;
        gone += s;
        seen.delete(pid);
      }
      for (const pid of live) {
        const s = processCpuSeconds(pid);
        if (s !== undefined) seen.set(pid, s);
      }
      return gone + [...seen.values()].reduce((a, b) => a + b, 0);
    },
    close: () => client.end(),
  };
}

/** OPA (scripts/build-opa.sh) as an HTTPS server whose default decision is the AdmissionReview answer. */
export async function startOpa(opts: { cert: string; key: string; ca: string; policy: string }): Promise<Target> {
  const bin = join(ROOT, '.cache/bin/opa');
  execFileSync('bash', [join(ROOT, 'scripts/build-opa.sh')], { stdio: 'inherit' });
  if (!existsSync(bin)) throw new Error('scripts/build-opa.sh did not produce .cache/bin/opa');
  const port = await freePort();
  const args = [
    'run',
    '--server',
    `--addr=127.0.0.1:${port}`,
    `--tls-cert-file=${opts.cert}`,
    `--tls-private-key-file=${opts.key}`,
    '--set=default_decision=tether/admission/review',
    '--log-level=info',
    opts.policy,
  ];
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (c) => (log += c));
  const url = `https://127.0.0.1:${port}/`;
  await waitFor(
    'opa',
    async () => (await post(url, '{"request":{"uid":"probe"}}', opts.ca)).status === 200,
    () => log,
  );
  const pid = child.pid as number;
  return {
    name: 'OPA',
    url,
    ca: opts.ca,
    process: child,
    cpuSeconds: async () => processCpuSeconds(pid) ?? 0,
    peakRssMiB: () => peakRssMiB(pid),
    stop: stopper(child),
  };
}

/** One POST over HTTPS, the server's certificate checked against the CA in file `ca`. */
export function post(url: string, body: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', ca: readFileSync(ca), headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
