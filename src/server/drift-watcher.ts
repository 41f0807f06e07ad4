// The drift watcher inside `tether serve`: every interval, the replica holding the drift Lease
// compares the Git working copy with the cluster, attributes what differs (ledger decisions and
// the agents of the policy in force as evidence), appends the findings that are new since its
// previous run to the ledger (kind drift) and notifies their owners. Standing drift is recorded
// once, not every interval.
import { resolve } from 'node:path';
import { agentDirectoryFromPolicy } from '../analysis/drift/actors.ts';
import { loadDesiredState } from '../analysis/drift/desired.ts';
import { detectDrift, detectInput } from '../analysis/drift/detect.ts';
import type { LedgerEvidence } from '../analysis/drift/evidence.ts';
import { type KubeClient, kubeClientFromKubeconfig } from '../analysis/drift/kube-client.ts';
import { driftLeaves } from '../analysis/drift/ledger-leaves.ts';
import { loadLiveFromCluster } from '../analysis/drift/live.ts';
import type { DriftReport } from '../analysis/drift/model.ts';
import { notificationPayload } from '../analysis/drift/notify.ts';
import { digestOf } from '../common/digest.ts';
import { objectKey } from '../engine/action.ts';
import type { LedgerLeaf } from '../ledger/leaf.ts';
import type { CompiledPolicy } from '../policy/compile.ts';
import type { Store } from '../store/store.ts';
import { clusterKubeConfig } from './kube-config.ts';
import { type LeaseApi, LeaseElector, leaseApiFromKubeConfig } from './lease.ts';
import type { Notice } from './notify.ts';

export interface DriftWatcherLog {
  info(o: object, m: string): void;
  warn(o: object, m: string): void;
  error(o: object, m: string): void;
}

export interface DriftWatcherOptions {
  readonly repo: string;
  readonly revision?: string;
  readonly path?: string;
  readonly namespace?: string;
  /** Default 300. */
  readonly intervalSeconds?: number;
  /** Default: the default loading rules (KUBECONFIG, ~/.kube/config, in-cluster). */
  readonly kubeconfig?: string;
  readonly leaseNamespace?: string;
  readonly leaseName?: string;
  /** Default 15; the holder renews every third of it. */
  readonly leaseDurationSeconds?: number;
  /** Lease holder identity (default hostname_pid_random). */
  readonly identity?: string;
  /** Field managers that apply Git (default: Argo CD and Flux controllers). */
  readonly appliers?: readonly string[];
  readonly store: Store;
  /** The policy in force (agents for attribution); undefined before the first policy loads. */
  readonly policy: () => CompiledPolicy | undefined;
  readonly notifier?: { send(n: Notice): void };
  readonly log?: DriftWatcherLog;
  /** After each completed run (tests, metrics). */
  readonly onRun?: (r: DriftRunResult) => void;
  /** Overrides for tests. */
  readonly kubeClient?: KubeClient;
  readonly leaseApi?: LeaseApi;
}

export interface DriftRunResult {
  readonly report: DriftReport;
  /** Leaves appended to the ledger by this run (findings new since the previous run). */
  readonly recorded: readonly LedgerLeaf[];
}

const quiet: DriftWatcherLog = { info() {}, warn() {}, error() {} };

/** What makes a finding the same finding next time: the object, its state and each drifted field's values (as digests). */
export function findingDigest(leaf: LedgerLeaf): string {
  const d = (leaf.detail ?? {}) as {
    state?: unknown;
    fields?: { path?: unknown; change?: unknown; desiredDigest?: unknown; liveDigest?: unknown }[];
  };
  return digestOf({
    target: leaf.target ?? null,
    state: d.state ?? null,
    fields: (d.fields ?? []).map((f) => ({
      path: f.path ?? null,
      change: f.change ?? null,
      desired: f.desiredDigest ?? null,
      live: f.liveDigest ?? null,
    })),
  });
}

function keyOf(t: { group: string; resource: string; namespace?: string; name?: string }): string {
  return objectKey({ ...t, version: '' });
}

