import { objectKey } from '../../engine/action.ts';
import { leafHash } from '../../ledger/hash.ts';
import { type LedgerLeaf, leafData } from '../../ledger/leaf.ts';
import type { LedgerRowInsert, SqlDriver, SqlRunner } from './driver.ts';

/**
 * One write transaction shared by the jobs of a group commit. It holds the ledger head (locked
 * first, so writers of every process queue here and each sees the others' committed effects)
 * and hands out consecutive indexes; rows reach the table in one insert at the end.
 */
export class WriteBatch {
  readonly tx: SqlRunner;
  readonly #start: number;
  readonly #rows: LedgerRowInsert[] = [];

  private constructor(tx: SqlRunner, start: number) {
    this.tx = tx;
    this.#start = start;
  }

  static async begin(driver: SqlDriver, tx: SqlRunner): Promise<WriteBatch> {
    const [head] = await tx.query<{ size: number }>(`SELECT size FROM ledger_head WHERE id = 1${driver.dialect.forUpdate}`);
    if (!head) throw new Error('ledger head missing: the schema was not migrated');
    return new WriteBatch(tx, Number(head.size));
  }

  /** Reserves the next index for `leaf` and returns it; the row is written when the batch ends. */
  append(leaf: LedgerLeaf): number {
    const index = this.#start + this.#rows.length;
    const data = leafData(index, leaf);
    this.#rows.push({
      index,
      at: Date.parse(leaf.time),
      kind: leaf.kind,
      agent: leaf.agent ?? null,
      owner: leaf.owner ?? null,
      object: leaf.target ? objectKey(leaf.target) : null,
      actor: leaf.actor ?? null,
      leafHash: leafHash(data),
      data,
    });
    return index;
  }

  async finish(driver: SqlDriver): Promise<void> {
    if (this.#rows.length === 0) return;
    await driver.dialect.insertLedgerRows(this.tx, this.#rows);
    await this.tx.query('UPDATE ledger_head SET size = ? WHERE id = 1', [this.#start + this.#rows.length]);
  }
}

type Job<T> = (batch: WriteBatch) => Promise<T>;

interface Queued {
  readonly job: Job<unknown>;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
}

const MAX_BATCH = 2000;

/**
 * Group commit: jobs submitted while a transaction is in flight wait and then share the next
 * one, so one fsync (SQLite) or one round of statements (PostgreSQL) serves many callers.
 * A job must check before it writes and return a refusal rather than throw for expected
 * conflicts; a job that throws rolls its batch back, and the batch's jobs then run one by one
 * so only the faulty one fails.
 */
export class GroupCommitter {
  readonly #driver: SqlDriver;
  #queue: Queued[] = [];
  #draining: Promise<void> | undefined;

  constructor(driver: SqlDriver) {
    this.#driver = driver;
  }

  submit<T>(job: Job<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ job, resolve: resolve as (v: unknown) => void, reject });
      // Let the callbacks of this turn of the event loop enqueue too before the batch starts.
      this.#draining ??= new Promise<void>((done) => setImmediate(() => void this.#drain().finally(done)));
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_BATCH);
      try {
        const results = await this.#run(batch);
        for (const [i, q] of batch.entries()) q.resolve(results[i]);
      } catch (err) {
        if (batch.length === 1) (batch[0] as Queued).reject(err);
        else for (const q of batch) await this.#run([q]).then(([r]) => q.resolve(r), q.reject);
      }
    }
    this.#draining = undefined;
  }

  /** Resolves once every submitted job has committed or failed. */
  async idle(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  #run(batch: readonly Queued[]): Promise<unknown[]> {
    return this.#driver.transaction(async (tx) => {
      const writes = await WriteBatch.begin(this.#driver, tx);
      const results: unknown[] = [];
      for (const q of batch) results.push(await q.job(writes));
      await writes.finish(this.#driver);
      return results;
    });
  }
}
