// The slice of the MCP gateway's configuration the access analysis needs: which agent may call
// which tool on which upstream server, what each tool may do to Kubernetes (its RBAC metadata,
// verbatim as kubernetes-mcp-server publishes it in tools/list `_meta`), and which identity the
// tool server runs as. The gateway owns the full configuration; this is the input contract.
import { readFileSync } from 'node:fs';
import { type Static, Type } from '@sinclair/typebox';
import { parseAllDocuments } from 'yaml';
import { validate } from '../../policy/validate.ts';
import type { AccessProblem } from './inventory.ts';

/** The `_meta` key under which kubernetes-mcp-server publishes a tool's Kubernetes RBAC needs. */
export const RBAC_META_KEY = 'io.kubernetes-mcp-server/rbac';

const Str = Type.String({ minLength: 1 });
const loose = { additionalProperties: true } as const;

// Shapes follow kubernetes-mcp-server's docs/tool-rbac-metadata.md (contract version v1alpha1).
export const RbacRequirement = Type.Object(
  {
    verbs: Type.Array(Str, { minItems: 1 }),
    target: Type.Object(
      {
        resource: Type.Optional(
          Type.Object(
            { apiGroup: Type.Optional(Type.String()), resource: Str, subresource: Type.Optional(Type.String()) },
            loose,
          ),
        ),
        gvk: Type.Optional(
          Type.Object({ apiVersionArgument: Str, kindArgument: Str, subresource: Type.Optional(Type.String()) }, loose),
        ),
        manifest: Type.Optional(Type.Object({ argument: Str }, loose)),
      },
      loose,
    ),
    namespace: Type.Optional(
      Type.Object(
        {
          name: Type.Optional(Type.String()),
          argument: Type.Optional(Type.String()),
          all: Type.Optional(Type.Boolean()),
        },
        loose,
      ),
    ),
    resourceName: Type.Optional(
      Type.Object({ name: Type.Optional(Type.String()), argument: Type.Optional(Type.String()) }, loose),
    ),
  },
  loose,
);
export type RbacRequirement = Static<typeof RbacRequirement>;

export const ToolRbacMetadata = Type.Object(
  {
    version: Type.String(),
    none: Type.Optional(Type.Object({ reason: Type.Optional(Type.String()) }, loose)),
    bounded: Type.Optional(Type.Object({ requirements: Type.Array(RbacRequirement) }, loose)),
    unbounded: Type.Optional(Type.Object({ reason: Type.Optional(Type.String()) }, loose)),
  },
  loose,
);
export type ToolRbacMetadata = Static<typeof ToolRbacMetadata>;

