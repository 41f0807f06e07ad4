// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it:
// create the Lease when absent, renew it while holding it, take it over when it has expired.
// Every write carries the resourceVersion it read, so two candidates never both win a round.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';

/** The part of CoordinationV1Api the elector uses (a fake in unit tests). */
export type LeaseApi = Pick<
  k8s.CoordinationV1Api,
  'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'
>;

export interface LeaseOptions {
  readonly api: LeaseApi;
  readonly namespace: string;
  readonly name: string;
  readonly leaseDurationSeconds: number;
  /** Default: hostname, pid and a random suffix. */
  readonly identity?: string;
  readonly now?: () => number;
}

export function leaseIdentity(): string {
  return `${hostname()}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

function statusOf(e: unknown): number | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

function timeOf(t: unknown): number | undefined {
  if (t === undefined || t === null) return undefined;
  const ms = new Date(t as string | Date).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

function micro(ms: number): k8s.V1MicroTime {
  return new k8s.V1MicroTime(ms);
}

export class LeaseElector {
  readonly identity: string;
  readonly #api: LeaseApi;
  readonly #namespace: string;
  readonly #name: string;
  readonly #durationMs: number;
  readonly #now: () => number;
  /** When this elector last renewed successfully; leadership lapses a lease duration later. */
  #renewedAt: number | undefined;
  /** The other holder's record as last seen, and when it was first seen locally (clock-skew guard). */
  #observed: { key: string; at: number } | undefined;

  constructor(o: LeaseOptions) {
    this.#api = o.api;
    this.#namespace = o.namespace;
    this.#name = o.name;
    this.#durationMs = o.leaseDurationSeconds * 1000;
    this.identity = o.identity ?? leaseIdentity();
    this.#now = o.now ?? Date.now;
  }

  /** Holding the lease now: renewed within the last lease duration. */
  get isLeader(): boolean {
    return this.#renewedAt !== undefined && this.#now() < this.#renewedAt + this.#durationMs;
  }

  /** One election round: true when this candidate holds the lease afterwards. Conflicts are lost rounds, not errors. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.#now();
    let lease: k8s.V1Lease;
    try {
      lease = await this.#api.readNamespacedLease({ name: this.#name, namespace: this.#namespace });
    } catch (e) {
      if (statusOf(e) !== 404) throw e;
      return this.#write(now, () =>
        this.#api.createNamespacedLease({
          namespace: this.#namespace,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: this.#name, namespace: this.#namespace },
            spec: this.#spec(now, now, 0),
          },
        }),
      );
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    if (holder === this.identity) {
      return this.#write(now, () =>
        this.#api.replaceNamespacedLease({
          name: this.#name,
          namespace: this.#namespace,
          body: { ...lease, spec: { ...spec, ...this.#renewal(now) } },
        }),
      );
    }
    this.#renewedAt = undefined;
    if (holder !== '' && !this.#expired(lease, now)) return false;
    const transitions = (spec.leaseTransitions ?? 0) + 1;
    return this.#write(now, () =>
      this.#api.replaceNamespacedLease({
        name: this.#name,
        namespace: this.#namespace,
        body: { ...lease, spec: this.#spec(now, now, transitions) },
      }),
    );
  }

  /** Gives the lease up (on shutdown) so another replica takes over at once instead of after it expires. */
  async release(): Promise<void> {
    if (this.#renewedAt === undefined) return;
    this.#renewedAt = undefined;
    try {
      const lease = await this.#api.readNamespacedLease({ name: this.#name, namespace: this.#namespace });
      if (lease.spec?.holderIdentity !== this.identity) return;
      const { holderIdentity: _gone, ...rest } = lease.spec;
      await this.#api.replaceNamespacedLease({
        name: this.#name,
        namespace: this.#namespace,
        body: { ...lease, spec: { ...rest, leaseDurationSeconds: 1 } },
      });
    } catch (e) {
      // Lost to another writer or the API server is away: the lease then expires on its own.
      if (statusOf(e) !== 409 && statusOf(e) !== 404) throw e;
    }
  }

  #spec(acquired: number, renewed: number, transitions: number): k8s.V1LeaseSpec {
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(this.#durationMs / 1000)),
      acquireTime: micro(acquired),
      renewTime: micro(renewed),
      leaseTransitions: transitions,
    };
  }

  #renewal(now: number): Partial<k8s.V1LeaseSpec> {
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(this.#durationMs / 1000)),
      renewTime: micro(now),
    };
  }

  /**
   * Expired when neither the holder's renewTime nor our own observation of the record is within the
   * lease's duration. A record we have not seen change counts from when we first saw it, unless its
   * renewTime is already older (so a fresh replica takes over a long-dead lease without waiting).
   */
  #expired(lease: k8s.V1Lease, now: number): boolean {
    const spec = lease.spec ?? {};
    const renewed = timeOf(spec.renewTime) ?? timeOf(spec.acquireTime) ?? 0;
    const key = `${spec.holderIdentity ?? ''}|${renewed}|${lease.metadata?.resourceVersion ?? ''}`;
    if (this.#observed?.key !== key) this.#observed = { key, at: Math.min(now, renewed) };
    const durationMs = (spec.leaseDurationSeconds ?? Math.ceil(this.#durationMs / 1000)) * 1000;
    return now >= this.#observed.at + durationMs;
  }

  /** `at` is the renewTime written: leadership is counted from it, exactly as other candidates count expiry. */
  async #write(at: number, send: () => Promise<k8s.V1Lease>): Promise<boolean> {
    try {
      await send();
    } catch (e) {
      const s = statusOf(e);
      if (s === 409 || s === 404) {
        this.#renewedAt = undefined;
        return false;
      }
      throw e;
    }
    this.#renewedAt = at;
    return true;
  }
}

export function leaseApiFromKubeConfig(kc: k8s.KubeConfig): LeaseApi {
  return kc.makeApiClient(k8s.CoordinationV1Api);
}
