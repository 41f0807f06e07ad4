import { Worker } from 'node:worker_threads';
import { siblingModule } from '../../common/module-url.ts';

/** How often the checkpointer folds the WAL back: a few commits' worth of pages each time under load. */
const CHECKPOINT_EVERY_MS = 100;

/**
 * Runs checkpoint-thread.ts beside a store's connections. Alone, their own automatic checkpoint ran
 * inside whichever commit crossed the threshold: that commit (and the decisions in it) waited for
 * every page since the last one to be copied and the database file synced. With this thread copying
 * as it goes, the commit that crosses it copies only the pages since (see WAL_RESTART_PAGES in driver.ts).
 */
export class Checkpointer {
  readonly #worker: Worker;
  #closed: Promise<void> | undefined;

  constructor(file: string) {
    this.#worker = new Worker(siblingModule(import.meta.url, 'checkpoint-thread'), {
      workerData: { file, everyMs: CHECKPOINT_EVERY_MS },
    });
    // Held until its connection is open: a process that ended while the thread was still loading
    // SQLite's native module tore it down mid-load, and that aborts the process (a fatal N-API error).
    this.#worker.on('message', (m: { ready?: true; closed?: true }) => {
      if (m.ready && !this.#closed) this.#worker.unref(); // a close asked for meanwhile keeps it held
      if (m.closed) void this.#worker.terminate();
    });
    // A checkpointer that dies leaves the connections' autocheckpoint to do the work: nothing is lost.
    this.#worker.on('error', () => undefined);
  }

  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.#worker.ref(); // the process waits for the thread to close its connection
      this.#worker.once('exit', () => resolve());
      this.#worker.postMessage({ close: true });
    });
    return this.#closed;
  }
}
