// The gateway's YAML: who may connect, which upstream MCP servers sit behind it, and what their
// tools do to Kubernetes when the servers do not say so themselves. Validated with the same
// machinery as policy, so every mistake comes back as `file: path: message`.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { parseDocument } from 'yaml';
import { parseDuration } from '../../common/duration.ts';
import type { FieldError } from '../../policy/validate.ts';
import { validate } from '../../policy/validate.ts';
import { type Requirement, requirementErrors } from './rbac-declaration.ts';

const strict = { additionalProperties: false } as const;
const NonEmpty = Type.String({ minLength: 1 });
const Duration = Type.String({ pattern: '^[0-9]+(s|m|h|d)$', description: 'e.g. 30s, 10m, 1h' });
/** Also the name of the pseudo-resource `<server>/<tool>` and of tool prefixes: keep it plain. */
const ServerName = Type.String({
  pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$',
  description: 'lowercase letters, digits and dashes',
});

const StaticKey = Type.Object(
  {
    clientId: NonEmpty,
    token: Type.Optional(Type.String({ minLength: 16, description: 'The token itself (tests, local use).' })),
    tokenFile: Type.Optional(NonEmpty),
    sha256: Type.Optional(
      Type.String({
        pattern: '^[0-9a-f]{64}$',
        description: 'SHA-256 (hex) of the token: the config then holds no secret.',
      }),
    ),
    username: Type.Optional(
      Type.String({ minLength: 1, description: 'Username the engine sees; default mcp:<clientId>.' }),
    ),
    groups: Type.Optional(Type.Array(NonEmpty)),
  },
  strict,
);

const HttpUrl = Type.String({ pattern: '^https?://[^\\s#]+$' });

const OidcIssuer = Type.Object(
  {
    issuer: HttpUrl,
    audiences: Type.Optional(Type.Array(NonEmpty, { minItems: 1, description: 'Default: auth.resource (RFC 8707).' })),
    jwksFile: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Offline keys; without it the issuer metadata (RFC 8414) names the jwks_uri.',
      }),
    ),
    usernamePrefix: Type.Optional(Type.String()),
    groupsClaim: Type.Optional(NonEmpty),
    clientIdClaim: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'A claim (client_id, azp, appid) whose value becomes the MCP client id.',
      }),
    ),
    clockSkew: Type.Optional(Duration),
    jwksRefreshCooldown: Type.Optional(Duration),
    exchangeClient: Type.Optional(
      Type.Object(
        {
          clientId: NonEmpty,
          clientSecret: Type.Optional(
            Type.String({ minLength: 1, description: 'The secret itself (tests, local use).' }),
          ),
          clientSecretFile: Type.Optional(NonEmpty),
        },
        {
          ...strict,
          description: "The gateway's own client at this issuer, for RFC 8693 token exchange (client_secret_basic).",
        },
      ),
    ),
  },
  strict,
);

const TokenExchange = Type.Object(
  {
    resource: Type.Optional(HttpUrl),
    audience: Type.Optional(NonEmpty),
    scope: Type.Optional(NonEmpty),
  },
  {
    ...strict,
    description:
      "RFC 8693: each call carries a token the caller's issuer minted for this server " +
      '(resource: default the url), never the agent’s own.',
  },
);

const ToolMapping = Type.Object(
  {
    requirements: Type.Optional(
      Type.Array(Type.Unknown(), { description: 'Same shape as kubernetes-mcp-server RBAC requirements.' }),
    ),
    readOnly: Type.Optional(Type.Boolean()),
    destructive: Type.Optional(Type.Boolean()),
  },
  strict,
);

