// `tether serve` configuration: one YAML file, validated with the same machinery as policy.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { parse } from 'yaml';
import { validate } from '../policy/validate.ts';
import { inCluster } from './kube-config.ts';

const strict = { additionalProperties: false } as const;

const Token = Type.Object(
  {
    /** A literal token (tests, local use) or a file holding it, or its SHA-256 (hex) so the config holds no secret. */
    token: Type.Optional(Type.String({ minLength: 16 })),
    tokenFile: Type.Optional(Type.String()),
    sha256: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
    human: Type.Optional(Type.String({ minLength: 1, description: 'The person this token speaks for.' })),
    agentUsername: Type.Optional(
      Type.String({ minLength: 1, description: 'An agent identity: may only ask for decisions about itself.' }),
    ),
  },
  strict,
);

const Notification = Type.Object(
  {
    url: Type.Optional(Type.String({ pattern: '^https?://' })),
    urlFile: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'A file holding the URL (a mounted Secret: webhook URLs are credentials).',
      }),
    ),
    format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('slack')])),
    events: Type.Optional(
      Type.Array(
        Type.Union([
          Type.Literal('approval.pending'),
          Type.Literal('breaker.trip'),
          Type.Literal('agent.unregistered'),
          Type.Literal('expansion.pending'),
          Type.Literal('audit.undecided'),
          Type.Literal('drift.found'),
          Type.Literal('owner.inactive'),
          Type.Literal('owner.restored'),
          Type.Literal('owner.attestation-due'),
        ]),
      ),
    ),
  },
  strict,
);

const Drift = Type.Object(
  {
    repo: Type.String({ minLength: 1, description: 'The Git working copy of the desired state.' }),
    revision: Type.Optional(
      Type.String({ minLength: 1, description: 'Compare against this revision (default: the working tree).' }),
    ),
    path: Type.Optional(Type.String({ description: 'Directory below repo to render (plain manifests or kustomize).' })),
    namespace: Type.Optional(
      Type.String({ minLength: 1, description: "Namespace for objects that name none (default 'default')." }),
    ),
    intervalSeconds: Type.Optional(Type.Integer({ minimum: 1, description: 'Seconds between runs (default 300).' })),
    kubeconfig: Type.Optional(
      Type.String({ description: 'Default: the policy kubeconfig, else the default loading rules.' }),
    ),
    leaseNamespace: Type.Optional(
      Type.String({ minLength: 1, description: "Namespace of the leader-election Lease (default 'default')." }),
    ),
    leaseName: Type.Optional(
      Type.String({ minLength: 1, description: "Name of the leader-election Lease (default 'tether-drift')." }),
    ),
    leaseDurationSeconds: Type.Optional(
      Type.Integer({ minimum: 1, description: 'How long a silent holder keeps the Lease (default 15).' }),
    ),
  },
  strict,
);

const ClusterViewConfig = Type.Object(
  {
    enabled: Type.Optional(
      Type.Boolean({
        description: 'Default: on when a kubeconfig is configured (here or for policy) or Tether runs in a cluster.',
      }),
    ),
    kubeconfig: Type.Optional(
      Type.String({ description: 'Default: the policy kubeconfig, else in-cluster credentials.' }),
    ),
    dump: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Cluster objects (files or a directory, the dump `tether access` reads) loaded once at start instead of informers: a fixed view.',
      }),
    ),
  },
  strict,
);

const LedgerSettings = Type.Object(
  {
    signingKeyFile: Type.Optional(
      Type.String({
        description:
          'The checkpoint signing key (PEM), kept away from the database, e.g. a mounted Kubernetes Secret (default: <dataDir>/ledger-signing-key.pem).',
      }),
    ),
    witnessDir: Type.Optional(
      Type.String({
        description:
          'Publish every signed checkpoint into this directory too (storage the database writers cannot change).',
      }),
    ),
    maxUnsignedAgeSeconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'GET /v1/ledger/verify fails when entries this old are covered by no checkpoint (default 3600).',
      }),
    ),
  },
  strict,
);

