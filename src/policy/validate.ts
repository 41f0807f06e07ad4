import { FormatRegistry, Kind, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { pointerToPath } from './errors.ts';

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
if (!FormatRegistry.Has('date-time'))
  FormatRegistry.Set('date-time', (v) => DATE_TIME.test(v) && !Number.isNaN(Date.parse(v)));

export interface FieldError {
  readonly path: string;
  readonly message: string;
}

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();
function checker(schema: TSchema): TypeCheck<TSchema> {
  let c = compiled.get(schema);
  if (!c) {
    c = TypeCompiler.Compile(schema);
    compiled.set(schema, c);
  }
  return c;
}

function literalValues(schema: TSchema): unknown[] | undefined {
  const variants = schema.anyOf as TSchema[] | undefined;
  if (!variants?.every((v) => 'const' in v)) return undefined;
  return variants.map((v) => v.const);
}

function discriminatedVariant(schema: TSchema, value: unknown): TSchema | 'no-kind' | undefined {
  const variants = schema.anyOf as TSchema[] | undefined;
  if (!variants?.every((v) => v[Kind] === 'Object' && v.properties?.kind?.const !== undefined)) return undefined;
  const kind = (value as { kind?: unknown } | null)?.kind;
  return variants.find((v) => v.properties.kind.const === kind) ?? 'no-kind';
}

/**
 * Validates a value against a schema and returns field errors with dotted paths and messages
 * a person can act on (union errors name the allowed values or the variant that applied).
 */
export function validate(schema: TSchema, value: unknown, basePath = ''): FieldError[] {
  const out: FieldError[] = [];
  const join = (p: string) => (basePath && p ? (p.startsWith('[') ? basePath + p : `${basePath}.${p}`) : basePath || p);
  for (const e of checker(schema).Errors(value)) {
    const path = join(pointerToPath(e.path));
    const literals = literalValues(e.schema);
    if (literals) {
      out.push({
        path,
        message: `must be one of ${literals.map((v) => JSON.stringify(v)).join(', ')}; got ${JSON.stringify(e.value)}`,
      });
      continue;
    }
    const variant = discriminatedVariant(e.schema, e.value);
    if (variant === 'no-kind') {
      const kinds = (e.schema.anyOf as TSchema[]).map((v) => v.properties.kind.const);
      out.push({
        path: path ? `${path}.kind` : 'kind',
        message: `must be one of ${kinds.join(', ')}; got ${JSON.stringify((e.value as { kind?: unknown } | null)?.kind)}`,
      });
      continue;
    }
    if (variant) {
      out.push(...validate(variant, e.value, path));
      continue;
    }
    if (e.message === 'Unexpected property') {
      out.push({ path, message: 'unknown field' });
      continue;
    }
    if (e.schema.format === 'date-time') {
      out.push({
        path,
        message: `must be an RFC 3339 time such as 2026-11-25T12:00:00Z; got ${JSON.stringify(e.value)}`,
      });
      continue;
    }
    out.push({ path, message: `${e.message.charAt(0).toLowerCase()}${e.message.slice(1)}` });
  }
  // TypeBox reports an object's missing property and the object again; keep the first per path.
  const seen = new Set<string>();
  return out.filter((e) => {
    const k = `${e.path}\n${e.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function isValid(schema: TSchema, value: unknown): boolean {
  return checker(schema).Check(value);
}
