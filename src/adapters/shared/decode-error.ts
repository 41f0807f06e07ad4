/** Bad input from a client: says what is wrong and where; adapters turn it into a 4xx. */
export class DecodeError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'DecodeError';
    this.path = path;
  }
}

export function requireObject(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new DecodeError(
      path,
      `must be an object, got ${v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v}`,
    );
  return v as Record<string, unknown>;
}

/** Names, verbs and ids end up in indexed columns: PostgreSQL text cannot hold a NUL, and no Kubernetes name has one. */
function noNul(v: string, path: string): string {
  if (v.includes('\0')) throw new DecodeError(path, 'must not contain NUL');
  return v;
}

export function requireString(v: unknown, path: string, opts: { allowEmpty?: boolean } = {}): string {
  if (typeof v !== 'string')
    throw new DecodeError(path, v === undefined ? 'is required' : `must be a string, got ${typeof v}`);
  if (!opts.allowEmpty && v === '') throw new DecodeError(path, 'must not be empty');
  return noNul(v, path);
}

export function optionalString(v: unknown, path: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new DecodeError(path, `must be a string, got ${typeof v}`);
  return noNul(v, path);
}

export function stringArray(v: unknown, path: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw new DecodeError(path, 'must be an array of strings');
  for (const [i, x] of (v as string[]).entries()) noNul(x, `${path}[${i}]`);
  return v as string[];
}
