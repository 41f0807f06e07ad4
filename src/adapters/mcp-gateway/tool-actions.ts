// One tools/call → the Kubernetes operations it stands for (verb, target, object), resolved from
// the tool's effect and the call's arguments. Only translation: whether any of it is allowed is
// the engine's question.
import { type Target, targetKey } from '../../engine/action.ts';
import { DecodeError } from '../shared/decode-error.ts';
import type { KindResolver } from './kinds.ts';
import { readManifest } from './manifest.ts';
import type { Requirement } from './rbac-declaration.ts';
import { TOOL_GROUP, TOOL_RESOURCE, type ToolEffect } from './tool-effect.ts';

export interface Operation {
  readonly verb: string;
  readonly target: Target;
  /** The object a manifest argument carries, so CEL conditions can read it. */
  readonly object?: unknown;
}

export interface TranslationContext {
  readonly server: string;
  readonly tool: string;
  /** What the server uses when a namespace argument is left out (kubernetes-mcp-server: the kubeconfig's). */
  readonly defaultNamespace?: string;
  readonly kinds: KindResolver;
}

export function toolTarget(server: string, tool: string): Target {
  return { group: TOOL_GROUP, version: 'v1alpha1', resource: TOOL_RESOURCE, name: `${server}/${tool}` };
}

export function operationsFor(
  effect: ToolEffect,
  args: Readonly<Record<string, unknown>>,
  ctx: TranslationContext,
): Operation[] {
  if (effect.kind === 'tool') return [{ verb: effect.verb, target: toolTarget(ctx.server, ctx.tool) }];
  const out = new Map<string, Operation>();
  effect.requirements.forEach((r, i) => {
    for (const { target, object } of targetsOf(r, args, ctx, `requirement ${i}`)) {
      for (const verb of r.verbs) {
        const key = `${verb} ${targetKey(target)}`;
        if (!out.has(key)) out.set(key, object === undefined ? { verb, target } : { verb, target, object });
      }
    }
  });
  return [...out.values()];
}

function stringArgument(args: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const v = args[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * The namespace a requirement names. A namespace argument left out falls back to the server's
 * default namespace when the config gives one, and otherwise to "all namespaces": the wider reading,
 * so the boundary decides on no less than the server may do.
 */
function namespaceOf(
  r: Requirement,
  args: Readonly<Record<string, unknown>>,
  ctx: TranslationContext,
): string | undefined {
  const ns = r.namespace;
  if (!ns || ns.all) return undefined;
  if (ns.name !== undefined) return ns.name;
  return stringArgument(args, ns.argument as string) ?? ctx.defaultNamespace;
}

function nameOf(r: Requirement, args: Readonly<Record<string, unknown>>): string | undefined {
  const rn = r.resourceName;
  if (!rn) return undefined;
  return rn.name ?? stringArgument(args, rn.argument as string);
}

function targetsOf(
  r: Requirement,
  args: Readonly<Record<string, unknown>>,
  ctx: TranslationContext,
  where: string,
): { target: Target; object?: unknown }[] {
  const t = r.target;
  if (t.resource) {
    const group = t.resource.apiGroup ?? '';
    const namespaced = ctx.kinds.namespaced(group, t.resource.resource);
    return [
      {
        target: compact({
          group,
          version: '',
          resource: t.resource.resource,
          subresource: t.resource.subresource,
          namespace: namespaced ? namespaceOf(r, args, ctx) : undefined,
          name: nameOf(r, args),
        }),
      },
    ];
  }
  if (t.gvk) {
    const apiVersion = stringArgument(args, t.gvk.apiVersionArgument);
    const kind = stringArgument(args, t.gvk.kindArgument);
    if (!apiVersion)
      throw new DecodeError(
        `arguments.${t.gvk.apiVersionArgument}`,
        `is required to tell which resource ${ctx.tool} acts on (${where})`,
      );
    if (!kind)
      throw new DecodeError(
        `arguments.${t.gvk.kindArgument}`,
        `is required to tell which resource ${ctx.tool} acts on (${where})`,
      );
    const k = ctx.kinds.resolve(apiVersion, kind);
    return [
      {
        target: compact({
          group: k.group,
          version: k.version,
          resource: k.resource,
          subresource: t.gvk.subresource,
          namespace: k.namespaced ? namespaceOf(r, args, ctx) : undefined,
          name: nameOf(r, args),
        }),
      },
    ];
  }
  const argument = (t.manifest as { argument: string }).argument;
  return readManifest(args[argument], `arguments.${argument}`).map((m) => {
    const k = ctx.kinds.resolve(m.apiVersion, m.kind);
    const namespace = k.namespaced ? (m.namespace ?? namespaceOf(r, args, ctx) ?? ctx.defaultNamespace) : undefined;
    return {
      target: compact({
        group: k.group,
        version: k.version,
        resource: k.resource,
        namespace,
        name: m.name ?? nameOf(r, args),
      }),
      object: m.object,
    };
  });
}

/** Targets without undefined fields: what the ledger, the messages and the tests see is only what is known. */
function compact(t: {
  group: string;
  version: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}): Target {
  const out: { -readonly [K in keyof Target]: Target[K] } = {
    group: t.group,
    version: t.version,
    resource: t.resource,
  };
  if (t.subresource !== undefined) out.subresource = t.subresource;
  if (t.namespace !== undefined) out.namespace = t.namespace;
  if (t.name !== undefined) out.name = t.name;
  return out;
}
