// What calling a tool does, before any argument is known: the Kubernetes requirements it declares
// (gateway config first, then the server's RBAC metadata), or, when nothing says what it touches,
// the tool itself as a pseudo-resource, so the boundary still governs it.
import { isMutation } from '../../engine/action.ts';
import type { ToolMappingConfig } from './config.ts';
import { type Requirement, readRbacMetadata } from './rbac-declaration.ts';

/** The pseudo-resource a tool stands for when it declares no Kubernetes requirements: tools.mcp.tether.dev `<server>/<tool>`. */
export const TOOL_GROUP = 'mcp.tether.dev';
export const TOOL_RESOURCE = 'tools';

/** get: a read-only tool; delete: a destructive one; call: any other. */
export type ToolVerb = 'get' | 'call' | 'delete';

export type ToolEffect =
  | {
      readonly kind: 'kubernetes';
      readonly requirements: readonly Requirement[];
      readonly source: 'config' | 'metadata';
    }
  | { readonly kind: 'tool'; readonly verb: ToolVerb; readonly why: string };

export interface UpstreamTool {
  readonly name: string;
  readonly inputSchema?: unknown;
  readonly annotations?: { readonly readOnlyHint?: boolean; readonly destructiveHint?: boolean };
  readonly _meta?: Record<string, unknown>;
}

export interface EffectContext {
  readonly mapping?: ToolMappingConfig;
  readonly trustAnnotations: boolean;
  /** Told about metadata the gateway could not read (the tool is then governed as itself). */
  readonly onProblem?: (message: string) => void;
}

function toolVerb(readOnly: boolean | undefined, destructive: boolean | undefined): ToolVerb {
  if (readOnly === true) return 'get';
  return destructive === true ? 'delete' : 'call';
}

export function toolEffect(tool: UpstreamTool, ctx: EffectContext): ToolEffect {
  const m = ctx.mapping;
  if (m?.requirements && m.requirements.length > 0)
    return { kind: 'kubernetes', requirements: m.requirements, source: 'config' };
  const hints = ctx.trustAnnotations ? tool.annotations : undefined;
  if (m)
    return {
      kind: 'tool',
      verb: toolVerb(m.readOnly ?? hints?.readOnlyHint, m.destructive ?? hints?.destructiveHint),
      why: 'the gateway config maps it to no Kubernetes resource',
    };
  const meta = readRbacMetadata(tool._meta);
  if (meta.problem)
    ctx.onProblem?.(`tool ${tool.name}: unreadable RBAC metadata (${meta.problem}); governed as the tool itself`);
  const d = meta.declaration;
  if (d?.kind === 'bounded') return { kind: 'kubernetes', requirements: d.requirements, source: 'metadata' };
  const verb = toolVerb(hints?.readOnlyHint, hints?.destructiveHint);
  if (d?.kind === 'none') return { kind: 'tool', verb, why: 'the server declares it touches no Kubernetes API' };
  if (d?.kind === 'unbounded')
    return {
      kind: 'tool',
      verb,
      why: `the server cannot bound its Kubernetes access${d.reason ? ` (${d.reason})` : ''}`,
    };
  return { kind: 'tool', verb, why: 'nothing declares what it touches' };
}

export function isMutatingEffect(e: ToolEffect): boolean {
  return e.kind === 'tool' ? e.verb !== 'get' : e.requirements.some((r) => r.verbs.some(isMutation));
}