export class DriftWatcher {
  readonly #o: DriftWatcherOptions;
  readonly #log: DriftWatcherLog;
  readonly #intervalMs: number;
  readonly #leaseMs: number;
  #client: KubeClient | undefined;
  #elector: LeaseElector | undefined;
  /** Digests of the findings of the previous run; undefined until this replica has run as leader. */
  #seen: Set<string> | undefined;
  #leaseTimer: NodeJS.Timeout | undefined;
  #runTimer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #electing: Promise<void> | undefined;
  #stopped = true;

  constructor(o: DriftWatcherOptions) {
    this.#o = o;
    this.#log = o.log ?? quiet;
    this.#intervalMs = (o.intervalSeconds ?? 300) * 1000;
    this.#leaseMs = (o.leaseDurationSeconds ?? 15) * 1000;
  }

  get identity(): string | undefined {
    return this.#elector?.identity;
  }

  get isLeader(): boolean {
    return !this.#stopped && (this.#elector?.isLeader ?? false);
  }

  async start(): Promise<void> {
    if (!this.#stopped) return;
    this.#client = this.#o.kubeClient ?? (await kubeClientFromKubeconfig(this.#o.kubeconfig));
    let leaseApi = this.#o.leaseApi;
    if (!leaseApi) {
      leaseApi = leaseApiFromKubeConfig(clusterKubeConfig(this.#o.kubeconfig));
    }
    this.#elector = new LeaseElector({
      api: leaseApi,
      namespace: this.#o.leaseNamespace ?? 'default',
      name: this.#o.leaseName ?? 'tether-drift',
      leaseDurationSeconds: this.#leaseMs / 1000,
      ...(this.#o.identity ? { identity: this.#o.identity } : {}),
    });
    this.#stopped = false;
    this.#log.info(
      {
        identity: this.#elector.identity,
        lease: `${this.#o.leaseNamespace ?? 'default'}/${this.#o.leaseName ?? 'tether-drift'}`,
      },
      'drift watcher started',
    );
    await this.#elect();
  }

  /** Stops both loops, waits for a run in progress, and releases the lease so another replica takes over at once. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#leaseTimer);
    clearTimeout(this.#runTimer);
    await this.#electing;
    await this.#running;
    await this.#elector
      ?.release()
      .catch((e: unknown) => this.#log.warn({ err: String(e) }, 'drift lease release failed'));
    this.#seen = undefined;
  }

  async #elect(): Promise<void> {
    if (this.#stopped || !this.#elector) return;
    const elector = this.#elector;
    const wasLeader = elector.isLeader;
    this.#electing = (async () => {
      try {
        await elector.tryAcquireOrRenew();
      } catch (e) {
        this.#log.warn({ err: String(e) }, 'drift lease round failed');
      }
    })();
    await this.#electing;
    this.#electing = undefined;
    if (this.#stopped) return;
    const leader = elector.isLeader;
    if (leader && !wasLeader) {
      this.#log.info({ identity: elector.identity }, 'drift watcher leads');
      this.#schedule(0);
    } else if (!leader && wasLeader) {
      this.#log.warn({ identity: elector.identity }, 'drift watcher lost the lease');
      this.#seen = undefined;
    }
    // Renew at a third of the lease duration; candidates try as often.
    this.#leaseTimer = setTimeout(() => void this.#elect(), Math.max(200, Math.floor(this.#leaseMs / 3)));
    this.#leaseTimer.unref();
  }

  #schedule(ms: number): void {
    clearTimeout(this.#runTimer);
    this.#runTimer = setTimeout(() => void this.#tick(), ms);
    this.#runTimer.unref();
  }

  async #tick(): Promise<void> {
    if (this.#stopped || !this.isLeader || this.#running) return;
    this.#running = this.runOnce()
      .then((r) => this.#o.onRun?.(r))
      .catch((e: unknown) => this.#log.error({ err: e instanceof Error ? e.message : String(e) }, 'drift run failed'));
    await this.#running;
    this.#running = undefined;
    if (this.#stopped || !this.isLeader) return;
    this.#schedule(this.#intervalMs);
  }

  /** One comparison, recording and notifying what is new. Called by the loop while leading; public for tests and manual runs. */
  async runOnce(): Promise<DriftRunResult> {
    const client =
      this.#client ?? (this.#client = this.#o.kubeClient ?? (await kubeClientFromKubeconfig(this.#o.kubeconfig)));
    const namespace = this.#o.namespace ?? 'default';
    const desired = await loadDesiredState({
      repo: resolve(this.#o.repo),
      ...(this.#o.revision ? { revision: this.#o.revision } : {}),
      ...(this.#o.path ? { path: this.#o.path } : {}),
      namespace,
    });
    const live = await loadLiveFromCluster(client, desired.objects);
    const store = this.#o.store;
    const ledger: LedgerEvidence = {
      decisionsFor: async (t) => (await store.queryLedger({ object: keyOf(t), limit: 1000 })).map((e) => e.leaf),
    };
    const policy = this.#o.policy();
    const report = await detectDrift(detectInput(desired, live), {
      namespace,
      attribution: {
        ledger,
        agents: policy ? agentDirectoryFromPolicy(policy) : undefined,
        appliers: this.#o.appliers?.length ? this.#o.appliers : undefined,
      },
      ...(desired.revision ? { revision: desired.revision } : {}),
      repo: desired.top,
      ...(this.#o.path ? { path: this.#o.path } : {}),
    });
    for (const p of report.problems)
      this.#log.warn({ where: p.where, severity: p.severity }, `drift input: ${p.message}`);

    const leaves = driftLeaves(report);
    const digests = leaves.map(findingDigest);
    const fresh: number[] = [];
    for (const [i, leaf] of leaves.entries()) {
      if (await this.#isNew(digests[i] as string, leaf)) fresh.push(i);
    }
    // A replica that lost the lease mid-run leaves the recording to the new holder.
    if (this.#stopped === false && this.#elector && !this.#elector.isLeader) return { report, recorded: [] };
    const recorded = fresh.map((i) => leaves[i] as LedgerLeaf);
    for (const leaf of recorded) await store.append(leaf);
    this.#seen = new Set(digests);
    if (recorded.length > 0) {
      const newReport: DriftReport = {
        ...report,
        findings: fresh.map((i) => report.findings[i] as DriftReport['findings'][number]),
      };
      const n = notificationPayload(newReport);
      this.#o.notifier?.send({
        event: 'drift.found',
        text: `${n.title}${report.findings.length > recorded.length ? ` (${recorded.length} new)` : ''}\n${n.text}`,
        detail: {
          severity: n.severity,
          ...(n.revision ? { revision: n.revision } : {}),
          owners: n.owners,
          others: n.others,
          repo: desired.top,
          ...(this.#o.path ? { path: this.#o.path } : {}),
        },
      });
      this.#log.info(
        { findings: report.findings.length, recorded: recorded.length, severity: n.severity },
        'drift found',
      );
    }
    return { report, recorded };
  }

  /**
   * New since the previous run. The first run after taking the lease has no previous run in
   * memory: it asks the ledger whether the last drift leaf on that object already says the same,
   * so a takeover does not re-record the drift the former holder recorded.
   */
  async #isNew(digest: string, leaf: LedgerLeaf): Promise<boolean> {
    if (this.#seen) return !this.#seen.has(digest);
    if (!leaf.target) return true;
    // The ledger answers in index order: page to the last drift leaf on the object.
    let last: LedgerLeaf | undefined;
    for (let from = 0; ; ) {
      const page = await this.#o.store.queryLedger({
        object: keyOf(leaf.target),
        kind: 'drift',
        fromIndex: from,
        limit: 1000,
      });
      const end = page.at(-1);
      if (!end) break;
      last = end.leaf;
      from = end.index + 1;
      if (page.length < 1000) break;
    }
    return last === undefined || findingDigest(last) !== digest;
  }
}
