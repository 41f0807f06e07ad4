// The tools of every upstream as one list: each under the name the agent calls it by (the
// server's prefix when configured, `<server>__<tool>` when two servers offer the same name), with
// what it does worked out once per list, not once per call.
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { UpstreamConfig } from './config.ts';
import { declaresIntentArgument, withIntentProperty } from './intent-argument.ts';
import { isMutatingEffect, type ToolEffect, toolEffect } from './tool-effect.ts';

export interface CatalogEntry {
  readonly exposedName: string;
  readonly server: string;
  readonly upstreamName: string;
  readonly effect: ToolEffect;
  readonly mutating: boolean;
  /** The upstream declares its own `intent` argument: Tether leaves it alone. */
  readonly upstreamOwnsIntent: boolean;
  /** The tool as listed to agents: renamed, with the optional intent argument on mutating tools. */
  readonly listed: Tool;
}

export const NAMESPACE_SEPARATOR = '__';

export class ToolCatalog {
  readonly entries: readonly CatalogEntry[];
  readonly #byName: ReadonlyMap<string, CatalogEntry>;

  constructor(entries: readonly CatalogEntry[]) {
    this.entries = entries;
    this.#byName = new Map(entries.map((e) => [e.exposedName, e]));
  }

  get(exposedName: string): CatalogEntry | undefined {
    return this.#byName.get(exposedName);
  }
}

/**
 * Tasks are relayed only from upstreams that offer task-based tool calls. From any other, a tool
 * that requires tasks is left out, and one that merely supports them is listed without saying so:
 * what the agent is offered always matches what the gateway can carry.
 */
function withoutTasks(tool: Tool): Tool | undefined {
  const execution = tool.execution as { taskSupport?: string } | undefined;
  if (execution?.taskSupport === undefined) return tool;
  if (execution.taskSupport === 'required') return undefined;
  const { taskSupport: _, ...rest } = execution;
  return { ...tool, execution: rest };
}

export function buildCatalog(
  upstreams: readonly { config: UpstreamConfig; tools: readonly Tool[]; tasks?: boolean }[],
  onProblem: (message: string) => void,
): ToolCatalog {
  const unprefixedCount = new Map<string, number>();
  const offered = upstreams.map((u) => ({
    config: u.config,
    tools: u.tasks ? u.tools : u.tools.flatMap((t) => withoutTasks(t) ?? []),
  }));
  for (const u of offered)
    if (u.config.toolPrefix === undefined)
      for (const t of u.tools) unprefixedCount.set(t.name, (unprefixedCount.get(t.name) ?? 0) + 1);
  const entries: CatalogEntry[] = [];
  const taken = new Set<string>();
  for (const { config, tools } of offered) {
    for (const tool of tools) {
      const exposedName =
        config.toolPrefix !== undefined
          ? `${config.toolPrefix}${tool.name}`
          : (unprefixedCount.get(tool.name) ?? 0) > 1
            ? `${config.name}${NAMESPACE_SEPARATOR}${tool.name}`
            : tool.name;
      if (taken.has(exposedName)) {
        onProblem(
          `tool ${tool.name} of server ${config.name} would be listed as ${exposedName}, which another tool already is; it is left out (set toolPrefix)`,
        );
        continue;
      }
      taken.add(exposedName);
      const effect = toolEffect(tool, {
        mapping: config.tools.get(tool.name),
        trustAnnotations: config.trustAnnotations,
        onProblem: (m) => onProblem(`server ${config.name}: ${m}`),
      });
      const mutating = isMutatingEffect(effect);
      const upstreamOwnsIntent = declaresIntentArgument(tool.inputSchema);
      const inputSchema = mutating
        ? (withIntentProperty(tool.inputSchema).schema as Tool['inputSchema'])
        : tool.inputSchema;
      entries.push({
        exposedName,
        server: config.name,
        upstreamName: tool.name,
        effect,
        mutating,
        upstreamOwnsIntent,
        listed: { ...tool, name: exposedName, inputSchema },
      });
    }
  }
  return new ToolCatalog(entries);
}