const ScimConfig = Type.Object(
  {
    token: Type.Optional(
      Type.String({
        minLength: 32,
        description: 'The SCIM bearer token the identity provider presents (tests, local use).',
      }),
    ),
    tokenFile: Type.Optional(Type.String()),
    sha256: Type.Optional(
      Type.String({
        pattern: '^[0-9a-f]{64}$',
        description: 'SHA-256 (hex) of the token, so the config holds no secret.',
      }),
    ),
  },
  strict,
);

export const ServerConfigSchema = Type.Object(
  {
    clusterView: Type.Optional(ClusterViewConfig),
    listen: Type.Optional(
      Type.Object(
        {
          host: Type.Optional(Type.String()),
          port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
          webhookPort: Type.Optional(
            Type.Integer({
              minimum: 0,
              maximum: 65535,
              description:
                'Also answer the webhooks (admission, authorization, audit) on this port, from webhookThreads threads of their own.',
            }),
          ),
        },
        strict,
      ),
    ),
    dataDir: Type.Optional(Type.String()),
    store: Type.Optional(Type.String({ description: 'sqlite:<file> (default: <dataDir>/tether.db) or postgres://…' })),
    storeFile: Type.Optional(
      Type.String({ minLength: 1, description: 'A file holding the store URL (a mounted Secret), instead of store.' }),
    ),
    policy: Type.Optional(
      Type.Object(
        {
          source: Type.Union([Type.Literal('directory'), Type.Literal('kubernetes')]),
          dir: Type.Optional(Type.String()),
          kubeconfig: Type.Optional(Type.String()),
        },
        strict,
      ),
    ),
    tls: Type.Optional(
      Type.Object(
        {
          hosts: Type.Optional(
            Type.Array(Type.String(), { description: 'Names and IPs on the self-managed serving certificate.' }),
          ),
          certFile: Type.Optional(Type.String()),
          keyFile: Type.Optional(Type.String()),
          caFile: Type.Optional(Type.String()),
        },
        strict,
      ),
    ),
    tokens: Type.Optional(Type.Array(Token)),
    notifications: Type.Optional(Type.Array(Notification)),
    bodyLimitBytes: Type.Optional(Type.Integer({ minimum: 1024 })),
    webhookThreads: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 64,
        description: 'Threads serving listen.webhookPort (default: the CPUs available to the process).',
      }),
    ),
    webhookClientAuth: Type.Optional(
      Type.Boolean({
        description:
          "Webhook endpoints accept only clients with a certificate from Tether's CA (the API server's, from tether webhook-config).",
      }),
    ),
    gatewayConfig: Type.Optional(
      Type.String({ description: 'Mount the MCP gateway at /mcp with this gateway config file.' }),
    ),
    logLevel: Type.Optional(Type.String()),
    digestKeyFile: Type.Optional(
      Type.String({
        description:
          'File holding the key (32+ bytes, hex) for digests shown outside Tether; share it across replicas. Default <dataDir>/digest-key.',
      }),
    ),
    requestTimeoutSeconds: Type.Optional(
      Type.Integer({ minimum: 1, description: 'A request must arrive whole within this (default 30).' }),
    ),
    idleTimeoutSeconds: Type.Optional(
      Type.Integer({ minimum: 1, description: 'A connection silent this long is closed (default 120).' }),
    ),
    drift: Type.Optional(Drift),
    ledger: Type.Optional(LedgerSettings),
    shutdown: Type.Optional(
      Type.Object(
        {
          drainSeconds: Type.Optional(
            Type.Number({
              minimum: 0,
              maximum: 4,
              description: 'After SIGTERM, seconds of answering not-ready before closing (Service endpoints catch up).',
            }),
          ),
        },
        strict,
      ),
    ),
    scim: Type.Optional(ScimConfig),
    attestationReminderDays: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'Notify owners this many days before an attestation lapses (default 14).',
      }),
    ),
  },
  strict,
);
export type ServerConfigFile = Static<typeof ServerConfigSchema>;