const Server = Type.Object(
  {
    name: ServerName,
    stdio: Type.Optional(
      Type.Object(
        {
          command: NonEmpty,
          args: Type.Optional(Type.Array(Type.String())),
          env: Type.Optional(Type.Record(Type.String(), Type.String())),
          cwd: Type.Optional(NonEmpty),
        },
        strict,
      ),
    ),
    http: Type.Optional(
      Type.Object(
        {
          url: Type.String({ pattern: '^https?://' }),
          headers: Type.Optional(Type.Record(Type.String(), Type.String())),
          tokenExchange: Type.Optional(TokenExchange),
        },
        strict,
      ),
    ),
    toolPrefix: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._-]+$' })),
    shared: Type.Optional(
      Type.Boolean({
        description:
          'One connection (process) for all sessions: for servers with no per-client state that never ask the client anything.',
      }),
    ),
    defaultNamespace: Type.Optional(NonEmpty),
    trustAnnotations: Type.Optional(Type.Boolean()),
    runAs: Type.Optional(
      Type.Object(
        {
          serviceAccount: Type.Optional(Type.Object({ namespace: NonEmpty, name: NonEmpty }, strict)),
          user: Type.Optional(Type.Object({ name: NonEmpty, groups: Type.Optional(Type.Array(NonEmpty)) }, strict)),
          callerIdentity: Type.Optional(Type.Boolean({ description: "The server forwards the caller's own token." })),
        },
        {
          ...strict,
          description:
            'The Kubernetes identity the server acts as, as the access analysis reads it (src/analysis/access/gateway-grants.ts).',
        },
      ),
    ),
    tools: Type.Optional(Type.Record(Type.String({ minLength: 1 }), ToolMapping)),
  },
  strict,
);

const KindMapping = Type.Object(
  { apiVersion: NonEmpty, kind: NonEmpty, resource: NonEmpty, namespaced: Type.Boolean() },
  strict,
);

export const GatewayConfigSchema = Type.Object(
  {
    apiVersion: Type.Optional(Type.Literal('gateway.tether.dev/v1alpha1')),
    kind: Type.Optional(Type.Literal('GatewayConfig')),
    listen: Type.Optional(
      Type.Object(
        {
          host: Type.Optional(NonEmpty),
          port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
          allowedHosts: Type.Optional(
            Type.Array(NonEmpty, {
              description:
                'Host header values (name or name:port; "*" for any). Default: loopback names and auth.resource.',
            }),
          ),
          allowedOrigins: Type.Optional(
            Type.Array(NonEmpty, {
              description: 'Origin header values browsers may send. Default: none (same origin only).',
            }),
          ),
        },
        strict,
      ),
    ),
    limits: Type.Optional(
      Type.Object(
        {
          maxMessageBytes: Type.Optional(Type.Integer({ minimum: 1024 })),
          maxSessions: Type.Optional(Type.Integer({ minimum: 1 })),
          maxUpstreamProcesses: Type.Optional(
            Type.Integer({ minimum: 1, description: 'stdio upstream processes, all sessions together.' }),
          ),
          sessionIdleTimeout: Type.Optional(Duration),
          resumeEvents: Type.Optional(
            Type.Integer({ minimum: 0, description: 'Messages kept per session for Last-Event-ID resumption.' }),
          ),
          callTimeout: Type.Optional(Duration),
        },
        strict,
      ),
    ),
    auth: Type.Object(
      {
        resource: Type.Optional(
          Type.String({
            pattern: '^https?://[^\\s#?]+$',
            description: "This endpoint's canonical URI (RFC 8707, RFC 9728), e.g. https://gateway.example.com/mcp.",
          }),
        ),
        scopesSupported: Type.Optional(Type.Array(NonEmpty)),
        keys: Type.Optional(Type.Array(StaticKey)),
        oidc: Type.Optional(Type.Array(OidcIssuer)),
      },
      strict,
    ),
    stdio: Type.Optional(Type.Object({ tokenEnv: NonEmpty }, strict)),
    kinds: Type.Optional(Type.Array(KindMapping)),
    servers: Type.Array(Server, { minItems: 1 }),
  },
  strict,
);
type GatewayConfigFile = Static<typeof GatewayConfigSchema>;

export interface StaticKeyConfig {
  readonly clientId: string;
  /** SHA-256 of the token. */
  readonly digest: Buffer;
  readonly username: string;
  readonly groups: readonly string[];
}

export interface OidcIssuerConfig {
  readonly issuer: string;
  readonly audiences: readonly string[];
  /** Offline keys; undefined: discovered from the issuer's metadata. */
  readonly jwksFile?: string;
  readonly usernamePrefix: string;
  readonly groupsClaim: string;
  readonly clientIdClaim?: string;
  readonly clockSkewMs: number;
  /** How soon an unknown key id may make the JWKS be fetched again (rotation vs. a flood of made-up kids). */
  readonly jwksRefreshCooldownMs: number;
  /** The gateway's client at this issuer, for token exchange. */
  readonly exchangeClient?: { readonly clientId: string; readonly clientSecret: string };
}

/** What an upstream's token is minted for (RFC 8693 §2.1 resource, audience, scope). */
export interface TokenExchangeTarget {
  readonly resource: string;
  readonly audience?: string;
  readonly scope?: string;
}

