import { Worker } from 'node:worker_threads';
import type { BatchJobName, JobArgs, JobResult, SoloJobName, Writer } from '../sql/jobs.ts';
import { siblingModule } from '../../common/module-url.ts';
import type { Urgency } from '../sql/write-batch.ts';

interface Job {
  readonly id: number;
  readonly kind: 'batch' | 'soon' | 'solo';
  readonly name: string;
  readonly args: readonly unknown[];
}
export type Done =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: { message: string; name: string; stack?: string } };
/** Messages both ways between the event loop and the writer thread. */
export type ToWriter =
  | { readonly jobs: readonly Job[] }
  | { readonly close: true }
  | { readonly done: readonly Done[] }
  | { readonly ready: true }
  | { readonly closed: true };

interface Pending {
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
}

/**
 * SQLite writes in a thread of their own. better-sqlite3 is synchronous: on the event loop every
 * group commit's fsync stopped decoding, deciding and answering for its whole duration. Here the
 * loop hands jobs (a name and plain-data arguments, see jobs.ts) to the writer thread, keeps
 * working, and settles each caller's promise when the thread says its transaction committed.
 */
export class ThreadWriter implements Writer {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #outbox: Job[] = [];
  #next = 0;
  #dead: Error | undefined;
  #closed: Promise<void> | undefined;

  constructor(file: string) {
    this.#worker = new Worker(siblingModule(import.meta.url, 'writer-thread'), { workerData: { file } });
    this.#worker.unref();
    this.#worker.on('message', (m: ToWriter) => {
      if ('done' in m) for (const d of m.done) this.#settle(d);
    });
    this.#worker.on('error', (e: unknown) => this.#fail(e instanceof Error ? e : new Error(String(e))));
    this.#worker.on('exit', (code) => this.#fail(new Error(`the SQLite writer thread exited (code ${code})`)));
  }

  batch<K extends BatchJobName>(name: K, args: JobArgs<K>, urgency?: Urgency): Promise<JobResult<K>> {
    return this.#send(urgency === 'soon' ? 'soon' : 'batch', name, args) as Promise<JobResult<K>>;
  }

  solo<K extends SoloJobName>(name: K, args: JobArgs<K>): Promise<JobResult<K>> {
    return this.#send('solo', name, args) as Promise<JobResult<K>>;
  }

  #send(kind: Job['kind'], name: string, args: readonly unknown[]): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error('the store is closed'));
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) this.#worker.ref(); // a pending write keeps the process alive
      this.#pending.set(id, { resolve, reject });
      // Jobs of one turn of the event loop travel together: one message, one structured clone.
      if (this.#outbox.length === 0) setImmediate(() => this.#flush());
      this.#outbox.push({ id, kind, name, args });
    });
  }

  #flush(): void {
    const jobs = this.#outbox;
    this.#outbox = [];
    if (jobs.length > 0 && !this.#dead) this.#worker.postMessage({ jobs } satisfies ToWriter);
  }

  #settle(d: Done): void {
    const p = this.#pending.get(d.id);
    if (!p) return;
    this.#pending.delete(d.id);
    if (this.#pending.size === 0) this.#worker.unref();
    if (d.ok) p.resolve(d.value);
    else p.reject(Object.assign(new Error(d.error.message), { name: d.error.name, stack: d.error.stack }));
  }

  /** The thread is gone: every waiting caller learns it, and later writes refuse at once. */
  #fail(e: Error): void {
    if (this.#dead) return;
    this.#dead = e;
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
  }

  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      if (this.#dead) return resolve();
      this.#flush();
      this.#worker.ref();
      this.#worker.on('message', (m: ToWriter) => {
        if ('closed' in m) void this.#worker.terminate().then(() => resolve());
      });
      this.#worker.postMessage({ close: true } satisfies ToWriter);
    });
    return this.#closed;
  }
}
