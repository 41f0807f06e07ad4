// Field paths in the two notations people use: a readable one for reports
// (`spec.template.spec.containers[name=server].image`) and RFC 6901 pointers for ignore rules.
import type { FieldPath } from './model.ts';

const PLAIN_FIELD = /^[A-Za-z_][A-Za-z0-9_-]*$/;

function keyText(key: Readonly<Record<string, string | number | boolean>>): string {
  return Object.entries(key)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export function displayPath(path: FieldPath): string {
  let out = '';
  for (const seg of path) {
    if ('field' in seg)
      out += PLAIN_FIELD.test(seg.field) ? `${out ? '.' : ''}${seg.field}` : `[${JSON.stringify(seg.field)}]`;
    else if ('key' in seg) out += `[${keyText(seg.key)}]`;
    else if ('index' in seg) out += `[${seg.index}]`;
    else out += `[=${JSON.stringify(seg.member)}]`;
  }
  return out;
}

export function escapePointerToken(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`not a JSON pointer (must start with /): ${pointer}`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** True when `pattern` (a pointer whose tokens may be `*`) names `pointer` or one of its ancestors. */
export function pointerCovers(pattern: string, pointer: string): boolean {
  const want = parsePointer(pattern);
  const have = parsePointer(pointer);
  if (want.length > have.length) return false;
  return want.every((t, i) => t === '*' || t === have[i]);
}