export const GatewayTool = Type.Object(
  {
    name: Str,
    annotations: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    _meta: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  loose,
);
export type GatewayTool = Static<typeof GatewayTool>;

/** How the tool server authenticates to Kubernetes. `callerIdentity`: it forwards the caller's own token. */
export const RunAs = Type.Object(
  {
    serviceAccount: Type.Optional(Type.Object({ namespace: Str, name: Str }, { additionalProperties: false })),
    user: Type.Optional(
      Type.Object({ name: Str, groups: Type.Optional(Type.Array(Str)) }, { additionalProperties: false }),
    ),
    callerIdentity: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type RunAs = Static<typeof RunAs>;

export const GatewayServer = Type.Object(
  { name: Str, runAs: Type.Optional(RunAs), tools: Type.Array(GatewayTool) },
  loose,
);
export type GatewayServer = Static<typeof GatewayServer>;

export const GatewayGrant = Type.Object(
  {
    agent: Str,
    server: Str,
    tools: Type.Array(Str, { minItems: 1, description: "Tool names; '*' for every tool of the server." }),
  },
  { additionalProperties: false },
);
export type GatewayGrant = Static<typeof GatewayGrant>;

export const GatewayConfig = Type.Object(
  { servers: Type.Array(GatewayServer), grants: Type.Array(GatewayGrant) },
  loose,
);
export type GatewayConfig = Static<typeof GatewayConfig>;

export const EMPTY_GATEWAY: GatewayConfig = { servers: [], grants: [] };

/** What a tool may do to Kubernetes, decoded from its `_meta`. `undeclared` must be read as "anything its identity can". */
export type ToolReach =
  | { readonly kind: 'none'; readonly reason?: string }
  | { readonly kind: 'bounded'; readonly requirements: readonly RbacRequirement[] }
  | { readonly kind: 'unbounded'; readonly reason?: string }
  | { readonly kind: 'undeclared'; readonly problem?: string };

export function toolReach(tool: GatewayTool): ToolReach {
  const meta = tool._meta?.[RBAC_META_KEY];
  if (meta === undefined) return { kind: 'undeclared' };
  const errors = validate(ToolRbacMetadata, meta);
  if (errors.length > 0)
    return {
      kind: 'undeclared',
      problem: `${RBAC_META_KEY}: ${errors.map((e) => `${e.path || '(root)'} ${e.message}`).join('; ')}`,
    };
  const m = meta as ToolRbacMetadata;
  if (m.version !== 'v1alpha1')
    return { kind: 'undeclared', problem: `${RBAC_META_KEY}: unsupported version ${JSON.stringify(m.version)}` };
  const forms = [m.none, m.bounded, m.unbounded].filter((x) => x !== undefined).length;
  if (forms !== 1)
    return { kind: 'undeclared', problem: `${RBAC_META_KEY}: needs exactly one of none, bounded, unbounded` };
  if (m.none) return { kind: 'none', reason: m.none.reason };
  if (m.unbounded) return { kind: 'unbounded', reason: m.unbounded.reason };
  const reqs = m.bounded?.requirements ?? [];
  for (const [i, r] of reqs.entries()) {
    const targets = [r.target.resource, r.target.gvk, r.target.manifest].filter((x) => x !== undefined).length;
    if (targets !== 1)
      return {
        kind: 'undeclared',
        problem: `${RBAC_META_KEY}: requirement ${i}: target needs exactly one of resource, gvk, manifest`,
      };
  }
  if (reqs.length === 0) return { kind: 'undeclared', problem: `${RBAC_META_KEY}: bounded declares no requirement` };
  return { kind: 'bounded', requirements: reqs };
}

/** Accepts the bare `{servers, grants}` or a document wrapping it in `spec` (any kind). */
export function parseGatewayConfig(text: string, origin: string): { config: GatewayConfig; problems: AccessProblem[] } {
  const problems: AccessProblem[] = [];
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  const servers: GatewayServer[] = [];
  const grants: GatewayGrant[] = [];
  list.forEach((d, document) => {
    const source = { origin, document };
    if (d.errors.length > 0) {
      for (const e of d.errors)
        problems.push({
          source,
          severity: 'error',
          code: 'yaml',
          message: `broken YAML: ${e.message.split('\n')[0]}; document skipped`,
        });
      return;
    }
    const raw = d.toJS() as Record<string, unknown> | null;
    if (raw === null || raw === undefined) return;
    const body = raw && typeof raw === 'object' && 'spec' in raw ? raw.spec : raw;
    const base = body === raw ? '' : 'spec.';
    const errors = validate(GatewayConfig, body);
    if (errors.length > 0) {
      for (const e of errors)
        problems.push({
          source,
          severity: 'error',
          code: 'invalid-gateway',
          message: `${base}${e.path || '(root)'}: ${e.message}; document skipped`,
        });
      return;
    }
    const cfg = body as GatewayConfig;
    servers.push(...cfg.servers);
    grants.push(...cfg.grants);
  });
  const config = { servers, grants };
  problems.push(...checkGatewayConfig(config, origin));
  return { config, problems };
}

export function readGatewayConfig(path: string): { config: GatewayConfig; problems: AccessProblem[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return {
      config: EMPTY_GATEWAY,
      problems: [
        {
          source: { origin: path },
          severity: 'error',
          code: 'read',
          message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        },
      ],
    };
  }
  return parseGatewayConfig(text, path);
}

/** Cross-references: grants to unknown servers or tools, servers without a declared identity. */
export function checkGatewayConfig(config: GatewayConfig, origin: string): AccessProblem[] {
  const problems: AccessProblem[] = [];
  const source = { origin };
  const servers = new Map<string, GatewayServer>();
  for (const s of config.servers) {
    if (servers.has(s.name))
      problems.push({
        source,
        severity: 'warning',
        code: 'duplicate-server',
        message: `server ${s.name} is defined twice; the later one is used`,
      });
    servers.set(s.name, s);
    const forms = [s.runAs?.serviceAccount, s.runAs?.user, s.runAs?.callerIdentity ? true : undefined].filter(
      (x) => x !== undefined,
    ).length;
    if (forms === 0)
      problems.push({
        source,
        severity: 'warning',
        code: 'no-runtime-identity',
        object: `server ${s.name}`,
        message: 'declares no runAs identity: what its tools reach in Kubernetes cannot be seen',
      });
    else if (forms > 1)
      problems.push({
        source,
        severity: 'error',
        code: 'invalid-gateway',
        object: `server ${s.name}`,
        message: 'runAs needs exactly one of serviceAccount, user, callerIdentity',
      });
    for (const t of s.tools) {
      const r = toolReach(t);
      if (r.kind === 'undeclared' && r.problem)
        problems.push({
          source,
          severity: 'warning',
          code: 'invalid-tool-rbac',
          object: `tool ${s.name}/${t.name}`,
          message: `${r.problem}; treated as undeclared (anything its identity can do)`,
        });
    }
  }
  for (const g of config.grants) {
    const s = servers.get(g.server);
    if (!s) {
      problems.push({
        source,
        severity: 'error',
        code: 'unknown-server',
        object: `grant ${g.agent} → ${g.server}`,
        message: `server ${g.server} is not defined; this grant is ignored`,
      });
      continue;
    }
    for (const t of g.tools) {
      if (t !== '*' && !s.tools.some((x) => x.name === t)) {
        problems.push({
          source,
          severity: 'warning',
          code: 'unknown-tool',
          object: `grant ${g.agent} → ${g.server}/${t}`,
          message: `server ${g.server} has no tool ${t}; ignored`,
        });
      }
    }
  }
  return problems;
}
