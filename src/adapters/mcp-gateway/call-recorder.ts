// Appends 'tool-result' leaves without holding up the agent's answer. The decision was committed
// before the call went out; its result is an observation after the fact, appended 'soon': it joins
// the store's next group commit (usually the next call's decision) instead of starting an fsync of
// its own that the next call's decision would wait behind. Shutdown waits for all of them.
import type { LedgerLeaf } from '../../ledger/leaf.ts';
import { type CallRecord, type CallStatus, toolResultLeaf } from './tool-call-record.ts';

export interface GatewayLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export class CallRecorder {
  readonly #append: (leaf: LedgerLeaf, opts: { soon: true }) => Promise<number>;
  readonly #log: GatewayLog;
  readonly #clock: () => number;
  readonly #writing = new Set<Promise<unknown>>();

  constructor(
    append: (leaf: LedgerLeaf, opts: { soon: true }) => Promise<number>,
    log: GatewayLog,
    clock: () => number = Date.now,
  ) {
    this.#append = append;
    this.#log = log;
    this.#clock = clock;
  }

  record(
    record: CallRecord,
    outcome: { status: CallStatus; latencyMs: number; upstreamMs?: number; error?: string },
  ): void {
    if (!record.governed) return;
    const what = `${record.tool.server}/${record.tool.name} (request ${record.requestId})`;
    const p: Promise<unknown> = this.#append(toolResultLeaf(record, outcome, this.#clock()), { soon: true })
      .catch((e: unknown) => this.#log.error(`could not record the result of ${what}: ${(e as Error).message}`))
      .finally(() => this.#writing.delete(p));
    this.#writing.add(p);
  }

  async drain(): Promise<void> {
    while (this.#writing.size > 0) await Promise.all([...this.#writing]);
  }
}
