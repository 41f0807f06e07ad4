// What the diff needs to know about Kubernetes types without loading OpenAPI schemas: how a
// list merges (by key, as a set, or atomically) and where quantities live.

export type ListStrategy =
  | { readonly type: 'keyed'; readonly keys: readonly string[]; readonly defaults?: Readonly<Record<string, string>> }
  | { readonly type: 'set' }
  | { readonly type: 'atomic' };

const TCP = { protocol: 'TCP' } as const;

// Merge keys of built-in lists, by field name. Port lists are keyed only where Kubernetes keys
// them: container ports (containerPort) and a Service's spec.ports (port); elsewhere (e.g.
// NetworkPolicy rules) they are atomic. Protocol is part of the key as server-side apply has it,
// defaulted to TCP when Git leaves it out.
const KEYED: Record<string, readonly string[]> = {
  containers: ['name'],
  initContainers: ['name'],
  ephemeralContainers: ['name'],
  env: ['name'],
  volumes: ['name'],
  volumeMounts: ['mountPath'],
  volumeDevices: ['devicePath'],
  imagePullSecrets: ['name'],
  hostAliases: ['ip'],
  topologySpreadConstraints: ['topologyKey', 'whenUnsatisfiable'],
  resourceClaims: ['name'],
  readinessGates: ['conditionType'],
  schedulingGates: ['name'],
  ownerReferences: ['uid'],
};

const SETS = new Set(['finalizers']);

function allObjects(items: readonly unknown[]): items is Record<string, unknown>[] {
  return items.every((i) => typeof i === 'object' && i !== null && !Array.isArray(i));
}

const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

/**
 * How the list at the end of `fields` (field names from the object root; undefined for list
 * items) merges, judged from where it sits and the items Git holds.
 */
export function listStrategy(fields: readonly (string | undefined)[], desiredItems: readonly unknown[]): ListStrategy {
  const field = fields[fields.length - 1];
  if (field !== undefined && SETS.has(field)) return { type: 'set' };
  if (field === 'ports') {
    const inContainer = CONTAINER_LISTS.has(fields[fields.length - 3] ?? '');
    if (inContainer && allObjects(desiredItems))
      return { type: 'keyed', keys: ['containerPort', 'protocol'], defaults: TCP };
    if (
      fields.length === 2 &&
      fields[0] === 'spec' &&
      allObjects(desiredItems) &&
      desiredItems.every((i) => 'port' in i)
    ) {
      return { type: 'keyed', keys: ['port', 'protocol'], defaults: TCP };
    }
    return { type: 'atomic' };
  }
  const keys = field !== undefined ? KEYED[field] : undefined;
  if (keys && allObjects(desiredItems)) return { type: 'keyed', keys };
  // Unknown lists (custom resources): items that all carry a string name are treated as a named
  // list, which is what nearly every CRD means by it; anything else is replaced whole on apply.
  if (desiredItems.length > 0 && allObjects(desiredItems) && desiredItems.every((i) => typeof i.name === 'string')) {
    return { type: 'keyed', keys: ['name'] };
  }
  return { type: 'atomic' };
}

// Maps whose values are resource quantities.
const QUANTITY_MAPS = new Set([
  'requests',
  'limits',
  'hard',
  'used',
  'capacity',
  'allocatable',
  'podFixed',
  'max',
  'min',
  'default',
  'defaultRequest',
  'maxLimitRequestRatio',
]);
const QUANTITY_FIELDS = new Set(['sizeLimit', 'storage']);

/** True when a scalar at `field` inside the map at `parentField` is a resource quantity. */
export function isQuantityField(field: string | undefined, parentField: string | undefined): boolean {
  return (
    (field !== undefined && QUANTITY_FIELDS.has(field)) || (parentField !== undefined && QUANTITY_MAPS.has(parentField))
  );
}
