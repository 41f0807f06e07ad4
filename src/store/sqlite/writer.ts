import { Worker } from 'node:worker_threads';
import type { BatchJobName, JobArgs, JobResult, SoloJobName, Writer } from '../sql/jobs.ts';
import { siblingModule } from '../../common/module-url.ts';
import { type Answer, type Call, Caller } from '../../common/thread-calls.ts';
import type { Urgency } from '../sql/write-batch.ts';

/** What a call to the writer thread carries: a job's name and its plain-data arguments. */
export interface JobCall {
  readonly name: string;
  readonly args: readonly unknown[];
}

/** The writer thread's methods: a batched job (now or soon) or a solo one. */
export type JobKind = 'batch' | 'soon' | 'solo';

/** Messages both ways between the event loop and the writer thread. */
export type ToWriter =
  | { readonly calls: readonly Call[] }
  | { readonly close: true }
  | { readonly answers: readonly Answer[] }
  | { readonly ready: true }
  | { readonly closed: true };

/**
 * SQLite writes in a thread of their own. better-sqlite3 is synchronous: on the event loop every
 * group commit's fsync stopped decoding, deciding and answering for its whole duration. Here the
 * loop hands jobs (a name and plain-data arguments, see jobs.ts) to the writer thread, keeps
 * working, and settles each caller's promise when the thread says its transaction committed.
 */
export class ThreadWriter implements Writer {
  readonly #worker: Worker;
  readonly #calls: Caller;
  #ready = false;
  #closed: Promise<void> | undefined;

  constructor(file: string) {
    // Held until the thread has its connection (like the Checkpointer: torn down while it loads SQLite's
    // native module, it would abort the process), then only while writes are in flight.
    this.#worker = new Worker(siblingModule(import.meta.url, 'writer-thread'), { workerData: { file } });
    this.#calls = new Caller((calls) => this.#worker.postMessage({ calls } satisfies ToWriter));
    this.#worker.on('message', (m: ToWriter) => {
      if ('ready' in m) this.#ready = true;
      else if ('answers' in m) this.#calls.settle(m.answers);
      else return;
      // Closing keeps it held until the thread is gone.
      if (this.#ready && this.#calls.inFlight === 0 && !this.#closed) this.#worker.unref();
    });
    // The thread is gone: every waiting caller learns it, and later writes refuse at once.
    this.#worker.on('error', (e: unknown) => this.#calls.fail(e instanceof Error ? e : new Error(String(e))));
    this.#worker.on('exit', (code) => this.#calls.fail(new Error(`the SQLite writer thread exited (code ${code})`)));
  }

  batch<K extends BatchJobName>(name: K, args: JobArgs<K>, urgency?: Urgency): Promise<JobResult<K>> {
    return this.#send(urgency === 'soon' ? 'soon' : 'batch', name, args) as Promise<JobResult<K>>;
  }

  solo<K extends SoloJobName>(name: K, args: JobArgs<K>): Promise<JobResult<K>> {
    return this.#send('solo', name, args) as Promise<JobResult<K>>;
  }

  #send(kind: JobKind, name: string, args: readonly unknown[]): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error('the store is closed'));
    if (this.#calls.inFlight === 0) this.#worker.ref(); // a pending write keeps the process alive
    return this.#calls.call(kind, { name, args } satisfies JobCall);
  }

  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      if (this.#worker.threadId === -1) return resolve();
      this.#calls.flush(); // the jobs of this turn go before the word to close
      this.#worker.ref();
      this.#worker.on('message', (m: ToWriter) => {
        if ('closed' in m) void this.#worker.terminate().then(() => resolve());
      });
      this.#worker.once('exit', () => resolve());
      this.#worker.postMessage({ close: true } satisfies ToWriter);
    });
    return this.#closed;
  }
}
