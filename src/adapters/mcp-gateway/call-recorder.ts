// Appends 'tool-result' leaves without holding up the agent's answer. The decision was committed
// before the call went out; its result is an observation after the fact, so results are gathered
// for a few milliseconds and appended together: one group commit (one fsync) for many calls,
// instead of one per call competing with the next call's decision. Shutdown waits for all of them.
import type { LedgerLeaf } from '../../ledger/leaf.ts';
import { type CallRecord, type CallStatus, toolResultLeaf } from './tool-call-record.ts';

export interface GatewayLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** How long a result may wait for company before it is written, and how many may wait. */
const GATHER_MS = 25;
const GATHER_MAX = 256;

export class CallRecorder {
  readonly #append: (leaf: LedgerLeaf) => Promise<number>;
  readonly #log: GatewayLog;
  readonly #clock: () => number;
  #gathered: { leaf: LedgerLeaf; what: string }[] = [];
  #timer: NodeJS.Timeout | undefined;
  readonly #writing = new Set<Promise<unknown>>();

  constructor(append: (leaf: LedgerLeaf) => Promise<number>, log: GatewayLog, clock: () => number = Date.now) {
    this.#append = append;
    this.#log = log;
    this.#clock = clock;
  }

  record(
    record: CallRecord,
    outcome: { status: CallStatus; latencyMs: number; upstreamMs?: number; error?: string },
  ): void {
    if (!record.governed) return;
    this.#gathered.push({
      leaf: toolResultLeaf(record, outcome, this.#clock()),
      what: `${record.tool.server}/${record.tool.name} (request ${record.requestId})`,
    });
    if (this.#gathered.length >= GATHER_MAX) this.#flush();
    else this.#timer ??= setTimeout(() => this.#flush(), GATHER_MS);
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    // Submitted in one turn of the event loop, so the store's group commit writes them together.
    for (const { leaf, what } of this.#gathered.splice(0)) {
      const p: Promise<unknown> = this.#append(leaf)
        .catch((e: unknown) => this.#log.error(`could not record the result of ${what}: ${(e as Error).message}`))
        .finally(() => this.#writing.delete(p));
      this.#writing.add(p);
    }
  }

  async drain(): Promise<void> {
    this.#flush();
    while (this.#writing.size > 0) await Promise.all([...this.#writing]);
  }
}
