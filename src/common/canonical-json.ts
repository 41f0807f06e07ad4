// RFC 8785 (JCS) canonical JSON: sorted keys (UTF-16 code unit order), no whitespace,
// ECMAScript number serialisation. Digests and ledger leaves are computed over this form.

/** Deeper than any object Tether keeps (HTTP bodies stop at 512): past it, a TypeError rather than a stack overflow. */
export const MAX_CANONICAL_DEPTH = 1000;

export function canonicalJson(value: unknown, depth = 0): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonical JSON cannot hold NaN or Infinity');
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'object': {
      if (depth >= MAX_CANONICAL_DEPTH) throw new TypeError(`canonical JSON cannot nest deeper than ${MAX_CANONICAL_DEPTH} levels`);
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v, depth + 1)).join(',')}]`;
      const keys = Object.keys(value as object).sort();
      const parts: string[] = [];
      for (const k of keys) {
        const v = (value as Record<string, unknown>)[k];
        if (v === undefined || typeof v === 'function') continue;
        parts.push(`${JSON.stringify(k)}:${canonicalJson(v, depth + 1)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot hold a ${typeof value}`);
  }
}
