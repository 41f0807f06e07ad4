import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { webhookConfigFiles } from '../../adapters/kube-config/webhook-config.ts';
import { ConfigError, loadConfig, type ServerConfigFile } from '../../server/config.ts';
import { type RunningServer, startServer } from '../../server/server.ts';
import { issueWebhookClientCertificate, loadTls } from '../../server/tls.ts';
import { UsageError } from '../output.ts';
import { requirePolicy } from './policy.ts';

export interface ServeOptions {
  config?: string;
  host?: string;
  port?: string;
  webhookPort?: string;
  dataDir?: string;
  policy?: string;
  kubeconfig?: string;
  store?: string;
}

function portOption(flag: string, v: string | undefined): number | undefined {
  const port = v === undefined ? undefined : Number(v);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535))
    throw new UsageError(`${flag}: not a port number: ${v}`);
  return port;
}

function overridesFrom(o: ServeOptions): Partial<ServerConfigFile> {
  const port = portOption('--port', o.port);
  const webhookPort = portOption('--webhook-port', o.webhookPort);
  return {
    listen:
      o.host !== undefined || port !== undefined || webhookPort !== undefined
        ? { host: o.host, port, webhookPort }
        : undefined,
    dataDir: o.dataDir,
    store: o.store,
    policy: o.kubeconfig
      ? { source: 'kubernetes', kubeconfig: o.kubeconfig }
      : o.policy
        ? { source: 'directory', dir: o.policy }
        : undefined,
  };
}

export async function serveCommand(o: ServeOptions): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(o.config, overridesFrom(o));
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
  const server = await startServer(config);
  console.error(startupLines(server, config).join('\n'));
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      // Readiness drops first, then in-flight requests finish and the ledger is flushed; an
      // orchestrator's patience is finite, so whatever still hangs after 5 s is cut off.
      const force = setTimeout(() => {
        console.error('tether: still closing after 5 s; exiting');
        process.exit(1);
      }, 5_000);
      force.unref();
      void server.shutdown().then(done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}

/** What `tether serve` says once it listens; an administrator token file only when one is in use. */
export function startupLines(
  server: Pick<RunningServer, 'url' | 'webhookUrl' | 'store' | 'createdAdminToken' | 'adminTokenFile'>,
  config: { readonly dataDir: string; readonly webhooks?: { readonly threads: number } },
): string[] {
  const lines = [
    `tether: serving on ${server.url} (store: ${server.store.backend}, data: ${config.dataDir})`,
    ...(server.webhookUrl
      ? [`tether: webhooks also on ${server.webhookUrl} (${config.webhooks?.threads ?? 1} threads)`]
      : []),
    `tether: CA certificate: ${join(config.dataDir, 'tls', 'ca.crt')}`,
  ];
  if (server.createdAdminToken)
    lines.push(
      `tether: created an administrator token in ${server.adminTokenFile} (mode 0600); the CLI reads it from there`,
    );
  else if (server.adminTokenFile) lines.push(`tether: administrator token: ${server.adminTokenFile}`);
  else lines.push('tether: bearer tokens from the configuration');
  return lines;
}

export interface WebhookConfigOptions {
  url: string;
  policy: string;
  dataDir?: string;
  ca?: string;
  host?: string[];
  outDir?: string;
  configDir?: string;
  timeout?: string;
  clientCert?: string;
  clientKey?: string;
}

/** Prints (or writes) the API server configuration that sends agents, and only agents, to Tether. */
export async function webhookConfigCommand(o: WebhookConfigOptions): Promise<number> {
  let url: URL;
  try {
    url = new URL(o.url);
  } catch {
    throw new UsageError(`--url: not a URL: ${o.url}`);
  }
  if (url.protocol !== 'https:')
    throw new UsageError('--url must be https: the API server only calls webhooks over TLS');
  const policy = requirePolicy(o.policy);
  const tlsDir = join(resolve(o.dataDir ?? '.tether'), 'tls');
  const caPem = o.ca
    ? readFileSync(o.ca, 'utf8')
    : (await loadTls({ kind: 'self-managed', dir: tlsDir, hosts: o.host?.length ? o.host : [url.hostname] })).ca;
  // With Tether's own CA the API server also gets a client certificate: with webhookClientAuth on, nobody else can post to the webhooks.
  const client =
    o.clientCert && o.clientKey
      ? { cert: readFileSync(o.clientCert, 'utf8'), key: readFileSync(o.clientKey, 'utf8') }
      : o.ca
        ? undefined
        : await issueWebhookClientCertificate(tlsDir);
  const outDir = o.outDir ? resolve(o.outDir) : undefined;
  const files = webhookConfigFiles(
    policy,
    { baseUrl: url.origin, caPem, client, timeoutSeconds: o.timeout ? Number(o.timeout) : undefined },
    o.configDir ?? outDir ?? '/etc/kubernetes/tether',
  );
  if (!outDir) {
    process.stdout.write(files['validating-webhook.yaml']);
    return 0;
  }
  mkdirSync(outDir, { recursive: true });
  for (const [name, text] of Object.entries(files))
    if (text !== undefined)
      writeFileSync(join(outDir, name), text, name.endsWith('.kubeconfig') ? { mode: 0o600 } : {});
  console.log(`wrote ${Object.keys(files).join(', ')} to ${outDir}`);
  return 0;
}
