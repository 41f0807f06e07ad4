// The real MCP servers the tests put behind the gateway, from npm (devDependencies).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

function packageDir(name: string): string | undefined {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    return undefined;
  }
}

/** kubernetes-mcp-server's Linux x64 binary (npm kubernetes-mcp-server-linux-amd64), when installed. */
export function kubernetesMcpServerBinary(): string | undefined {
  const dir = packageDir('kubernetes-mcp-server-linux-amd64');
  const bin = dir && join(dir, 'bin', 'kubernetes-mcp-server-linux-amd64');
  return bin && existsSync(bin) ? bin : undefined;
}

/** @modelcontextprotocol/server-everything's entry point (run with node, argument stdio or streamableHttp). */
export function serverEverythingEntry(): string {
  const dir = packageDir('@modelcontextprotocol/server-everything');
  if (!dir)
    throw new Error('@modelcontextprotocol/server-everything is not installed (npm ci installs it as a devDependency)');
  return join(dir, 'dist', 'index.js');
}

export function everythingOverStdio(name = 'everything'): Record<string, unknown> {
  return { name, stdio: { command: process.execPath, args: [serverEverythingEntry(), 'stdio'] } };
}
