import { leafHash } from '../../ledger/hash.ts';
import type { Effect } from '../../engine/decision.ts';
import { indexedColumns, type LedgerLeaf, leafData } from '../../ledger/leaf.ts';
import type { Dialect, LedgerRowInsert, SqlDriver, SqlRunner } from './driver.ts';
import type { BatchEnd, LaterTable } from './batch-end.ts';
import { chunks } from './bulk-rows.ts';
import { eventCountRows } from './event-counts.ts';
import { fileKeys } from './ledger-keys.ts';

type BudgetEffect = Extract<Effect, { kind: 'budget.consume' }>;

/** One budget window as a batch sees it: the database's counts plus what the batch's jobs consumed. */
export interface BudgetTally {
  mutations: number;
  objects: number;
  /** Object keys known to count already (in the database or consumed earlier in this batch). */
  readonly seen: Map<string, boolean>;
  readonly effect: BudgetEffect;
  added: number;
  readonly newObjects: string[];
}

const windowKey = (e: BudgetEffect) => `${e.budgetId}\u0000${e.windowStart}`;
// Both read into one row shape: a window's counters carry no object key, an object no counts.
const COUNTERS = 'SELECT budget_id, window_start, mutations, objects, NULL AS object_key FROM budget_counters';
const OBJECTS = 'SELECT budget_id, window_start, NULL AS mutations, NULL AS objects, object_key FROM budget_objects';

/**
 * The statements that read a batch's budget windows and objects. PostgreSQL: one, whose text never
 * changes (the keys arrive as arrays). SQLite, which has no arrays and no round trips: a statement per
 * chunk of keys, as few texts as bulk-rows.ts keeps.
 */
function budgetReads(
  d: Dialect,
  windows: readonly BudgetEffect[],
  objects: readonly BudgetEffect[],
): { sql: string; params: unknown[] }[] {
  if (windows.length === 0 && objects.length === 0) return [];
  if (d.name === 'postgres')
    return [
      {
        sql: `${COUNTERS} c JOIN unnest(?::text[], ?::bigint[]) AS w(b, s) ON c.budget_id = w.b AND c.window_start = w.s
          UNION ALL ${OBJECTS} o JOIN unnest(?::text[], ?::bigint[], ?::text[]) AS k(b, s, ob)
            ON o.budget_id = k.b AND o.window_start = k.s AND o.object_key = k.ob`,
        params: [
          windows.map((e) => e.budgetId),
          windows.map((e) => e.windowStart),
          objects.map((e) => e.budgetId),
          objects.map((e) => e.windowStart),
          objects.map((e) => e.objectKey),
        ],
      },
    ];
  return [
    ...chunks(windows).map((chunk) => ({
      sql: `${COUNTERS} WHERE ${chunk.map(() => '(budget_id = ? AND window_start = ?)').join(' OR ')}`,
      params: chunk.flatMap((e) => [e.budgetId, e.windowStart]),
    })),
    ...chunks(objects).map((chunk) => ({
      sql: `${OBJECTS} WHERE ${chunk.map(() => '(budget_id = ? AND window_start = ? AND object_key = ?)').join(' OR ')}`,
      params: chunk.flatMap((e) => [e.budgetId, e.windowStart, e.objectKey]),
    })),
  ];
}

interface BudgetRow {
  budget_id: string;
  window_start: number;
  mutations: number | null;
  objects: number | null;
  object_key: string | null;
}

/**
 * One write transaction shared by the jobs of a group commit. It holds the ledger head (locked
 * first, so writers of every process queue here and each sees the others' committed effects)
 * and hands out consecutive indexes; rows reach the table in one insert at the end.
 */
export class WriteBatch {
  readonly tx: SqlRunner;
  readonly #dialect: Dialect;
  readonly #start: number;
  readonly #rows: LedgerRowInsert[] = [];
  readonly #tallies = new Map<string, BudgetTally>();
  readonly #later = new Map<LaterTable, unknown[][]>();
  /** Leaf hash of the entry before the next one, linked into the next leaf as `prev`. */
  #prev: Buffer | undefined;

  /** Entries below this position are filed in ledger_keys (src/store/sql/ledger-keys.ts). */
  readonly #keyed: number;

  private constructor(tx: SqlRunner, dialect: Dialect, start: number, keyed: number, prev: Buffer | undefined) {
    this.tx = tx;
    this.#dialect = dialect;
    this.#start = start;
    this.#keyed = keyed;
    this.#prev = prev;
  }

