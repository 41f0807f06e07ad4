// STAND-IN FOR THE LIVE API SERVER — not a server, and not used by Tether itself.
// It does to objects what kube-apiserver and the controllers do, closely enough for drift tests:
// defaulting (as kube-apiserver 1.34 defaults Deployments, Services, NetworkPolicies), quantity
// canonicalisation, server metadata, status written by controllers, and managedFields with
// fieldsV1 tries in the shapes the real server produces (checked against a real apiserver via
// test/e2e/harness.ts): kubectl-client-side-apply, kubectl (scale subresource, no time), kubectl-edit,
// kubectl-set, kubectl-patch, kube-controller-manager (status, scale), and server-side appliers.
import { randomUUID } from 'node:crypto';
import type { KubeObject, ManagedFieldsEntry } from '../../../src/analysis/drift/model.ts';
import { quantityValue } from '../../../src/analysis/drift/quantity.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => structuredClone(v);

// ---- quantities as the API server prints them ------------------------------------------------

const BINARY = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
const DECIMAL: [string, bigint][] = [
  ['E', 10n ** 18n],
  ['P', 10n ** 15n],
  ['T', 10n ** 12n],
  ['G', 10n ** 9n],
  ['M', 10n ** 6n],
  ['k', 10n ** 3n],
  ['', 1n],
];

/** The canonical form kube-apiserver stores (`0.5` → `500m`, `1000m` → `1`, `1024Mi` → `1Gi`). */
export function canonicalQuantity(q: string | number): string {
  const text = String(q);
  const value = quantityValue(text);
  if (!value) return text;
  const [n, d] = value.split('/').map((x) => BigInt(x)) as [bigint, bigint];
  if (/i$/.test(text) && d === 1n) {
    let i = BINARY.length - 1;
    while (i > 0 && n % 1024n ** BigInt(i) !== 0n) i--;
    return `${n / 1024n ** BigInt(i)}${BINARY[i]}`;
  }
  if (d === 1n) {
    for (const [suffix, f] of DECIMAL) if (n % f === 0n && (suffix === '' || n / f >= 1n)) return `${n / f}${suffix}`;
  }
  const milli = (n * 1000n) / d;
  if ((n * 1000n) % d === 0n) return `${milli}m`;
  return text;
}

function canonicalResources(r: unknown): void {
  if (!isObj(r)) return;
  for (const part of ['requests', 'limits']) {
    const m = r[part];
    if (isObj(m)) for (const k of Object.keys(m)) m[k] = canonicalQuantity(m[k] as string);
  }
}

// ---- defaulting ------------------------------------------------------------------------------

function defaultProbe(p: unknown): void {
  if (!isObj(p)) return;
  p.timeoutSeconds ??= 1;
  p.periodSeconds ??= 10;
  p.successThreshold ??= 1;
  p.failureThreshold ??= 3;
  if (isObj(p.httpGet)) p.httpGet.scheme ??= 'HTTP';
}

function defaultContainer(c: Obj): void {
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  const image = String(c.image ?? '');
  const tag = image.includes('@') ? 'digest' : (image.split('/').pop() ?? '').split(':')[1];
  c.imagePullPolicy ??= !tag || tag === 'latest' ? 'Always' : 'IfNotPresent';
  for (const p of (c.ports as Obj[] | undefined) ?? []) p.protocol ??= 'TCP';
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) defaultProbe(c[probe]);
  canonicalResources(c.resources);
  for (const e of (c.env as Obj[] | undefined) ?? []) {
    const ref = isObj(e.valueFrom) ? e.valueFrom.fieldRef : undefined;
    if (isObj(ref)) ref.apiVersion ??= 'v1';
  }
}

function defaultPodSpec(s: Obj): void {
  s.restartPolicy ??= 'Always';
  s.terminationGracePeriodSeconds ??= 30;
  s.dnsPolicy ??= 'ClusterFirst';
  s.securityContext ??= {};
  s.schedulerName ??= 'default-scheduler';
  if (s.serviceAccountName) s.serviceAccount ??= s.serviceAccountName;
  for (const c of [...((s.initContainers as Obj[]) ?? []), ...((s.containers as Obj[]) ?? [])]) defaultContainer(c);
}

let nextIp = 10;

