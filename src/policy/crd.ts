// CustomResourceDefinitions generated from the same TypeBox schemas that type and validate policy.
import { stringify } from 'yaml';
import { API_GROUP, API_VERSION, KINDS, type KindName } from './schema.ts';

type JsonSchema = Record<string, unknown>;

/**
 * TypeBox emits JSON Schema; Kubernetes wants a structural subset: no $id/const/anyOf-of-literals,
 * no additionalProperties:false (unknown fields are pruned instead), unions flattened into one object.
 */
export function toStructural(schema: JsonSchema): JsonSchema {
  const s: JsonSchema = {};
  const anyOf = schema.anyOf as JsonSchema[] | undefined;
  if (anyOf) {
    if (anyOf.every((v) => 'const' in v)) {
      const values = anyOf.map((v) => v.const);
      return {
        type: typeof values[0] === 'number' ? 'number' : 'string',
        enum: values,
        ...(schema.description ? { description: schema.description } : {}),
      };
    }
    if (anyOf.every((v) => v.type === 'object')) {
      const properties: Record<string, JsonSchema> = {};
      const kinds: unknown[] = [];
      let required: string[] | undefined;
      for (const v of anyOf) {
        const props = v.properties as Record<string, JsonSchema>;
        for (const [k, p] of Object.entries(props)) {
          if (k === 'kind' && 'const' in p) kinds.push(p.const);
          else properties[k] ??= toStructural(p);
        }
        const req = (v.required as string[] | undefined) ?? [];
        required = required ? required.filter((r) => req.includes(r)) : req;
      }
      if (kinds.length) properties.kind = { type: 'string', enum: kinds };
      return { type: 'object', properties, ...(required?.length ? { required } : {}) };
    }
    return { 'x-kubernetes-preserve-unknown-fields': true };
  }
  for (const [k, v] of Object.entries(schema)) {
    if (k === '$id' || k === 'additionalProperties' || k === 'patternProperties' || k === 'const') continue;
    if (k === 'properties') {
      s.properties = Object.fromEntries(
        Object.entries(v as Record<string, JsonSchema>).map(([pk, pv]) => [pk, toStructural(pv)]),
      );
    } else if (k === 'items') s.items = toStructural(v as JsonSchema);
    else s[k] = v;
  }
  if (schema.type === 'object' && !schema.properties) {
    const ap = schema.additionalProperties;
    const pp = schema.patternProperties as Record<string, JsonSchema> | undefined;
    const valueSchema = typeof ap === 'object' ? (ap as JsonSchema) : pp ? Object.values(pp)[0] : undefined;
    if (valueSchema && Object.keys(valueSchema).length > 0 && valueSchema.type !== undefined)
      s.additionalProperties = toStructural(valueSchema);
    else s['x-kubernetes-preserve-unknown-fields'] = true;
  }
  if (schema.type === undefined && !anyOf && !schema.properties) s['x-kubernetes-preserve-unknown-fields'] = true;
  return s;
}

export function crdFor(kind: KindName): JsonSchema {
  const k = KINDS[kind];
  const printerColumns =
    kind === 'Agent'
      ? [
          { name: 'Owner', type: 'string', jsonPath: '.spec.owner.id' },
          { name: 'Class', type: 'string', jsonPath: '.spec.authorityClass' },
          { name: 'Mode', type: 'string', jsonPath: '.spec.mode' },
          { name: 'Enforced', type: 'boolean', jsonPath: '.status.enforced' },
        ]
      : [{ name: 'Kill-Switch', type: 'boolean', jsonPath: '.spec.killSwitch' }];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${k.plural}.${API_GROUP}` },
    spec: {
      group: API_GROUP,
      scope: 'Cluster',
      names: {
        kind,
        listKind: `${kind}List`,
        plural: k.plural,
        singular: kind.toLowerCase(),
        shortNames: [...k.shortNames],
        categories: ['tether'],
      },
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: printerColumns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: toStructural(k.spec as unknown as JsonSchema),
                status: {
                  type: 'object',
                  'x-kubernetes-preserve-unknown-fields': true,
                  description: 'What Tether enforces: the last approved spec.',
                },
              },
              required: ['spec'],
            },
          },
        },
      ],
    },
  };
}

export function crdYaml(kind: KindName): string {
  return `# Generated from src/policy/schema.ts by \`npm run gen:crds\`. Do not edit.\n${stringify(crdFor(kind), { lineWidth: 0 })}`;
}
