// Which objects run pods, where their pod spec is, and which service account the pods run as.
// The API server runs a pod as spec.serviceAccountName, else the deprecated spec.serviceAccount,
// else `default`; controllers copy the template's spec into every pod they make.

const TEMPLATE = ['spec', 'template', 'spec'];
/** group → resource → path of the pod spec, for every built-in kind that runs pods: controllers, then pods. */
const BUILT_IN: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>> = new Map([
  [
    'apps',
    new Map([
      ['deployments', TEMPLATE],
      ['replicasets', TEMPLATE],
      ['statefulsets', TEMPLATE],
      ['daemonsets', TEMPLATE],
    ]),
  ],
  [
    'batch',
    new Map([
      ['jobs', TEMPLATE],
      ['cronjobs', ['spec', 'jobTemplate', 'spec', 'template', 'spec']],
    ]),
  ],
  [
    '',
    new Map([
      ['replicationcontrollers', TEMPLATE],
      ['pods', ['spec']],
    ]),
  ],
]);

/** The built-in controllers that make pods from a template, as [group, resource]. */
export const POD_CONTROLLERS: readonly (readonly [string, string])[] = [...BUILT_IN].flatMap(([group, kinds]) =>
  [...kinds.keys()].filter((r) => r !== 'pods').map((r) => [group, r] as const),
);

/** Resource names of every built-in kind that runs pods: pods and their controllers. */
export const RUNS_PODS: ReadonlySet<string> = new Set(['pods', ...POD_CONTROLLERS.map(([, r]) => r)]);

export interface WorkloadKind {
  readonly apiGroup: string;
  readonly resource: string;
  readonly podSpecPath: string;
}

/** The pod spec path of a resource that runs pods (built in, or declared as a custom workload kind); undefined otherwise. */
export function podSpecPath(
  group: string,
  resource: string,
  custom: readonly WorkloadKind[] = [],
): readonly string[] | undefined {
  // Looked up on every write decision: by group then resource, so no key string is built.
  const builtIn = BUILT_IN.get(group)?.get(resource);
  if (builtIn) return builtIn;
  if (custom.length === 0) return undefined;
  const c = custom.find((k) => k.apiGroup === group && k.resource === resource);
  return c ? c.podSpecPath.split('.') : undefined;
}

export function podSpecAt(object: unknown, path: readonly string[]): Record<string, unknown> | undefined {
  let cur: unknown = object;
  for (const seg of path) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return typeof cur === 'object' && cur !== null && !Array.isArray(cur) ? (cur as Record<string, unknown>) : undefined;
}

/** The account the pods run as: serviceAccountName, else the deprecated serviceAccount, else default. */
export function serviceAccountOf(podSpec: Record<string, unknown>): string {
  const name = podSpec.serviceAccountName;
  if (typeof name === 'string' && name !== '') return name;
  const legacy = podSpec.serviceAccount;
  if (typeof legacy === 'string' && legacy !== '') return legacy;
  return 'default';
}
