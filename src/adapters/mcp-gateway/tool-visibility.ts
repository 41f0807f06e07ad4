// Which tools an agent is shown: not a decision (every call is still decided by the engine), only
// a courtesy so agents are not tempted by tools they can never use. A tool is hidden when the
// agent's class forbids what it does (advisory agents see read-only tools) or when no rule of the
// boundary could ever allow one of its operations, whatever the arguments.
import { ruleScopeFits } from '../../engine/boundary-scope.ts';
import { resolveAgent } from '../../engine/rules/accountability.ts';
import { apiGroupMatches, resourceMatches, resourceNameMatches, verbMatches } from '../../kube/rbac-match.ts';
import type { Subject } from '../../engine/action.ts';
import type { CompiledAgent, CompiledPolicy } from '../../policy/compile.ts';
import type { KindResolver } from './kinds.ts';
import { isMutatingEffect, TOOL_GROUP, TOOL_RESOURCE, type ToolEffect } from './tool-effect.ts';

export type Audience =
  | { readonly kind: 'everything' }
  | { readonly kind: 'nothing'; readonly why: string }
  | { readonly kind: 'agent'; readonly agent: CompiledAgent };

/** Whom the list is for. Callers the engine would refuse outright see no tools; audit mode shows all. */
export function audienceFor(subject: Subject, policy: CompiledPolicy | undefined): Audience {
  if (!policy) return { kind: 'nothing', why: 'no policy is loaded yet' };
  const r = resolveAgent(subject, policy);
  if (r.kind === 'not-an-agent') return { kind: 'everything' };
  if (r.kind !== 'agent')
    return policy.governance.defaultMode === 'audit'
      ? { kind: 'everything' }
      : {
          kind: 'nothing',
          why: r.kind === 'unregistered' ? 'no Agent claims this identity' : 'several Agents claim this identity',
        };
  return r.agent.mode === 'audit' ? { kind: 'everything' } : { kind: 'agent', agent: r.agent };
}

interface Shape {
  readonly verb: string;
  /** Unknown until the arguments name it (GVK or manifest targets). */
  readonly resource?: { readonly group: string; readonly resource: string; readonly subresource?: string };
  /** A GVK target's fixed subresource, known even when the resource is not. */
  readonly subresource?: string;
  readonly name?: string;
  /** true: cluster-wide; false: in a namespace; undefined: depends on the arguments. */
  readonly clusterWide?: boolean;
}

function shapesOf(effect: ToolEffect, server: string, tool: string, kinds: KindResolver): Shape[] {
  if (effect.kind === 'tool')
    return [
      {
        verb: effect.verb,
        resource: { group: TOOL_GROUP, resource: TOOL_RESOURCE },
        name: `${server}/${tool}`,
        clusterWide: true,
      },
    ];
  return effect.requirements.flatMap((r) => {
    const t = r.target.resource;
    const resource = t ? { group: t.apiGroup ?? '', resource: t.resource, subresource: t.subresource } : undefined;
    const clusterScoped = resource !== undefined && !kinds.namespaced(resource.group, resource.resource);
    const clusterWide =
      clusterScoped || r.namespace?.all === true ? true : r.namespace?.name !== undefined ? false : undefined;
    const name = r.resourceName?.name;
    const subresource = r.target.gvk?.subresource;
    return r.verbs.map((verb) => ({ verb, resource, subresource, name, clusterWide }));
  });
}

function someRuleCouldAllow(agent: CompiledAgent, s: Shape): boolean {
  const b = agent.spec.boundary ?? {};
  const namespaces = b.namespaces ?? [];
  return (b.rules ?? []).some(
    (r) =>
      verbMatches(r, s.verb) &&
      ruleScopeFits(r, namespaces, s.clusterWide) &&
      (s.resource === undefined ||
        (apiGroupMatches(r, s.resource.group) && resourceMatches(r, s.resource.resource, s.resource.subresource))) &&
      (s.subresource === undefined ||
        (r.resources ?? []).some((res) => res === '*' || res.endsWith(`/${s.subresource}`))) &&
      (s.name === undefined || resourceNameMatches(r, s.name)),
  );
}

export function visibleTo(
  audience: Audience,
  effect: ToolEffect,
  server: string,
  tool: string,
  kinds: KindResolver,
): boolean {
  if (audience.kind !== 'agent') return audience.kind === 'everything';
  const agent = audience.agent;
  if (agent.authorityClass === 'advisory' && isMutatingEffect(effect)) return false;
  return shapesOf(effect, server, tool, kinds).every((s) => someRuleCouldAllow(agent, s));
}