/** Clock skew beyond this would keep expired tokens alive: refused in configuration. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

export interface ToolMappingConfig {
  readonly requirements?: readonly Requirement[];
  readonly readOnly?: boolean;
  readonly destructive?: boolean;
}

export type UpstreamTransportConfig =
  | {
      readonly kind: 'stdio';
      readonly command: string;
      readonly args: readonly string[];
      readonly env: Readonly<Record<string, string>>;
      readonly cwd?: string;
    }
  | {
      readonly kind: 'http';
      readonly url: string;
      readonly headers: Readonly<Record<string, string>>;
      readonly tokenExchange?: TokenExchangeTarget;
    };

export interface UpstreamConfig {
  readonly name: string;
  readonly transport: UpstreamTransportConfig;
  readonly toolPrefix?: string;
  readonly shared?: boolean;
  readonly defaultNamespace?: string;
  readonly trustAnnotations: boolean;
  readonly runAs?: {
    readonly serviceAccount?: { readonly namespace: string; readonly name: string };
    readonly user?: { readonly name: string; readonly groups?: readonly string[] };
    readonly callerIdentity?: boolean;
  };
  readonly tools: ReadonlyMap<string, ToolMappingConfig>;
}

export interface KindConfig {
  readonly apiVersion: string;
  readonly kind: string;
  readonly resource: string;
  readonly namespaced: boolean;
}

export interface GatewayConfig {
  readonly listen: {
    readonly host: string;
    readonly port: number;
    readonly allowedHosts?: readonly string[];
    readonly allowedOrigins: readonly string[];
  };
  readonly limits: {
    readonly maxMessageBytes: number;
    readonly maxSessions: number;
    readonly maxUpstreamProcesses: number;
    readonly sessionIdleTimeoutMs: number;
    readonly callTimeoutMs: number;
    readonly resumeEvents: number;
  };
  readonly auth: {
    readonly resource?: string;
    readonly scopesSupported: readonly string[];
    readonly keys: readonly StaticKeyConfig[];
    readonly oidc: readonly OidcIssuerConfig[];
  };
  readonly stdioTokenEnv: string;
  readonly kinds: readonly KindConfig[];
  readonly servers: readonly UpstreamConfig[];
}

export class GatewayConfigError extends Error {
  readonly problems: readonly FieldError[];
  constructor(source: string, problems: readonly FieldError[]) {
    super(problems.map((p) => `${source}: ${p.path || '(root)'}: ${p.message}`).join('\n'));
    this.name = 'GatewayConfigError';
    this.problems = problems;
  }
}

export function loadGatewayConfig(file: string): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new GatewayConfigError(file, [
      { path: '', message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` },
    ]);
  }
  return parseGatewayConfig(text, file, dirname(resolve(file)));
}

/** Relative file names in the config (tokenFile, jwksFile, cwd) are taken from `baseDir`. */
export function parseGatewayConfig(text: string, source: string, baseDir = process.cwd()): GatewayConfig {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new GatewayConfigError(
      source,
      doc.errors.map((e) => ({
        path: '',
        message: `${e.linePos?.[0] ? `line ${e.linePos[0].line} column ${e.linePos[0].col}: ` : ''}${e.message.split('\n')[0]}`,
      })),
    );
  }
  return resolveGatewayConfig(doc.toJS(), source, baseDir);
}

