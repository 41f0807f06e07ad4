// W3C Trace Context (`traceparent`) and Baggage, as far as the gateway reads and writes them.
import { randomBytes } from 'node:crypto';

export interface TraceParent {
  readonly traceId: string;
  readonly spanId: string;
  readonly flags: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** Invalid values are ignored, as the spec asks: the caller then starts a new trace. */
export function parseTraceParent(raw: unknown): TraceParent | undefined {
  if (typeof raw !== 'string') return undefined;
  const m = TRACEPARENT.exec(raw.trim());
  if (!m) return undefined;
  const [, version, traceId, spanId, flags, rest] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string | undefined,
  ];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, flags };
}

export function formatTraceParent(t: TraceParent): string {
  return `00-${t.traceId}-${t.spanId}-${t.flags}`;
}

/**
 * A trace id that starts with the time (6 bytes of milliseconds) and ends with 10 random bytes, as
 * W3C Trace Context level 2 allows (its right-most 7 bytes random). A fresh one names a new chain,
 * and the ledger files it as a key (src/store/sql/ledger-keys.ts): in time order, a filing's new
 * chains append at the end of the chain keys instead of landing on thousands of pages across them.
 */
export function newTraceId(now = Date.now()): string {
  const id = randomBytes(16);
  id.writeUIntBE(now % 2 ** 48, 0, 6);
  return id.toString('hex');
}
export const newSpanId = (): string => randomBytes(8).toString('hex');

/** Baggage members in order; properties after `;` are kept with the value. Malformed members are dropped. */
export function parseBaggage(raw: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (typeof raw !== 'string') return out;
  for (const member of raw.split(',')) {
    const eq = member.indexOf('=');
    if (eq <= 0) continue;
    const key = member.slice(0, eq).trim();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key)) continue;
    out.set(key, member.slice(eq + 1).trim());
  }
  return out;
}

export function formatBaggage(members: ReadonlyMap<string, string>): string {
  return [...members].map(([k, v]) => `${k}=${v}`).join(',');
}

/** A baggage value without its properties, percent-decoded; undefined when it does not decode. */
export function baggageValue(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const semi = raw.indexOf(';');
  try {
    return decodeURIComponent(semi < 0 ? raw : raw.slice(0, semi));
  } catch {
    return undefined;
  }
}
