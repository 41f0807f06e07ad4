// Chain context across agent → tool → agent hops. The call's own chain comes from `_meta`
// (`tether.dev/chain`, else Tether's baggage members, else the W3C trace alone); what goes on to the
// upstream is one hop deeper with the calling agent appended, in all three carriers, so a
// Tether-governed agent behind the upstream carries it into its own calls.
import type { ChainContext } from '../../engine/action.ts';
import { CHAIN_KEY, parseChain } from '../shared/context-carriers.ts';
import { DecodeError } from '../shared/decode-error.ts';
import {
  baggageValue,
  formatBaggage,
  formatTraceParent,
  newSpanId,
  newTraceId,
  parseBaggage,
  parseTraceParent,
  type TraceParent,
} from './trace-context.ts';

export const TRACEPARENT_KEY = 'traceparent';
export const BAGGAGE_KEY = 'baggage';
const BAGGAGE_PREFIX = 'tether.chain.';

export interface IncomingChain {
  /** The chain as the engine sees this call. */
  readonly chain: ChainContext;
  readonly trace?: TraceParent;
  readonly baggage: ReadonlyMap<string, string>;
}

function chainFromBaggage(baggage: ReadonlyMap<string, string>): ChainContext | undefined {
  const id = baggageValue(baggage.get(`${BAGGAGE_PREFIX}id`));
  if (!id) return undefined;
  const depthText = baggageValue(baggage.get(`${BAGGAGE_PREFIX}depth`)) ?? '0';
  if (!/^[0-9]+$/.test(depthText))
    throw new DecodeError(`_meta.baggage ${BAGGAGE_PREFIX}depth`, 'must be a non-negative integer');
  const pathText = baggageValue(baggage.get(`${BAGGAGE_PREFIX}path`)) ?? '';
  const parent = baggageValue(baggage.get(`${BAGGAGE_PREFIX}parent`));
  return {
    id,
    depth: Number(depthText),
    path: pathText === '' ? [] : pathText.split(','),
    parentActionId: parent || undefined,
  };
}

export function readIncomingChain(meta: Readonly<Record<string, unknown>> | undefined): IncomingChain {
  const trace = parseTraceParent(meta?.[TRACEPARENT_KEY]);
  const baggage = parseBaggage(meta?.[BAGGAGE_KEY]);
  const explicit = parseChain(meta?.[CHAIN_KEY], `_meta["${CHAIN_KEY}"]`) ?? chainFromBaggage(baggage);
  // A caller that is not Tether-aware starts a chain here; its trace id names it, when it has one.
  const chain = explicit ?? { id: trace?.traceId ?? newTraceId(), depth: 0, path: [] };
  return { chain, trace, baggage };
}

/**
 * The `_meta` entries that carry the chain to the upstream: one hop deeper, the calling agent at the
 * end of the path. The next hop's parent is the caller's current span when it sent one (so calls it
 * makes from one step share a parent, which is what fan-out counts), else this call's new span.
 */
export function forwardedChainMeta(incoming: IncomingChain, callingAgent: string | undefined): Record<string, unknown> {
  const spanId = newSpanId();
  const traceId =
    incoming.trace?.traceId ?? (/^[0-9a-f]{32}$/.test(incoming.chain.id) ? incoming.chain.id : newTraceId());
  const next: ChainContext = {
    id: incoming.chain.id,
    depth: incoming.chain.depth + 1,
    path: callingAgent === undefined ? incoming.chain.path : [...incoming.chain.path, callingAgent],
    parentActionId: incoming.trace?.spanId ?? spanId,
  };
  const baggage = new Map([...incoming.baggage].filter(([k]) => !k.startsWith(BAGGAGE_PREFIX)));
  baggage.set(`${BAGGAGE_PREFIX}id`, encodeURIComponent(next.id));
  baggage.set(`${BAGGAGE_PREFIX}depth`, String(next.depth));
  baggage.set(`${BAGGAGE_PREFIX}path`, encodeURIComponent(next.path.join(',')));
  baggage.set(`${BAGGAGE_PREFIX}parent`, encodeURIComponent(next.parentActionId as string));
  return {
    [TRACEPARENT_KEY]: formatTraceParent({ traceId, spanId, flags: incoming.trace?.flags ?? '01' }),
    [BAGGAGE_KEY]: formatBaggage(baggage),
    [CHAIN_KEY]: next,
  };
}
