import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { writeBatchEndInSteps } from '../sql/batch-end.ts';
import type { Dialect, SqlDriver, SqlRunner } from '../sql/driver.ts';
import { Checkpointer } from './checkpointer.ts';

type Db = Database.Database;
type Statement = Database.Statement<unknown[]>;

const sqliteDialect: Dialect = {
  name: 'sqlite',
  forUpdate: '',
  jsonArray: (pairs, from) => `(SELECT json_group_array(json_object(${pairs})) FROM ${from})`,
  jsonObject: (pairs, from) => `(SELECT json_object(${pairs}) FROM ${from})`,
  // In-process, a statement costs microseconds: one per table is as good as any.
  writeBatchEnd: (tx, end) => writeBatchEndInSteps(tx, sqliteDialect, end),
  // INTEGER PRIMARY KEY makes the ledger index SQLite's rowid: one B-tree fewer per append.
  types: {
    blob: 'BLOB',
    serial: 'INTEGER PRIMARY KEY',
    position: 'INTEGER PRIMARY KEY',
    inLogOrder: '',
    chainOf: "json_extract(data, '$.chain.id')",
    withoutRowid: ' WITHOUT ROWID',
  },
};

/**
 * The Checkpointer (its own thread and connection) copies the WAL back as it goes. But the WAL starts
 * over only when a commit finds it all copied, and under sustained writes that thread never catches
 * up: the WAL grew with every commit (~200 MB at 2,700 decisions/s), each into new blocks of the file.
 * Past this many pages the writing connection checkpoints after its commit, copying what the
 * Checkpointer has not yet, so the next commit starts the WAL over. That commit waits for the copy:
 * at SQLite's default of 1,000 pages one commit in ~40 did, ~4 ms each, which is a p99
 * (bench/store/wal-restart.ts). At 10,000 it is one in ~400 (15–19 ms: a p99.9), and the WAL stays
 * under ~40 MiB.
 */
export const WAL_RESTART_PAGES = 10_000;

/** The page size a new database gets (an existing one keeps its own). */
export const PAGE_BYTES = 4096;

/**
 * One connection with Tether's settings. `walRestartPages` is for bench/store/wal-restart.ts, which
 * sets it side by side with other values; everything else takes the default.
 */
export function openConnection(file: string, walRestartPages = WAL_RESTART_PAGES): Db {
  const db = new Database(file);
  // Before anything is written (an existing database keeps its own). 4 KiB: a lone commit (one gateway
  // call's decision) dirties a page in each of the ledger's indexes, and each costs a WAL frame; with
  // 16 KiB pages it wrote four times the bytes before its fsync (sequential commits, 3,000 in-process: p50 0.78 → 0.59 ms).
  db.pragma(`page_size = ${PAGE_BYTES}`);
  db.pragma('journal_mode = WAL');
  // FULL: a commit is on disk before it is acknowledged; group commit pays the fsync once per batch.
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 10000');
  // The ledger's secondary indexes take random keys (objects, agents): keep their pages cached.
  db.pragma('cache_size = -65536');
  db.pragma(`wal_autocheckpoint = ${walRestartPages}`);
  return db;
}

/**
 * Write transactions on one file take turns within this process. Statements are synchronous, but
 * a transaction awaits between them; were another connection of this process to BEGIN IMMEDIATE
 * then, it would block the event loop waiting for a lock only this same loop can release.
 */
const turns = new Map<string, Promise<unknown>>();

class Connection implements SqlRunner {
  readonly #db: Db;
  readonly #statements = new Map<string, Statement>();

  constructor(db: Db) {
    this.#db = db;
  }

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    let st = this.#statements.get(sql);
    if (!st) {
      st = this.#db.prepare<unknown[]>(sql);
      this.#statements.set(sql, st);
    }
    if (st.reader) return st.all(...params) as T[];
    st.run(...params);
    return [];
  }

  exec(sql: string): void {
    this.#db.exec(sql);
  }

  close(): void {
    this.#db.close();
  }
}

/**
 * SQLite through better-sqlite3: one connection writes (inside BEGIN IMMEDIATE, which takes the
 * database's write lock so other processes wait), another reads, so a read never sees a write
 * transaction that is still open and may yet roll back.
 */
export class SqliteDriver implements SqlDriver {
  readonly dialect = sqliteDialect;
  readonly #writer: Connection;
  readonly #reader: Connection;
  readonly #file: string;

  readonly #checkpointer: Checkpointer | undefined;

  /** `checkpoints`: run the Checkpointer beside the connections (once per store, not in its writer thread). */
  constructor(file: string, opts: { readonly checkpoints?: boolean } = {}) {
    mkdirSync(dirname(file), { recursive: true });
    this.#file = file;
    this.#writer = new Connection(openConnection(file));
    this.#reader = new Connection(openConnection(file));
    if (opts.checkpoints) this.#checkpointer = new Checkpointer(file);
  }

  query<T>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.#reader.query<T>(sql, params);
  }

  transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T> {
    const run = (turns.get(this.#file) ?? Promise.resolve()).then(() => this.#run(work));
    turns.set(
      this.#file,
      run.catch(() => undefined),
    );
    return run;
  }

  async #run<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T> {
    this.#writer.exec('BEGIN IMMEDIATE');
    try {
      const result = await work(this.#writer);
      this.#writer.exec('COMMIT');
      return result;
    } catch (err) {
      this.#writer.exec('ROLLBACK');
      throw err;
    }
  }

  async snapshot<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T> {
    // A connection of its own: the shared reader serves decisions, which must see the latest commits.
    const c = new Connection(openConnection(this.#file));
    try {
      c.exec('BEGIN');
      try {
        return await work(c);
      } finally {
        c.exec('COMMIT');
      }
    } finally {
      c.close();
    }
  }

  async close(): Promise<void> {
    await this.#checkpointer?.close();
    this.#writer.close();
    this.#reader.close();
  }
}