export interface ResolvedConfig {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly storeUrl: string;
  readonly policy:
    | { readonly source: 'directory'; readonly dir: string }
    | { readonly source: 'kubernetes'; readonly kubeconfig?: string };
  readonly tls:
    | { readonly kind: 'self-managed'; readonly hosts: readonly string[] }
    | { readonly kind: 'files'; readonly certFile: string; readonly keyFile: string; readonly caFile?: string };
  readonly tokens: ServerConfigFile['tokens'];
  readonly notifications: readonly (Omit<NonNullable<ServerConfigFile['notifications']>[number], 'url' | 'urlFile'> & {
    readonly url: string;
  })[];
  readonly bodyLimitBytes: number;
  readonly webhookClientAuth?: boolean;
  /** The webhook port and the threads that serve it; absent: webhooks only on the main port. */
  readonly webhooks?: { readonly port: number; readonly threads: number };
  readonly gatewayConfig?: string;
  /** The cluster view containment reads (informers); absent: off, agents fail closed where a fact is needed. */
  readonly clusterView?: { readonly kubeconfig?: string; readonly dump?: string };
  readonly logLevel: string;
  readonly digestKeyFile?: string;
  readonly requestTimeoutSeconds?: number;
  readonly idleTimeoutSeconds?: number;
  readonly ledger?: ServerConfigFile['ledger'];
  /** After SIGTERM, how long /readyz answers 503 before the server closes. */
  readonly shutdownDrainMs?: number;
  /** The SCIM service provider at /scim/v2, when configured: the SHA-256 of its own token. */
  readonly scim?: { readonly tokenSha256: string };
  readonly attestationReminderDays?: number;
  /** The drift watcher, when configured. */
  readonly drift?: {
    readonly repo: string;
    readonly revision?: string;
    readonly path?: string;
    readonly namespace: string;
    readonly intervalSeconds: number;
    readonly kubeconfig?: string;
    readonly leaseNamespace: string;
    readonly leaseName: string;
    readonly leaseDurationSeconds: number;
  };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const EXAMPLES = new URL('../../deploy/examples/', import.meta.url).pathname;

export function loadConfig(file: string | undefined, overrides: Partial<ServerConfigFile> = {}): ResolvedConfig {
  let raw: unknown = {};
  if (file) {
    if (!existsSync(file)) throw new ConfigError(`${file}: no such file`);
    try {
      raw = parse(readFileSync(file, 'utf8')) ?? {};
    } catch (e) {
      throw new ConfigError(`${file}: not valid YAML: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const base = raw as ServerConfigFile;
  const merged = {
    ...base,
    ...defined(overrides),
    ...(overrides.listen ? { listen: { ...base.listen, ...defined(overrides.listen) } } : {}),
  };
  const errors = validate(ServerConfigSchema, merged);
  if (errors.length)
    throw new ConfigError(errors.map((e) => `${file ?? 'config'}: ${e.path || '(root)'}: ${e.message}`).join('\n'));
  const c = merged as ServerConfigFile;
  if (c.tls && Boolean(c.tls.certFile) !== Boolean(c.tls.keyFile))
    throw new ConfigError(`${file ?? 'config'}: tls: certFile and keyFile go together`);
  for (const [i, t] of (c.tokens ?? []).entries()) {
    if ([t.token, t.tokenFile, t.sha256].filter(Boolean).length !== 1)
      throw new ConfigError(`${file ?? 'config'}: tokens[${i}]: give exactly one of token, tokenFile, sha256`);
    if (Boolean(t.human) === Boolean(t.agentUsername))
      throw new ConfigError(`${file ?? 'config'}: tokens[${i}]: give exactly one of human, agentUsername`);
  }
  for (const [i, n] of (c.notifications ?? []).entries())
    if (Boolean(n.url) === Boolean(n.urlFile))
      throw new ConfigError(`${file ?? 'config'}: notifications[${i}]: give exactly one of url, urlFile`);
  if (c.store && c.storeFile) throw new ConfigError(`${file ?? 'config'}: give store or storeFile, not both`);
  if (c.scim && [c.scim.token, c.scim.tokenFile, c.scim.sha256].filter(Boolean).length !== 1)
    throw new ConfigError(`${file ?? 'config'}: scim: give exactly one of token, tokenFile, sha256`);
  const dataDir = resolve(c.dataDir ?? '.tether');
  return {
    host: c.listen?.host ?? '127.0.0.1',
    port: c.listen?.port ?? 8443,
    dataDir,
    storeUrl:
      c.store ?? (c.storeFile ? secretFile(c.storeFile, 'storeFile', file) : `sqlite:${join(dataDir, 'tether.db')}`),
    policy:
      c.policy?.source === 'kubernetes'
        ? { source: 'kubernetes', kubeconfig: c.policy.kubeconfig }
        : { source: 'directory', dir: resolve(c.policy?.dir ?? EXAMPLES) },
    tls:
      c.tls?.certFile && c.tls.keyFile
        ? { kind: 'files', certFile: c.tls.certFile, keyFile: c.tls.keyFile, caFile: c.tls.caFile }
        : { kind: 'self-managed', hosts: c.tls?.hosts ?? ['localhost', '127.0.0.1'] },
    tokens: c.tokens,
    notifications: (c.notifications ?? []).map(({ urlFile, ...n }, i) => ({
      ...n,
      url: n.url ?? secretFile(urlFile as string, `notifications[${i}].urlFile`, file),
    })),
    bodyLimitBytes: c.bodyLimitBytes ?? 3 * 1024 * 1024,
    webhookClientAuth: c.webhookClientAuth ?? false,
    ...(c.listen?.webhookPort === undefined
      ? {}
      : { webhooks: { port: c.listen.webhookPort, threads: c.webhookThreads ?? availableParallelism() } }),
    gatewayConfig: c.gatewayConfig,
    ...clusterViewOf(c),
    logLevel: c.logLevel ?? 'info',
    ...(c.digestKeyFile ? { digestKeyFile: resolve(c.digestKeyFile) } : {}),
    requestTimeoutSeconds: c.requestTimeoutSeconds ?? 30,
    idleTimeoutSeconds: c.idleTimeoutSeconds ?? 120,
    ...(c.ledger
      ? {
          ledger: {
            ...c.ledger,
            ...(c.ledger.signingKeyFile ? { signingKeyFile: resolve(c.ledger.signingKeyFile) } : {}),
          },
        }
      : {}),
    shutdownDrainMs: (c.shutdown?.drainSeconds ?? 0) * 1000,
    ...(c.scim ? { scim: { tokenSha256: scimTokenSha256(c.scim) } } : {}),
    attestationReminderDays: c.attestationReminderDays ?? 14,
    ...(c.drift
      ? {
          drift: {
            repo: resolve(c.drift.repo),
            ...(c.drift.revision ? { revision: c.drift.revision } : {}),
            ...(c.drift.path ? { path: c.drift.path } : {}),
            namespace: c.drift.namespace ?? 'default',
            intervalSeconds: c.drift.intervalSeconds ?? 300,
            ...((c.drift.kubeconfig ?? (c.policy?.source === 'kubernetes' ? c.policy.kubeconfig : undefined))
              ? { kubeconfig: c.drift.kubeconfig ?? c.policy?.kubeconfig }
              : {}),
            leaseNamespace: c.drift.leaseNamespace ?? 'default',
            leaseName: c.drift.leaseName ?? 'tether-drift',
            leaseDurationSeconds: c.drift.leaseDurationSeconds ?? 15,
          },
        }
      : {}),
  };
}

/** On with a kubeconfig (its own or the policy's) or inside a cluster, unless turned off. */
function clusterViewOf(c: ServerConfigFile): { clusterView?: { kubeconfig?: string; dump?: string } } {
  if (c.clusterView?.enabled === false) return {};
  if (c.clusterView?.dump) return { clusterView: { dump: resolve(c.clusterView.dump) } };
  const kubeconfig = c.clusterView?.kubeconfig ?? (c.policy?.source === 'kubernetes' ? c.policy.kubeconfig : undefined);
  const on =
    c.clusterView?.enabled === true || kubeconfig !== undefined || c.policy?.source === 'kubernetes' || inCluster();
  return on ? { clusterView: kubeconfig ? { kubeconfig } : {} } : {};
}

/** A value kept in a file (a mounted Secret); named in errors, never printed. */
function secretFile(path: string, field: string, configFile: string | undefined): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new ConfigError(
      `${configFile ?? 'config'}: ${field}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

function scimTokenSha256(s: NonNullable<ServerConfigFile['scim']>): string {
  if (s.sha256) return s.sha256;
  const token = s.token ?? readFileSync(s.tokenFile as string, 'utf8').trim();
  if (token.length < 32) throw new ConfigError('scim: the token must be at least 32 characters');
  return createHash('sha256').update(token).digest('hex');
}
