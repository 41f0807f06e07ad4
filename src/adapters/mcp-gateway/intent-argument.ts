// Intent reaches the gateway in `_meta["tether.dev/intent"]` or, for clients that can only fill in
// tool arguments, in an `intent` argument the gateway adds to mutating tools and strips again
// before the upstream sees the call.
import type { Intent } from '../../engine/action.ts';
import { INTENT_KEY, parseIntent } from '../shared/context-carriers.ts';

export const INTENT_ARGUMENT = 'intent';

const INTENT_PROPERTY = {
  type: 'string',
  description:
    'Why you are making this change, in a sentence (recorded by Tether; changes without it are refused). ' +
    'Optionally JSON: {"summary": …, "goal": …, "trigger": "alert or ticket id", "targets": ["namespace/resource/name"]}.',
} as const;

/** The tool's input schema with an optional `intent` property, unless the tool already has an argument of that name. */
export function withIntentProperty(inputSchema: unknown): { schema: unknown; added: boolean } {
  if (declaresIntentArgument(inputSchema)) return { schema: inputSchema, added: false };
  const s = (typeof inputSchema === 'object' && inputSchema !== null ? inputSchema : { type: 'object' }) as Record<
    string,
    unknown
  >;
  const properties = (typeof s.properties === 'object' && s.properties !== null ? s.properties : {}) as Record<
    string,
    unknown
  >;
  return { schema: { ...s, properties: { ...properties, [INTENT_ARGUMENT]: INTENT_PROPERTY } }, added: true };
}

export interface TakenIntent {
  readonly intent?: Intent;
  /** The arguments the upstream receives. */
  readonly args: Record<string, unknown>;
}

export function declaresIntentArgument(inputSchema: unknown): boolean {
  const properties = (inputSchema as { properties?: unknown } | undefined)?.properties;
  return typeof properties === 'object' && properties !== null && INTENT_ARGUMENT in properties;
}

/**
 * `_meta` wins over the argument. The argument is Tether's (and stripped) unless the upstream tool
 * declares an `intent` argument of its own, which then passes through untouched.
 */
export function takeIntent(
  args: Readonly<Record<string, unknown>>,
  meta: Readonly<Record<string, unknown>> | undefined,
  upstreamOwnsArgument: boolean,
): TakenIntent {
  let rest: Record<string, unknown> = args as Record<string, unknown>;
  let fromArgument: unknown;
  if (!upstreamOwnsArgument && INTENT_ARGUMENT in args) {
    const { [INTENT_ARGUMENT]: taken, ...others } = args;
    fromArgument = taken;
    rest = others;
  }
  const fromMeta = meta?.[INTENT_KEY];
  const intent =
    fromMeta !== undefined && fromMeta !== null && fromMeta !== ''
      ? parseIntent(fromMeta, `_meta["${INTENT_KEY}"]`)
      : parseIntent(fromArgument, `arguments.${INTENT_ARGUMENT}`);
  return { intent, args: rest };
}
