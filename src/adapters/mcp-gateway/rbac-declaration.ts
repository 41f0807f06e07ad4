// What a tool may do to Kubernetes, in the shape kubernetes-mcp-server publishes under
// `_meta["io.kubernetes-mcp-server/rbac"]`. The gateway config uses the same requirement shape
// for servers that publish nothing, so one translator serves both.
import { type Static, Type } from '@sinclair/typebox';
import { type FieldError, validate } from '../../policy/validate.ts';

export const RBAC_META_KEY = 'io.kubernetes-mcp-server/rbac';
const SUPPORTED_VERSION = 'v1alpha1';

const strict = { additionalProperties: false } as const;
const NonEmpty = Type.String({ minLength: 1 });
/** Names a top-level property of the tool's arguments. */
const ArgumentRef = Type.Object({ argument: NonEmpty }, strict);

export const RequirementSchema = Type.Object(
  {
    verbs: Type.Array(NonEmpty, { minItems: 1 }),
    target: Type.Object(
      {
        resource: Type.Optional(
          Type.Object(
            { apiGroup: Type.Optional(Type.String()), resource: NonEmpty, subresource: Type.Optional(NonEmpty) },
            strict,
          ),
        ),
        gvk: Type.Optional(
          Type.Object(
            { apiVersionArgument: NonEmpty, kindArgument: NonEmpty, subresource: Type.Optional(NonEmpty) },
            strict,
          ),
        ),
        manifest: Type.Optional(ArgumentRef),
      },
      strict,
    ),
    namespace: Type.Optional(
      Type.Object(
        { name: Type.Optional(NonEmpty), argument: Type.Optional(NonEmpty), all: Type.Optional(Type.Boolean()) },
        strict,
      ),
    ),
    resourceName: Type.Optional(
      Type.Object({ name: Type.Optional(NonEmpty), argument: Type.Optional(NonEmpty) }, strict),
    ),
  },
  strict,
);
export type Requirement = Static<typeof RequirementSchema>;

// Upstream metadata may grow fields we do not know; the config may not (a typo must not pass).
const MetadataSchema = Type.Object(
  {
    version: Type.String(),
    none: Type.Optional(Type.Object({ reason: Type.Optional(Type.String()) })),
    bounded: Type.Optional(Type.Object({ requirements: Type.Array(Type.Unknown(), { minItems: 1 }) })),
    unbounded: Type.Optional(Type.Object({ reason: Type.Optional(Type.String()) })),
  },
  { additionalProperties: true },
);

export type RbacDeclaration =
  | { readonly kind: 'none'; readonly reason?: string }
  | { readonly kind: 'bounded'; readonly requirements: readonly Requirement[] }
  | { readonly kind: 'unbounded'; readonly reason?: string };

const exactlyOne = (o: object, keys: readonly string[]) =>
  keys.filter((k) => (o as Record<string, unknown>)[k] !== undefined && (o as Record<string, unknown>)[k] !== false)
    .length === 1;

/** Field errors for one requirement: the schema, then the "exactly one of" rules the schema cannot say well. */
export function requirementErrors(value: unknown, path: string): FieldError[] {
  const errors = validate(RequirementSchema, value, path);
  if (errors.length > 0) return errors;
  const r = value as Requirement;
  const out: FieldError[] = [];
  if (!exactlyOne(r.target, ['resource', 'gvk', 'manifest']))
    out.push({ path: `${path}.target`, message: 'give exactly one of resource, gvk, manifest' });
  if (r.namespace && !exactlyOne(r.namespace, ['name', 'argument', 'all']))
    out.push({ path: `${path}.namespace`, message: 'give exactly one of name, argument, all: true' });
  if (r.resourceName && !exactlyOne(r.resourceName, ['name', 'argument']))
    out.push({ path: `${path}.resourceName`, message: 'give exactly one of name, argument' });
  return out;
}

/**
 * Reads a tool's published RBAC declaration. Absent means "not declared" (never "needs nothing");
 * a declaration we cannot read is reported, and the caller treats the tool as undeclared.
 */
export function readRbacMetadata(meta: unknown): { declaration?: RbacDeclaration; problem?: string } {
  const raw = (meta as Record<string, unknown> | undefined)?.[RBAC_META_KEY];
  if (raw === undefined) return {};
  const errors = validate(MetadataSchema, raw);
  if (errors.length > 0) return { problem: errors.map((e) => `${e.path || '(root)'}: ${e.message}`).join('; ') };
  const m = raw as Static<typeof MetadataSchema>;
  if (m.version !== SUPPORTED_VERSION)
    return { problem: `unsupported version ${JSON.stringify(m.version)} (this gateway reads ${SUPPORTED_VERSION})` };
  if (!exactlyOne(m, ['none', 'bounded', 'unbounded']))
    return { problem: 'give exactly one of none, bounded, unbounded' };
  if (m.none) return { declaration: { kind: 'none', reason: m.none.reason } };
  if (m.unbounded) return { declaration: { kind: 'unbounded', reason: m.unbounded.reason } };
  const requirements = m.bounded?.requirements ?? [];
  const problems = requirements.flatMap((r, i) => requirementErrors(r, `bounded.requirements[${i}]`));
  if (problems.length > 0) return { problem: problems.map((e) => `${e.path}: ${e.message}`).join('; ') };
  return { declaration: { kind: 'bounded', requirements: requirements as Requirement[] } };
}