export function resolveGatewayConfig(value: unknown, source: string, baseDir = process.cwd()): GatewayConfig {
  const errors = validate(GatewayConfigSchema, value);
  if (errors.length > 0) throw new GatewayConfigError(source, errors);
  const c = value as GatewayConfigFile;
  const problems = semanticProblems(c);
  if (problems.length > 0) throw new GatewayConfigError(source, problems);
  const file = (f: string) => resolve(baseDir, f);
  const keys = (c.auth.keys ?? []).map((k, i): StaticKeyConfig => {
    let digest: Buffer;
    if (k.sha256) digest = Buffer.from(k.sha256, 'hex');
    else {
      let token = k.token;
      if (token === undefined) {
        try {
          token = readFileSync(file(k.tokenFile as string), 'utf8').trim();
        } catch (e) {
          throw new GatewayConfigError(source, [
            {
              path: `auth.keys[${i}].tokenFile`,
              message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
            },
          ]);
        }
      }
      digest = sha256(token);
    }
    return { clientId: k.clientId, digest, username: k.username ?? `mcp:${k.clientId}`, groups: k.groups ?? [] };
  });
  return {
    listen: {
      host: c.listen?.host ?? '127.0.0.1',
      port: c.listen?.port ?? 8787,
      allowedHosts: c.listen?.allowedHosts,
      allowedOrigins: c.listen?.allowedOrigins ?? [],
    },
    limits: {
      maxMessageBytes: c.limits?.maxMessageBytes ?? 4 * 1024 * 1024,
      maxSessions: c.limits?.maxSessions ?? 1000,
      // server-everything takes ~80 MiB a process: 32 is ~2.5 GiB. Shared upstreams take one in all.
      maxUpstreamProcesses: c.limits?.maxUpstreamProcesses ?? 32,
      // Common clients never send DELETE: an idle session is closed soon, and its client simply opens a new one.
      sessionIdleTimeoutMs: parseDuration(c.limits?.sessionIdleTimeout ?? '5m'),
      callTimeoutMs: parseDuration(c.limits?.callTimeout ?? '5m'),
      resumeEvents: c.limits?.resumeEvents ?? 256,
    },
    auth: {
      resource: c.auth.resource,
      scopesSupported: c.auth.scopesSupported ?? [],
      keys,
      oidc: (c.auth.oidc ?? []).map((o, i) => ({
        issuer: o.issuer,
        audiences: o.audiences ?? [c.auth.resource as string],
        jwksFile: o.jwksFile === undefined ? undefined : file(o.jwksFile),
        usernamePrefix: o.usernamePrefix ?? '',
        groupsClaim: o.groupsClaim ?? 'groups',
        clientIdClaim: o.clientIdClaim,
        clockSkewMs: parseDuration(o.clockSkew ?? '60s'),
        jwksRefreshCooldownMs: parseDuration(o.jwksRefreshCooldown ?? '30s'),
        ...(o.exchangeClient ? { exchangeClient: exchangeClient(o.exchangeClient, i, source, file) } : {}),
      })),
    },
    stdioTokenEnv: c.stdio?.tokenEnv ?? 'TETHER_GATEWAY_TOKEN',
    kinds: c.kinds ?? [],
    servers: c.servers.map(
      (s): UpstreamConfig => ({
        name: s.name,
        transport: s.stdio
          ? {
              kind: 'stdio',
              command: s.stdio.command,
              args: s.stdio.args ?? [],
              env: s.stdio.env ?? {},
              cwd: s.stdio.cwd ? file(s.stdio.cwd) : undefined,
            }
          : httpTransport(s.http as NonNullable<typeof s.http>),
        toolPrefix: s.toolPrefix,
        shared: s.shared ?? false,
        defaultNamespace: s.defaultNamespace,
        trustAnnotations: s.trustAnnotations ?? true,
        runAs: s.runAs,
        tools: new Map(Object.entries(s.tools ?? {}).map(([name, t]) => [name, t as ToolMappingConfig])),
      }),
    ),
  };
}

function httpTransport(h: NonNullable<GatewayConfigFile['servers'][number]['http']>): UpstreamTransportConfig {
  const x = h.tokenExchange;
  return {
    kind: 'http',
    url: h.url,
    headers: h.headers ?? {},
    ...(x ? { tokenExchange: { ...x, resource: x.resource ?? h.url } } : {}),
  };
}

type ExchangeClientFile = NonNullable<NonNullable<GatewayConfigFile['auth']['oidc']>[number]['exchangeClient']>;

function exchangeClient(
  c: ExchangeClientFile,
  i: number,
  source: string,
  file: (f: string) => string,
): { clientId: string; clientSecret: string } {
  if (c.clientSecret !== undefined) return { clientId: c.clientId, clientSecret: c.clientSecret };
  try {
    return { clientId: c.clientId, clientSecret: readFileSync(file(c.clientSecretFile as string), 'utf8').trim() };
  } catch (e) {
    throw new GatewayConfigError(source, [
      {
        path: `auth.oidc[${i}].exchangeClient.clientSecretFile`,
        message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      },
    ]);
  }
}

