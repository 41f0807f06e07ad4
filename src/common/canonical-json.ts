// RFC 8785 (JCS) canonical JSON: sorted keys (UTF-16 code unit order), no whitespace,
// ECMAScript number serialisation. Digests and ledger leaves are computed over this form.
// Every decision canonicalises its object (twice: action digest, object digest) and its ledger
// leaf, so this is on the hot path: it appends to one string instead of building arrays to join.
export function canonicalJson(value: unknown): string {
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
      return Array.isArray(value) ? canonicalArray(value) : canonicalObject(value as Record<string, unknown>);
    default:
      throw new TypeError(`canonical JSON cannot hold a ${typeof value}`);
  }
}

function canonicalArray(values: readonly unknown[]): string {
  let out = '[';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    // A hole (never in parsed JSON) stays empty, as Array.prototype.join always rendered it.
    if (!(i in values)) continue;
    const v = values[i];
    out += canonicalJson(v === undefined ? null : v);
  }
  return `${out}]`;
}

function canonicalObject(o: Record<string, unknown>): string {
  const keys = Object.keys(o).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const v = o[k];
    if (v === undefined || typeof v === 'function') continue;
    out += (first ? '' : ',') + quote(k) + ':' + canonicalJson(v);
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