function applyDefaults(o: KubeObject): void {
  const spec = o.spec as Obj | undefined;
  if (o.kind === 'Deployment' && spec) {
    spec.replicas ??= 1;
    spec.revisionHistoryLimit ??= 10;
    spec.progressDeadlineSeconds ??= 600;
    spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } };
    const tpl = spec.template as Obj;
    if (isObj(tpl.spec)) defaultPodSpec(tpl.spec);
  }
  if (o.kind === 'Service' && spec) {
    spec.type ??= 'ClusterIP';
    spec.sessionAffinity ??= 'None';
    spec.internalTrafficPolicy ??= 'Cluster';
    if (spec.type === 'LoadBalancer') {
      spec.externalTrafficPolicy ??= 'Cluster';
      spec.allocateLoadBalancerNodePorts ??= true;
    }
    for (const p of (spec.ports as Obj[] | undefined) ?? []) {
      p.protocol ??= 'TCP';
      p.targetPort ??= p.port;
      if (spec.type === 'LoadBalancer' || spec.type === 'NodePort') p.nodePort ??= 30000 + (nextIp++ % 2000);
    }
  }
  if (o.kind === 'NetworkPolicy' && spec) {
    for (const dir of ['ingress', 'egress'])
      for (const rule of (spec[dir] as Obj[] | undefined) ?? [])
        for (const p of (rule.ports as Obj[] | undefined) ?? []) p.protocol ??= 'TCP';
    spec.policyTypes ??= spec.egress ? ['Ingress', 'Egress'] : ['Ingress'];
  }
}

/** Fields the registry allocates after defaulting: nobody owns them in managedFields. */
function allocate(o: KubeObject): void {
  const spec = o.spec as Obj | undefined;
  if (o.kind === 'Service' && spec && spec.clusterIP === undefined) {
    const ip = `10.0.0.${nextIp++ % 250}`;
    spec.clusterIP = ip;
    spec.clusterIPs = [ip];
    spec.ipFamilies = ['IPv4'];
    spec.ipFamilyPolicy = 'SingleStack';
  }
}
const ALLOCATED = ['f:spec\0f:clusterIP', 'f:spec\0f:clusterIPs', 'f:spec\0f:ipFamilies', 'f:spec\0f:ipFamilyPolicy'];

// ---- managedFields ---------------------------------------------------------------------------

// Server-side apply list types of the built-in lists the fixture uses.
function ssaKeys(field: string, items: unknown[], prefix: readonly string[]): string[] | 'set' | undefined {
  if (field === 'finalizers') return 'set';
  // Ports are keyed in containers and in a Service's spec; NetworkPolicy rule ports are atomic.
  if (field === 'ports' && prefix[prefix.length - 3] === 'f:containers') return ['containerPort', 'protocol'];
  if (field === 'ports' && prefix.length === 2 && prefix[0] === 'f:spec' && items.every((i) => isObj(i) && 'port' in i))
    return ['port', 'protocol'];
  if (field === 'ports') return undefined;
  const keyed: Record<string, string[]> = {
    containers: ['name'],
    initContainers: ['name'],
    env: ['name'],
    volumes: ['name'],
    volumeMounts: ['mountPath'],
    imagePullSecrets: ['name'],
  };
  return keyed[field];
}

const TOP_STRUCTS = new Set(['f:metadata', 'f:spec', 'f:status', 'f:template']);

/** Every owned node of a value as NUL-joined fieldsV1 token paths, with its JSON value. */
function fieldPaths(value: unknown, prefix: string[], out: Map<string, string>, field?: string): void {
  const here = prefix.join('\0');
  if (isObj(value) && Object.keys(value).length > 0) {
    const last = prefix[prefix.length - 1];
    if (prefix.length > 0 && last !== undefined && !TOP_STRUCTS.has(last)) out.set(`${here}\0.`, '');
    for (const [k, v] of Object.entries(value)) fieldPaths(v, [...prefix, `f:${k}`], out, k);
    return;
  }
  if (Array.isArray(value) && value.length > 0 && field) {
    const keys = ssaKeys(field, value, prefix);
    if (keys === 'set') {
      out.set(`${here}\0.`, '');
      for (const v of value) out.set(`${here}\0v:${JSON.stringify(v)}`, '');
      return;
    }
    if (keys) {
      out.set(`${here}\0.`, '');
      for (const item of value as Obj[]) {
        const key: Obj = {};
        for (const k of [...keys].sort()) if (item[k] !== undefined) key[k] = item[k];
        const itemPrefix = [...prefix, `k:${JSON.stringify(key)}`];
        out.set(`${itemPrefix.join('\0')}\0.`, '');
        for (const [k, v] of Object.entries(item)) fieldPaths(v, [...itemPrefix, `f:${k}`], out, k);
      }
      return;
    }
  }
  out.set(here, JSON.stringify(value));
}

