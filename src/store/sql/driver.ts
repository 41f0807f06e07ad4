// The seam between the shared SQL store and one database. SQL is written once with `?`
// placeholders; a driver runs it, and its dialect supplies the few fragments that differ.

import type { IndexedColumns } from '../../ledger/leaf.ts';
import type { BatchEnd } from './batch-end.ts';

export type Row = Record<string, unknown>;

export interface SqlRunner {
  /** Runs one statement; rows for SELECT/RETURNING, [] otherwise. */
  query<T = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

export interface Dialect {
  readonly name: 'sqlite' | 'postgres';
  /** Appended to the SELECT that takes the ledger head: row lock where the database needs one. */
  readonly forUpdate: string;
  /** A statement that makes concurrent openers migrate one at a time, where BEGIN alone does not. */
  readonly migrationLock?: string;
  /**
   * A scalar subquery yielding a JSON array (as text) of objects built from `pairs` over `from`, in no
   * particular order: a caller that needs one sorts the rows itself (snapshot.ts says why).
   */
  jsonArray(pairs: string, from: string): string;
  /** A scalar subquery yielding one JSON object (as text) or NULL. */
  jsonObject(pairs: string, from: string): string;
  /** Writes what a group commit leaves for its end (src/store/sql/batch-end.ts), in as few statements as suit the database. */
  writeBatchEnd(tx: SqlRunner, end: BatchEnd): Promise<void>;
  /**
   * DDL fragments: `blob` for bytes, `serial` for an auto-numbered primary key column,
   * `position` for the ledger index (the row's own key, so no second B-tree to maintain), and
   * `inLogOrder`, appended to a secondary index's columns so its entries sort by ledger index
   * (empty where the position already is the row id every index carries). `chainOf` is the
   * expression for a ledger row's chain id, read from its stored leaf (filed as a ledger key; queries repeat it).
   */
  readonly types: {
    readonly blob: string;
    readonly serial: string;
    readonly position: string;
    readonly inLogOrder: string;
    readonly chainOf: string;
    /** After a table whose primary key is all it holds: SQLite keeps it as that one B-tree. */
    readonly withoutRowid: string;
  };
}

/** A ledger row: the leaf's position, the columns it is indexed by (derived from it), its hash and text. */
export interface LedgerRowInsert extends IndexedColumns {
  readonly index: number;
  readonly leafHash: Buffer;
  readonly data: string;
}

export interface SqlDriver extends SqlRunner {
  readonly dialect: Dialect;
  /**
   * Runs `work` in one write transaction and commits it; rolls back if it throws. The database
   * serialises writers (SQLite: BEGIN IMMEDIATE; PostgreSQL: the ledger head row lock).
   */
  transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T>;
  /**
   * Runs `work`'s reads in one snapshot of the database, on a connection of its own: a check made of
   * several statements sees one moment while the server goes on writing (verify's keys check, which a
   * filing between two of its statements would otherwise show as misfiled keys).
   */
  snapshot<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