function isSecureOrLoopback(url: string): boolean {
  const u = new URL(url);
  return u.protocol === 'https:' || ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** What the schema cannot say: "exactly one of", unique names, requirement shapes. */
function semanticProblems(c: GatewayConfigFile): FieldError[] {
  const out: FieldError[] = [];
  if ((c.auth.keys ?? []).length === 0 && (c.auth.oidc ?? []).length === 0) {
    out.push({
      path: 'auth',
      message: 'configure at least one of keys, oidc: a gateway that knows no caller refuses everyone',
    });
  }
  (c.auth.oidc ?? []).forEach((o, i) => {
    if (!o.audiences && !c.auth.resource)
      out.push({
        path: `auth.oidc[${i}].audiences`,
        message: 'give the audiences, or auth.resource (then tokens must be issued for it)',
      });
    if (o.clockSkew && parseDuration(o.clockSkew) > MAX_CLOCK_SKEW_MS)
      out.push({ path: `auth.oidc[${i}].clockSkew`, message: 'at most 5m: a larger skew keeps expired tokens alive' });
    if (!o.jwksFile && !isSecureOrLoopback(o.issuer))
      out.push({
        path: `auth.oidc[${i}].issuer`,
        message: 'metadata is discovered over https only (http for loopback)',
      });
  });
  const clientIds = new Set<string>();
  (c.auth.keys ?? []).forEach((k, i) => {
    if ([k.token, k.tokenFile, k.sha256].filter((x) => x !== undefined).length !== 1)
      out.push({ path: `auth.keys[${i}]`, message: 'give exactly one of token, tokenFile, sha256' });
    if (clientIds.has(k.clientId))
      out.push({ path: `auth.keys[${i}].clientId`, message: `${k.clientId} is configured twice` });
    clientIds.add(k.clientId);
  });
  out.push(...exchangeProblems(c));
  const names = new Set<string>();
  c.servers.forEach((s, i) => {
    if (names.has(s.name)) out.push({ path: `servers[${i}].name`, message: `server ${s.name} is configured twice` });
    names.add(s.name);
    if ((s.stdio === undefined) === (s.http === undefined))
      out.push({ path: `servers[${i}]`, message: 'give exactly one of stdio, http' });
    if (
      s.runAs &&
      [s.runAs.serviceAccount, s.runAs.user, s.runAs.callerIdentity || undefined].filter((x) => x !== undefined)
        .length !== 1
    ) {
      out.push({
        path: `servers[${i}].runAs`,
        message: 'give exactly one of serviceAccount, user, callerIdentity: true',
      });
    }
    for (const [tool, m] of Object.entries(s.tools ?? {})) {
      for (const [j, r] of (m.requirements ?? []).entries())
        out.push(...requirementErrors(r, `servers[${i}].tools[${JSON.stringify(tool)}].requirements[${j}]`));
      if (m.readOnly === true && m.destructive === true)
        out.push({
          path: `servers[${i}].tools[${JSON.stringify(tool)}]`,
          message: 'a tool cannot be both readOnly and destructive',
        });
    }
  });
  return out;
}

/** Token exchange: the gateway's client at an issuer, and the servers whose calls carry exchanged tokens. */
function exchangeProblems(c: GatewayConfigFile): FieldError[] {
  const out: FieldError[] = [];
  const oidc = c.auth.oidc ?? [];
  oidc.forEach((o, i) => {
    const x = o.exchangeClient;
    if (!x) return;
    if ((x.clientSecret === undefined) === (x.clientSecretFile === undefined))
      out.push({
        path: `auth.oidc[${i}].exchangeClient`,
        message: 'give exactly one of clientSecret, clientSecretFile',
      });
    if (!isSecureOrLoopback(o.issuer))
      out.push({ path: `auth.oidc[${i}].issuer`, message: 'tokens are exchanged over https only (http for loopback)' });
  });
  const canExchange = oidc.some((o) => o.exchangeClient !== undefined);
  c.servers.forEach((s, i) => {
    if (!s.http?.tokenExchange) return;
    if (s.shared)
      out.push({
        path: `servers[${i}].shared`,
        message: "one connection serves every agent: it cannot carry each agent's exchanged token",
      });
    if (Object.keys(s.http.headers ?? {}).some((h) => h.toLowerCase() === 'authorization'))
      out.push({ path: `servers[${i}].http.headers`, message: 'tokenExchange sets Authorization: remove it here' });
    if (!isSecureOrLoopback(s.http.url))
      out.push({ path: `servers[${i}].http.url`, message: 'exchanged tokens go over https only (http for loopback)' });
    if (!canExchange)
      out.push({
        path: `servers[${i}].http.tokenExchange`,
        message: 'no issuer in auth.oidc has an exchangeClient to exchange tokens with',
      });
  });
  return out;
}
