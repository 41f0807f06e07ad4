// `tether gateway` as its own process in front of kubernetes-mcp-server, beside the e2e tether serve:
// the same store, policy and signing key (--data-dir), so its decisions land in the one ledger.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { ROOT, type TetherEnv } from './tether-env.ts';

/** The kubernetes-mcp-server binary npm ci installs, or undefined when it is missing. */
export function mcpServerBinary(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('kubernetes-mcp-server-linux-amd64/package.json');
    const bin = join(dirname(pkg), 'bin', 'kubernetes-mcp-server-linux-amd64');
    return existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

export const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });

export interface GatewayProcess {
  /** The MCP endpoint, http://127.0.0.1:<port>/mcp. */
  readonly url: URL;
  /** What the gateway wrote to stderr so far (for assertion messages). */
  log(): string;
  /** SIGTERM, then wait for the exit (the gateway flushes spans and the ledger on the way out). */
  stop(): Promise<void>;
}

/** Starts the gateway and resolves once it listens; throws with its log when it does not within `ms`. */
export async function startGateway(
  env: TetherEnv,
  extraEnv: NodeJS.ProcessEnv = {},
  ms = 60_000,
): Promise<GatewayProcess> {
  const port = await freePort();
  const args = ['gateway', '-c', env.gatewayConfig(mcpServerBinary() as string), '--policy', env.policyDir];
  args.push('--store', env.storeUrl, '--data-dir', env.dataDir, '--port', String(port));
  const child = spawn(process.execPath, [join(ROOT, 'bin/tether.js'), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...extraEnv },
  });
  let log = '';
  child.stderr.on('data', (c) => (log += c));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    child.kill('SIGTERM');
    await exited;
  };
  for (const end = Date.now() + ms; !/MCP endpoint at/.test(log); await new Promise((r) => setTimeout(r, 200))) {
    if (Date.now() > end || child.exitCode !== null) {
      await stop();
      throw new Error(`the gateway did not start: ${log}`);
    }
  }
  return { url: new URL(`http://127.0.0.1:${port}/mcp`), log: () => log, stop };
}
