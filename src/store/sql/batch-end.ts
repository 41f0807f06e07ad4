// What a group commit writes once its jobs are done, and the plain way to write it: a statement per
// table. Each backend's dialect chooses how (Dialect.writeBatchEnd): SQLite runs these statements
// in-process, where one costs microseconds; PostgreSQL sends the same rows as one statement
// (src/store/postgres/batch-end.ts), since each statement there is a round trip made while the batch
// holds the ledger head, and the next batch waits for all of them.
import { insertRows } from './bulk-rows.ts';
import type { Dialect, LedgerRowInsert, SqlRunner } from './driver.ts';
import { recordEventCounts, type SecondCount } from './event-counts.ts';

/** Append-only tables that no job reads back inside a batch: their rows wait for the batch's end. */
export type LaterTable = 'mutations' | 'violations' | 'proposals' | 'field_changes' | 'chain_calls';

export type ColumnType = 'text' | 'bigint';

/** Each later table's columns, in the order a job gives the values, with their types. */
export const LATER_COLUMNS: Record<LaterTable, readonly (readonly [string, ColumnType])[]> = {
  mutations: [
    ['agent', 'text'],
    ['at', 'bigint'],
  ],
  violations: [
    ['agent', 'text'],
    ['rule', 'text'],
    ['at', 'bigint'],
  ],
  proposals: [
    ['agent', 'text'],
    ['action_digest', 'text'],
    ['rules', 'text'],
    ['at', 'bigint'],
    ['ledger_index', 'bigint'],
  ],
  field_changes: [
    ['object_key', 'text'],
    ['field', 'text'],
    ['value', 'text'],
    ['actor', 'text'],
    ['at', 'bigint'],
  ],
  chain_calls: [
    ['chain_id', 'text'],
    ['parent', 'text'],
    ['callee', 'text'],
    ['at', 'bigint'],
  ],
};

export const LATER_TABLES = Object.keys(LATER_COLUMNS) as LaterTable[];

/** [budget id, window start, window ms, agent, mutations added, objects added] */
export type CounterRow = readonly [string, number, number, string, number, number];
/** [budget id, window start, object key] */
export type BudgetObjectRow = readonly [string, number, string];

export const COUNTER_COLUMNS: readonly (readonly [string, ColumnType])[] = [
  ['budget_id', 'text'],
  ['window_start', 'bigint'],
  ['window_ms', 'bigint'],
  ['agent', 'text'],
  ['mutations', 'bigint'],
  ['objects', 'bigint'],
];
export const BUDGET_OBJECT_COLUMNS: readonly (readonly [string, ColumnType])[] = [
  ['budget_id', 'text'],
  ['window_start', 'bigint'],
  ['object_key', 'text'],
];
/** A window's counters already written by an earlier batch are added to, not replaced. */
export const ADD_TO_COUNTERS =
  ' ON CONFLICT (budget_id, window_start) DO UPDATE SET mutations = budget_counters.mutations + excluded.mutations, objects = budget_counters.objects + excluded.objects';

export const LEDGER_COLUMNS = 'idx, at, kind, agent, owner, object, actor, leaf_hash, data';

/** Everything a batch writes at its end; `size` is the ledger head's new size (rows were appended from size − rows). */
export interface BatchEnd {
  readonly counters: readonly CounterRow[];
  readonly budgetObjects: readonly BudgetObjectRow[];
  readonly seconds: readonly SecondCount[];
  readonly later: ReadonlyMap<LaterTable, readonly (readonly unknown[])[]>;
  readonly ledger: readonly LedgerRowInsert[];
  readonly size: number;
}

const names = (columns: readonly (readonly [string, ColumnType])[]) => columns.map(([c]) => c).join(', ');

/** A statement per table (and per chunk of rows), in the order the tables depend on nothing else. */
export async function writeBatchEndInSteps(tx: SqlRunner, d: Dialect, end: BatchEnd): Promise<void> {
  if (end.counters.length > 0)
    await insertRows(tx, `INSERT INTO budget_counters (${names(COUNTER_COLUMNS)})`, 6, end.counters, ADD_TO_COUNTERS);
  if (end.budgetObjects.length > 0)
    await insertRows(tx, `INSERT INTO budget_objects (${names(BUDGET_OBJECT_COLUMNS)})`, 3, end.budgetObjects);
  await recordEventCounts(tx, d, end.seconds);
  for (const [table, rows] of end.later)
    if (rows.length > 0)
      await insertRows(tx, `INSERT INTO ${table} (${names(LATER_COLUMNS[table])})`, LATER_COLUMNS[table].length, rows);
  if (end.ledger.length === 0) return;
  await insertRows(
    tx,
    `INSERT INTO ledger (${LEDGER_COLUMNS})`,
    9,
    end.ledger.map((r) => [r.index, r.at, r.kind, r.agent, r.owner, r.object, r.actor, r.leafHash, r.data]),
  );
  await tx.query('UPDATE ledger_head SET size = ? WHERE id = 1', [end.size]);
}
