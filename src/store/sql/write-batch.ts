import { leafHash } from '../../ledger/hash.ts';
import { indexedColumns, type LedgerLeaf, leafData } from '../../ledger/leaf.ts';
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
  /** Leaf hash of the entry before the next one, linked into the next leaf as `prev`. */
  #prev: Buffer | undefined;

  private constructor(tx: SqlRunner, start: number, prev: Buffer | undefined) {
    this.tx = tx;
    this.#start = start;
    this.#prev = prev;
  }

  static async begin(driver: SqlDriver, tx: SqlRunner): Promise<WriteBatch> {
    const [head] = await tx.query<{ size: number }>(`SELECT size FROM ledger_head WHERE id = 1${driver.dialect.forUpdate}`);
    if (!head) throw new Error('ledger head missing: the schema was not migrated');
    const size = Number(head.size);
    const [last] = size > 0 ? await tx.query<{ leaf_hash: Buffer }>('SELECT leaf_hash FROM ledger WHERE idx = ?', [size - 1]) : [];
    return new WriteBatch(tx, size, last?.leaf_hash);
  }

  /** Reserves the next index for `leaf` and returns it; the row is written when the batch ends. */
  append(leaf: LedgerLeaf): number {
    const index = this.#start + this.#rows.length;
    const data = leafData(index, this.#prev ? { ...leaf, prev: this.#prev.toString('hex') } : leaf);
    const hash = leafHash(data);
    this.#rows.push({ index, ...indexedColumns(leaf), leafHash: hash, data });
    this.#prev = hash;
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