  /**
   * Takes the ledger head and the last entry's hash in one statement (it has no parameters, so the
   * PostgreSQL driver sends it with the BEGIN: one round trip). On PostgreSQL a statement that waited
   * for the head's lock sees the new head row but, in its other parts, only what was committed when it
   * started: when another process's batch held the head, the entry it appended last is not there yet,
   * and a second statement, which sees it, reads its hash. A process never waits for its own batches.
   */
  static async begin(driver: SqlDriver, tx: SqlRunner): Promise<WriteBatch> {
    const [head] = await tx.query<{ size: number; keyed: number; leaf_hash: Buffer | null }>(
      `WITH h AS (SELECT size, keyed FROM ledger_head WHERE id = 1${driver.dialect.forUpdate})
       SELECT h.size, h.keyed, (SELECT leaf_hash FROM ledger WHERE idx = h.size - 1) AS leaf_hash FROM h`,
    );
    if (!head) throw new Error('ledger head missing: the schema was not migrated');
    const size = Number(head.size);
    let last = head.leaf_hash ?? undefined;
    if (size > 0 && !last) {
      const [row] = await tx.query<{ leaf_hash: Buffer }>('SELECT leaf_hash FROM ledger WHERE idx = ?', [size - 1]);
      last = row?.leaf_hash;
    }
    return new WriteBatch(tx, driver.dialect, size, Number(head.keyed), last);
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

  /**
   * Reads every budget window (and object) the batch's jobs will ask about in one statement, before
   * the first job runs: on PostgreSQL each lone read was a round trip made while holding the ledger
   * head, for every distinct agent in the batch. What is already known here is not read again.
   */
  async readBudgets(effects: readonly BudgetEffect[]): Promise<void> {
    const windows = new Map<string, BudgetEffect>();
    for (const e of effects) if (!this.#tallies.has(windowKey(e))) windows.set(windowKey(e), e);
    const unknown = new Map<string, BudgetEffect>();
    for (const e of effects)
      if (!this.#tallies.get(windowKey(e))?.seen.has(e.objectKey))
        unknown.set(`${windowKey(e)}\u0000${e.objectKey}`, e);
    const rows: BudgetRow[] = [];
    for (const read of budgetReads(this.#dialect, [...windows.values()], [...unknown.values()]))
      rows.push(...(await this.tx.query<BudgetRow>(read.sql, read.params)));
    const counters = new Map(
      rows.filter((r) => r.object_key === null).map((r) => [`${r.budget_id}\u0000${Number(r.window_start)}`, r]),
    );
    for (const [key, e] of windows) {
      const c = counters.get(key);
      const tally = { mutations: Number(c?.mutations ?? 0), objects: Number(c?.objects ?? 0), seen: new Map() };
      this.#tallies.set(key, { ...tally, effect: e, added: 0, newObjects: [] });
    }
    for (const e of unknown.values()) this.#tallies.get(windowKey(e))?.seen.set(e.objectKey, false);
    for (const r of rows)
      if (r.object_key !== null)
        this.#tallies.get(`${r.budget_id}\u0000${Number(r.window_start)}`)?.seen.set(r.object_key, true);
  }

  /**
   * The budget window of `e` with this batch's consumption included: jobs of one batch see each
   * other's consumption without a statement each, and the counters are written once, at the end.
   */
  async budget(e: BudgetEffect): Promise<BudgetTally> {
    if (!this.#tallies.get(windowKey(e))?.seen.has(e.objectKey)) await this.readBudgets([e]);
    return this.#tallies.get(windowKey(e)) as BudgetTally;
  }

  /** Counts one mutation of `e.objectKey` against its window (checked by the caller first). */
  consume(t: BudgetTally, objectKey: string): void {
    t.mutations += 1;
    t.added += 1;
    if (t.seen.get(objectKey)) return;
    t.objects += 1;
    t.seen.set(objectKey, true);
    t.newObjects.push(objectKey);
  }

  /** A row for an append-only table, written with the batch's others in one statement at the end. */
  insertLater(table: LaterTable, values: readonly unknown[]): void {
    let rows = this.#later.get(table);
    if (!rows) this.#later.set(table, (rows = []));
    rows.push([...values]);
  }

  /** Writes what the jobs left for the end (as the database does it best), then files the ledger's keys if due. */
  async finish(driver: SqlDriver): Promise<void> {
    const used = [...this.#tallies.values()].filter((t) => t.added > 0);
    const size = this.#start + this.#rows.length;
    const end: BatchEnd = {
      counters: used.map((t) => {
        const { budgetId, windowStart, windowMs, agent } = t.effect;
        return [budgetId, windowStart, windowMs, agent, t.added, t.newObjects.length] as const;
      }),
      budgetObjects: used.flatMap((t) =>
        t.newObjects.map((o) => [t.effect.budgetId, t.effect.windowStart, o] as const),
      ),
      seconds: eventCountRows(this.#later),
      later: this.#later,
      ledger: this.#rows,
      size,
    };
    await driver.dialect.writeBatchEnd(this.tx, end);
    if (this.#rows.length > 0) await fileKeys(this.tx, driver.dialect.types, this.#keyed, size);
  }
}

/** A job, and the budget windows it will consume from (read for the whole batch at once). */
export type Job<T> = ((batch: WriteBatch) => Promise<T>) & { readonly budgets?: readonly BudgetEffect[] };

interface Queued {
  readonly job: Job<unknown>;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
}

const MAX_BATCH = 2000;
/** How long a job submitted for "soon" may wait for a batch that runs anyway before it starts one. */
const SOON_MS = 25;

/** Now: the caller waits for this job (a decision). Soon: an observation after the fact, which rides along. */
export type Urgency = 'now' | 'soon';

/**
 * Group commit: jobs submitted while a transaction is in flight wait and then share the next
 * one, so one fsync (SQLite) or one round of statements (PostgreSQL) serves many callers.
 * Jobs submitted for "soon" start no transaction of their own for up to SOON_MS: they join the
 * next batch a "now" job starts (in submission order, before it), so a tool call's result leaf
 * shares the next call's commit instead of holding it up behind an fsync of its own.
 * A job must check before it writes and return a refusal rather than throw for expected
 * conflicts; a job that throws rolls its batch back, and the batch's jobs then run one by one
 * so only the faulty one fails.
 */
export class GroupCommitter {
  readonly #driver: SqlDriver;
  #queue: Queued[] = [];
  #soon: Queued[] = [];
  #soonTimer: NodeJS.Timeout | undefined;
  #draining: Promise<void> | undefined;

  constructor(driver: SqlDriver) {
    this.#driver = driver;
  }

  submit<T>(job: Job<T>, urgency: Urgency = 'now'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const q = { job, resolve: resolve as (v: unknown) => void, reject };
      if (urgency === 'soon') {
        this.#soon.push(q);
        this.#soonTimer ??= setTimeout(() => {
          this.#takeSoon();
          this.#start();
        }, SOON_MS);
        return;
      }
      this.#queue.push(q);
      this.#start();
    });
  }

  /** Starts draining (once): the callbacks of this turn of the event loop enqueue too before the batch starts. */
  #start(): void {
    this.#draining ??= new Promise<void>((done) => setImmediate(() => void this.#drain().finally(done)));
  }

  /** The waiting "soon" jobs, moved ahead of the queue: they were submitted before it. */
  #takeSoon(): void {
    if (this.#soon.length === 0) return;
    clearTimeout(this.#soonTimer);
    this.#soonTimer = undefined;
    this.#queue = [...this.#soon, ...this.#queue];
    this.#soon = [];
  }

  async #drain(): Promise<void> {
    this.#takeSoon();
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_BATCH);
      try {
        const results = await this.#run(batch);
        for (const [i, q] of batch.entries()) q.resolve(results[i]);
      } catch (err) {
        if (batch.length === 1) (batch[0] as Queued).reject(err);
        else for (const q of batch) await this.#run([q]).then(([r]) => q.resolve(r), q.reject);
      }
      if (this.#queue.length > 0) this.#takeSoon();
    }
    this.#draining = undefined;
  }

  /** Resolves once every submitted job has committed or failed ("soon" ones are started now). */
  async idle(): Promise<void> {
    if (this.#soon.length > 0) this.#start();
    while (this.#draining) await this.#draining;
  }

  #run(batch: readonly Queued[]): Promise<unknown[]> {
    return this.#driver.transaction(async (tx) => {
      const writes = await WriteBatch.begin(this.#driver, tx);
      await writes.readBudgets(batch.flatMap((q) => q.job.budgets ?? []));
      const results: unknown[] = [];
      for (const q of batch) results.push(await q.job(writes));
      await writes.finish(this.#driver);
      return results;
    });
  }
}
