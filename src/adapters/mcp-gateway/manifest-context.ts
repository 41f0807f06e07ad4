// The API server never sees MCP `_meta`: so that the admission webhook can tie a tool's write to
// the agent's intent and chain, the gateway carries them into each object of a manifest argument
// as the annotations tether.dev/intent and tether.dev/chain. Translation only.
import { parseAllDocuments } from 'yaml';
import type { ChainContext, Intent } from '../../engine/action.ts';
import { CHAIN_KEY, INTENT_KEY } from '../shared/context-carriers.ts';
import type { ToolEffect } from './tool-effect.ts';

/** The arguments of a tool that carry manifests (kubernetes-mcp-server: resources_create_or_update's `resource`). */
export function manifestArguments(effect: ToolEffect): string[] {
  if (effect.kind !== 'kubernetes') return [];
  return [...new Set(effect.requirements.flatMap((r) => (r.target.manifest ? [r.target.manifest.argument] : [])))];
}

function stamp(obj: Record<string, unknown>, annotations: Record<string, string>): Record<string, unknown> {
  if (typeof obj.kind === 'string' && obj.kind.endsWith('List') && Array.isArray(obj.items)) {
    return {
      ...obj,
      items: obj.items.map((i) =>
        typeof i === 'object' && i !== null ? stamp(i as Record<string, unknown>, annotations) : i,
      ),
    };
  }
  const md = (typeof obj.metadata === 'object' && obj.metadata !== null ? obj.metadata : {}) as Record<string, unknown>;
  const existing = (typeof md.annotations === 'object' && md.annotations !== null ? md.annotations : {}) as Record<
    string,
    string
  >;
  return { ...obj, metadata: { ...md, annotations: { ...existing, ...annotations } } };
}

/** Arguments with every manifest object annotated; a manifest that does not parse is left as it is (the call was decided on it already). */
export function stampManifests(
  args: Record<string, unknown>,
  names: readonly string[],
  context: { intent?: Intent; chain: ChainContext },
): Record<string, unknown> {
  const annotations: Record<string, string> = { [CHAIN_KEY]: JSON.stringify(context.chain) };
  if (context.intent) annotations[INTENT_KEY] = JSON.stringify(context.intent);
  return stampAnnotations(args, names, annotations);
}

/** Arguments with these annotations on every object of the named manifest arguments. */
export function stampAnnotations(
  args: Record<string, unknown>,
  names: readonly string[],
  annotations: Readonly<Record<string, string>>,
): Record<string, unknown> {
  if (names.length === 0) return args;
  const out = { ...args };
  for (const name of names) {
    const raw = args[name];
    if (typeof raw === 'string') {
      const docs = parseAllDocuments(raw);
      if (docs.some((d) => d.errors.length > 0)) continue;
      const objects = docs
        .map((d) => d.toJS() as unknown)
        .filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v));
      out[name] = objects.map((o) => JSON.stringify(stamp(o, annotations))).join('\n---\n');
    } else if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
      out[name] = stamp(raw as Record<string, unknown>, annotations);
    }
  }
  return out;
}
