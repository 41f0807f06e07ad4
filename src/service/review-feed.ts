// Live updates for reviewers: the approvals queue (with what waits on each human) and the
// breakers, pushed when they change. Every change to either is a ledger append, so one poll of
// the ledger size per interval, shared by all subscribers, notices changes made by any replica.
import type { CompiledPolicy } from '../policy/compile.ts';
import type { Store } from '../store/store.ts';
import { approvalQueue, type PresentApproval } from './review-approvals.ts';

export type FeedEvent = 'approvals' | 'breakers';
type Send = (event: FeedEvent, data: unknown) => void;

interface Subscriber {
  readonly viewer: string;
  readonly send: Send;
  /** What was last sent per event, so an unchanged snapshot is not sent again. */
  readonly last: Map<FeedEvent, string>;
}

export class ReviewFeed {
  readonly #store: Store;
  readonly #policy: () => CompiledPolicy;
  readonly #pollMs: number;
  readonly #clock: () => number;
  readonly #present: PresentApproval;
  readonly #subs = new Set<Subscriber>();
  #timer: NodeJS.Timeout | undefined;
  #seenSize = -1;
  #polling = false;

  constructor(opts: {
    store: Store;
    policy: () => CompiledPolicy;
    present: PresentApproval;
    pollMs?: number;
    clock?: () => number;
  }) {
    this.#present = opts.present;
    this.#store = opts.store;
    this.#policy = opts.policy;
    this.#pollMs = opts.pollMs ?? 1000;
    this.#clock = opts.clock ?? Date.now;
  }

  /** Sends the current snapshot at once, then every change; returns the unsubscribe function. */
  async subscribe(viewer: string, send: Send): Promise<() => void> {
    const sub: Subscriber = { viewer, send, last: new Map() };
    this.#subs.add(sub);
    this.#timer ??= setInterval(() => void this.#poll(), this.#pollMs).unref();
    await this.#push(sub);
    return () => {
      this.#subs.delete(sub);
      if (this.#subs.size === 0) this.stop();
    };
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#seenSize = -1;
  }

  get subscribers(): number {
    return this.#subs.size;
  }

  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const size = await this.#store.ledgerSize();
      // Expiry changes the queue without an append: the console counts TTLs down and drops expired requests itself.
      if (size === this.#seenSize) return;
      this.#seenSize = size;
      for (const sub of this.#subs) await this.#push(sub);
    } catch {
      // A store hiccup skips one interval; the next poll tries again.
    } finally {
      this.#polling = false;
    }
  }

  async #push(sub: Subscriber): Promise<void> {
    const now = this.#clock();
    const queue = await approvalQueue(this.#store, this.#policy(), sub.viewer, now, this.#present);
    const breakers = { breakers: await this.#store.breakers(), killSwitch: await this.#store.killSwitch() };
    this.#emit(
      sub,
      'approvals',
      queue,
      JSON.stringify(queue.approvals.map((a) => [a.id, a.approvedBy, a.waitingOnYou])),
    );
    this.#emit(sub, 'breakers', breakers, JSON.stringify(breakers));
  }

  #emit(sub: Subscriber, event: FeedEvent, data: unknown, fingerprint: string): void {
    if (sub.last.get(event) === fingerprint) return;
    sub.last.set(event, fingerprint);
    sub.send(event, data);
  }
}