function pathsOf(o: KubeObject, part: 'main' | 'status'): Map<string, string> {
  const out = new Map<string, string>();
  const { status, metadata, apiVersion: _a, kind: _k, ...rest } = o;
  if (part === 'status') {
    if (status !== undefined) fieldPaths(status, ['f:status'], out, 'status');
    return out;
  }
  const md: Obj = {};
  if (metadata.labels) md.labels = metadata.labels;
  if (metadata.annotations) md.annotations = metadata.annotations;
  if (metadata.finalizers) md.finalizers = metadata.finalizers;
  if (Object.keys(md).length) fieldPaths(md, ['f:metadata'], out, 'metadata');
  for (const [k, v] of Object.entries(rest)) fieldPaths(v, [`f:${k}`], out, k);
  return out;
}

function toTrie(paths: Iterable<string>): Obj {
  const root: Obj = {};
  for (const p of [...paths].sort()) {
    let node = root;
    for (const token of p.split('\0')) {
      node[token] ??= {};
      node = node[token] as Obj;
    }
  }
  return root;
}

interface Ownership {
  manager: string;
  operation: 'Apply' | 'Update';
  subresource?: string;
  time?: string;
  apiVersion: string;
  paths: Set<string>;
}

interface Stored {
  object: KubeObject;
  owners: Ownership[];
}

export interface WriteOptions {
  readonly subresource?: 'scale' | 'status';
  readonly operation?: 'Apply' | 'Update';
}

/** Stand-in for kube-apiserver plus controllers, holding objects in memory. */
export class ApiServerStandIn {
  readonly #objects = new Map<string, Stored>();
  #clock: number;
  #rv = 100;

  constructor(start = '2026-03-01T09:00:00Z') {
    this.#clock = Date.parse(start);
  }

  /** Moves the clock on (managedFields times have one-second resolution). */
  tick(seconds = 1): string {
    this.#clock += seconds * 1000;
    return this.now();
  }

