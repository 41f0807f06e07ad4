// Launches test/kube-harness (embedded etcd + the real kube-apiserver) for end-to-end tests,
// and runs kubectl against it. Build the binary first with scripts/build-harness.sh.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const binaryPath = join(repoRoot, '.cache', 'bin', 'kube-harness');
const readyTimeoutMs = 90_000;

export interface HarnessIdentity {
  username: string;
  groups?: string[];
}

export interface HarnessOptions {
  /** Agent identities by name; each gets a token and `<dataDir>/kubeconfig-<name>`. */
  identities?: Record<string, HarnessIdentity>;
  /** Structured AuthorizationConfiguration (apiserver.config.k8s.io/v1); default is RBAC alone. */
  authorizationConfigFile?: string;
  auditPolicyFile?: string;
  /** kubeconfig-format file for the audit webhook backend (batch mode, ~250 ms max wait). */
  auditWebhookConfigFile?: string;
  /** Kept after stop(); without it the harness uses a temp dir and removes it. */
  dataDir?: string;
  /** Extra kube-apiserver flags, e.g. ['--disable-admission-plugins=ServiceAccount']. */
  apiserverArgs?: string[];
  /** klog verbosity for the apiserver; default shows only warnings and errors. */
  verbosity?: number;
}

export interface KubeHarness {
  url: string;
  dataDir: string;
  /** Path of the kubeconfig of `admin` (system:masters) or of a named identity. */
  kubeconfig(name: string): string;
  /** SIGTERM, then wait for the process to exit (etcd closed, temp dir removed). */
  stop(): Promise<void>;
}

interface ReadyLine {
  ready: boolean;
  url: string;
  dataDir: string;
  kubeconfigs: Record<string, string>;
}

/** Path of the built harness binary, or undefined when it has not been built. */
export function harnessBinary(): string | undefined {
  return existsSync(binaryPath) ? binaryPath : undefined;
}

export async function startKubeHarness(opts: HarnessOptions = {}): Promise<KubeHarness> {
  const bin = harnessBinary();
  if (!bin) throw new Error(`kube-harness binary missing at ${binaryPath}; run scripts/build-harness.sh`);

  // --watch-stdin: if this process dies without stop(), the closed pipe stops the server.
  const args: string[] = ['--watch-stdin'];
  for (const [name, id] of Object.entries(opts.identities ?? {})) {
    if (id.username.includes(';')) throw new Error(`identity ${name}: username may not contain ';'`);
    args.push('--identity', `${name}=${id.username};${(id.groups ?? []).join(',')}`);
  }
  if (opts.authorizationConfigFile) args.push('--authorization-config', opts.authorizationConfigFile);
  if (opts.auditPolicyFile) args.push('--audit-policy', opts.auditPolicyFile);
  if (opts.auditWebhookConfigFile) args.push('--audit-webhook-config', opts.auditWebhookConfigFile);
  if (opts.dataDir) args.push('--data-dir', opts.dataDir);
  if (opts.verbosity !== undefined) args.push('-v', String(opts.verbosity));
  if (opts.apiserverArgs?.length) args.push('--', ...opts.apiserverArgs);

  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((res) =>
    child.once('exit', (code, signal) => res(code ?? (signal ? -1 : null))),
  );
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-64_000);
    if (process.env.KUBE_HARNESS_LOG) process.stderr.write(chunk);
  });
  const tail = () => stderr.split('\n').slice(-30).join('\n');

  const ready = await new Promise<ReadyLine>((res, rej) => {
    let out = '';
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      rej(new Error(`kube-harness ${why}\n--- stderr tail ---\n${tail()}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${readyTimeoutMs / 1000}s`), readyTimeoutMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        res(JSON.parse(out.slice(0, nl)) as ReadyLine);
      } catch {
        fail(`printed an unexpected line: ${out.slice(0, nl)}`);
      }
    });
    child.once('error', (err) => fail(`could not start: ${err.message}`));
    // A bad flag or config makes the process exit before it prints.
    exited.then((code) => fail(`exited with code ${code} before ready`));
  });
  child.stdout.resume();

  let stopping: Promise<void> | undefined;
  return {
    url: ready.url,
    dataDir: ready.dataDir,
    kubeconfig(name: string): string {
      const path = ready.kubeconfigs[name];
      if (!path)
        throw new Error(`no kubeconfig for identity '${name}' (have: ${Object.keys(ready.kubeconfigs).join(', ')})`);
      return path;
    },
    stop(): Promise<void> {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        const code = await exited;
        clearTimeout(killer);
        if (code !== 0) throw new Error(`kube-harness exited with code ${code}\n--- stderr tail ---\n${tail()}`);
      })();
      return stopping;
    },
  };
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl with the given kubeconfig; never throws on a non-zero exit. */
export function kubectl(
  kubeconfig: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<KubectlResult> {
  return new Promise((res, rej) => {
    const child = spawn('kubectl', ['--kubeconfig', kubeconfig, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
      timeout: opts.timeoutMs ?? 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.once('error', rej);
    child.once('close', (code) => res({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}
