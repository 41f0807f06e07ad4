// RFC 8785 (JCS) canonical JSON: sorted keys (UTF-16 code unit order), no whitespace,
// ECMAScript number serialisation. Digests and ledger leaves are computed over this form.
// Every decision canonicalises its object (once, for both its action and object digests: CanonicalText)
// and its ledger leaf, so this is on the hot path: it appends to one string instead of building arrays to join.

/**
 * A value's canonical text computed once and spliced verbatim wherever the value appears again: a
 * decision's action digest and object digest both cover the same object, which is its costliest part.
 */
export class CanonicalText {
  readonly text: string;
  constructor(value: unknown) {
    this.text = canonicalJson(value);
  }
}

/** Deeper than any object Tether keeps (HTTP bodies stop at 512): past it, a TypeError rather than a stack overflow. */
export const MAX_CANONICAL_DEPTH = 1000;

export function canonicalJson(value: unknown, depth = 0): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonical JSON cannot hold NaN or Infinity');
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'object':
      if (value instanceof CanonicalText) return value.text;
      if (depth >= MAX_CANONICAL_DEPTH)
        throw new TypeError(`canonical JSON cannot nest deeper than ${MAX_CANONICAL_DEPTH} levels`);
      return Array.isArray(value)
        ? canonicalArray(value, depth + 1)
        : canonicalObject(value as Record<string, unknown>, depth + 1);
    default:
      throw new TypeError(`canonical JSON cannot hold a ${typeof value}`);
  }
}

function canonicalArray(values: readonly unknown[], depth: number): string {
  let out = '[';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    // A hole (never in parsed JSON) stays empty, as Array.prototype.join always rendered it.
    if (!(i in values)) continue;
    const v = values[i];
    out += canonicalJson(v === undefined ? null : v, depth);
  }
  return `${out}]`;
}

function canonicalObject(o: Record<string, unknown>, depth: number): string {
  const keys = Object.keys(o).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const v = o[k];
    if (v === undefined || typeof v === 'function') continue;
    out += (first ? '' : ',') + quote(k) + ':' + canonicalJson(v, depth);
    first = false;
  }
  return `${out}}`;
}

/** Strings with nothing to escape (the usual case) skip JSON.stringify's scan-and-copy. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters JSON must escape.
const PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

function quote(s: string): string {
  return PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
}