  now(): string {
    return new Date(this.#clock).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  #key(kind: string, namespace: string | undefined, name: string): string {
    return `${kind}|${namespace ?? ''}|${name}`;
  }

  #record(stored: Stored, before: KubeObject | undefined, manager: string, opts: WriteOptions): void {
    const after = stored.object;
    const part = opts.subresource === 'status' ? 'status' : 'main';
    const prev = before ? pathsOf(before, part) : new Map<string, string>();
    const next = pathsOf(after, part);
    const changed = new Set(
      [...next]
        .filter(([p, v]) => prev.get(p) !== v && (before || !ALLOCATED.some((a) => p.startsWith(a))))
        .map(([p]) => p),
    );
    for (const o of stored.owners) {
      const sameWriter =
        o.manager === manager && o.subresource === opts.subresource && o.operation === (opts.operation ?? 'Update');
      for (const p of [...o.paths]) {
        const belongs = p.startsWith('f:status') === (part === 'status');
        if (!belongs) continue;
        if (!next.has(p) || (!sameWriter && changed.has(p))) o.paths.delete(p);
      }
    }
    if (changed.size === 0 && before) return;
    let mine = stored.owners.find(
      (o) =>
        o.manager === manager && o.subresource === opts.subresource && o.operation === (opts.operation ?? 'Update'),
    );
    if (!mine) {
      mine = {
        manager,
        operation: opts.operation ?? 'Update',
        apiVersion: after.apiVersion,
        paths: new Set(),
        ...(opts.subresource ? { subresource: opts.subresource } : {}),
      };
      stored.owners.push(mine);
    }
    for (const p of changed) mine.paths.add(p);
    // As observed on kube-apiserver 1.34: writes through /scale leave the entry without a time.
    if (opts.subresource === 'scale') delete mine.time;
    else mine.time = this.now();
    stored.owners = stored.owners.filter((o) => o.paths.size > 0);
    this.#rv++;
    after.metadata.resourceVersion = String(this.#rv);
    if (part === 'main' && before && JSON.stringify(before.spec) !== JSON.stringify(after.spec))
      after.metadata.generation = Number(after.metadata.generation ?? 1) + 1;
  }

  /** `kubectl apply` (client-side): last-applied annotation, defaults, status by the controllers. */
  applyClientSide(
    desired: KubeObject,
    opts: { namespace?: string; labels?: Record<string, string>; manager?: string } = {},
  ): KubeObject {
    const obj = clone(desired);
    const namespaced = !['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(obj.kind);
    if (namespaced) obj.metadata.namespace ??= opts.namespace ?? 'default';
    if (opts.labels) obj.metadata.labels = { ...obj.metadata.labels, ...opts.labels };
    const key = this.#key(obj.kind, obj.metadata.namespace, obj.metadata.name);
    const existing = this.#objects.get(key);
    const lastApplied = JSON.stringify({
      ...obj,
      metadata: { ...obj.metadata, annotations: { ...obj.metadata.annotations } },
    });
    obj.metadata.annotations = {
      ...obj.metadata.annotations,
      'kubectl.kubernetes.io/last-applied-configuration': `${lastApplied}\n`,
    };
    if (existing) {
      const before = clone(existing.object);
      const merged = {
        ...clone(existing.object),
        ...obj,
        metadata: { ...existing.object.metadata, ...obj.metadata },
        status: existing.object.status,
      } as KubeObject;
      applyDefaults(merged);
      existing.object = merged;
      this.#record(existing, before, opts.manager ?? 'kubectl-client-side-apply', {});
      return clone(merged);
    }
    obj.metadata.uid = randomUUID();
    obj.metadata.creationTimestamp = this.now();
    obj.metadata.generation = 1;
    applyDefaults(obj);
    allocate(obj);
    const stored: Stored = { object: obj, owners: [] };
    this.#objects.set(key, stored);
    this.#record(stored, undefined, opts.manager ?? 'kubectl-client-side-apply', {});
    this.#controllersReconcile(stored);
    return clone(obj);
  }

  /** Creates an object that Git does not know (as `kubectl create` would). */
  create(obj: KubeObject, manager = 'kubectl-create'): KubeObject {
    const o = clone(obj);
    o.metadata.namespace ??= 'default';
    o.metadata.uid = randomUUID();
    o.metadata.creationTimestamp = this.now();
    o.metadata.generation = 1;
    applyDefaults(o);
    allocate(o);
    const stored: Stored = { object: o, owners: [] };
    this.#objects.set(this.#key(o.kind, o.metadata.namespace, o.metadata.name), stored);
    this.#record(stored, undefined, manager, {});
    return clone(o);
  }

  /** An Update (kubectl edit/patch/set/scale, a controller): changed fields move to `manager`. */
  update(
    kind: string,
    namespace: string | undefined,
    name: string,
    manager: string,
    mutate: (o: KubeObject) => void,
    opts: WriteOptions = {},
  ): KubeObject {
    const stored = this.#objects.get(this.#key(kind, namespace, name));
    if (!stored) throw new Error(`stand-in: no ${kind} ${namespace}/${name}`);
    const before = clone(stored.object);
    mutate(stored.object);
    if (opts.subresource !== 'status') applyDefaults(stored.object);
    this.#record(stored, before, manager, opts);
    return clone(stored.object);
  }

  delete(kind: string, namespace: string | undefined, name: string): void {
    this.#objects.delete(this.#key(kind, namespace, name));
  }

  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const s = this.#objects.get(this.#key(kind, namespace, name));
    return s ? this.#withManagedFields(s) : undefined;
  }

  /** What `kubectl get -o yaml --show-managed-fields` lists. */
  list(): KubeObject[] {
    return [...this.#objects.values()].map((s) => this.#withManagedFields(s));
  }

  #withManagedFields(s: Stored): KubeObject {
    const o = clone(s.object);
    o.metadata.managedFields = s.owners.map(
      (w): ManagedFieldsEntry => ({
        manager: w.manager,
        operation: w.operation,
        apiVersion: w.apiVersion,
        ...(w.time ? { time: w.time } : {}),
        fieldsType: 'FieldsV1',
        fieldsV1: toTrie(w.paths),
        ...(w.subresource ? { subresource: w.subresource } : {}),
      }),
    );
    return o;
  }

  /** What the controllers write after a create: status only, through the status subresource. */
  #controllersReconcile(stored: Stored): void {
    const o = stored.object;
    if (o.kind === 'Deployment') {
      const replicas = (o.spec as Obj).replicas as number;
      this.update(
        o.kind,
        o.metadata.namespace,
        o.metadata.name,
        'kube-controller-manager',
        (x) => {
          x.status = {
            observedGeneration: x.metadata.generation,
            replicas,
            updatedReplicas: replicas,
            readyReplicas: replicas,
            availableReplicas: replicas,
            conditions: [
              {
                type: 'Available',
                status: 'True',
                reason: 'MinimumReplicasAvailable',
                lastUpdateTime: this.now(),
                lastTransitionTime: this.now(),
              },
              {
                type: 'Progressing',
                status: 'True',
                reason: 'NewReplicaSetAvailable',
                lastUpdateTime: this.now(),
                lastTransitionTime: this.now(),
              },
            ],
          };
        },
        { subresource: 'status' },
      );
    }
    if (o.kind === 'Service' && (o.spec as Obj).type === 'LoadBalancer') {
      this.update(
        o.kind,
        o.metadata.namespace,
        o.metadata.name,
        'kube-controller-manager',
        (x) => {
          x.status = { loadBalancer: {} };
        },
        { subresource: 'status' },
      );
    }
  }
}
