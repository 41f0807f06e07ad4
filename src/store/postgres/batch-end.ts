// A group commit's end on PostgreSQL: every row in one statement. Each statement is a round trip
// made while the batch holds the ledger head, so the next batch waits for all of them; written a
// table at a time (src/store/sql/batch-end.ts) a batch's end was six to eight of them. Here each
// table's rows arrive as arrays and leave through unnest, one data-modifying common table expression
// per table, always all of them (an empty array inserts nothing): the statement's text never changes,
// so each connection prepares it once. The parts cannot see each other's rows, and none needs to:
// they write different tables, and filing the ledger's keys, which reads the new rows, comes after.
import {
  ADD_TO_COUNTERS,
  BUDGET_OBJECT_COLUMNS,
  type BatchEnd,
  COUNTER_COLUMNS,
  type ColumnType,
  LATER_COLUMNS,
  LATER_TABLES,
  LEDGER_COLUMNS,
} from '../sql/batch-end.ts';
import type { SqlRunner } from '../sql/driver.ts';
import { type LatePair, recordLatePairs, SECONDS_WITH_TOTALS, secondsParams } from '../sql/event-counts.ts';

type Columns = readonly (readonly [string, ColumnType])[];

function insertFromArrays(table: string, columns: Columns, tail = ''): string {
  const arrays = columns.map(([, type]) => `?::${type}[]`).join(', ');
  return `INSERT INTO ${table} (${columns.map(([c]) => c).join(', ')}) SELECT * FROM unnest(${arrays})${tail}`;
}

/** Column i of every row: the arrays unnest turns back into rows. */
function arrays(rows: readonly (readonly unknown[])[], width: number): unknown[][] {
  return Array.from({ length: width }, (_, i) => rows.map((r) => r[i]));
}

const STATEMENT = `WITH
  w_counters AS (${insertFromArrays('budget_counters', COUNTER_COLUMNS, ADD_TO_COUNTERS)}),
  w_budget_objects AS (${insertFromArrays('budget_objects', BUDGET_OBJECT_COLUMNS)}),
  ${LATER_TABLES.map((t) => `w_${t} AS (${insertFromArrays(t, LATER_COLUMNS[t])})`).join(',\n  ')},
  w_ledger AS (INSERT INTO ledger (${LEDGER_COLUMNS})
    SELECT i, a, k, ag, o, ob, ac, decode(h, 'hex'), d
    FROM unnest(?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])
      AS t(i, a, k, ag, o, ob, ac, h, d)),
  w_head AS (UPDATE ledger_head SET size = ? WHERE id = 1 AND size <> ?),
  ${SECONDS_WITH_TOTALS}
SELECT agent, kind FROM late`;

export async function writeBatchEndAtOnce(tx: SqlRunner, end: BatchEnd): Promise<void> {
  const ledger = end.ledger.map((r) => [
    r.index,
    r.at,
    r.kind,
    r.agent,
    r.owner,
    r.object,
    r.actor,
    r.leafHash.toString('hex'),
    r.data,
  ]);
  const late = await tx.query<LatePair>(STATEMENT, [
    ...arrays(end.counters, COUNTER_COLUMNS.length),
    ...arrays(end.budgetObjects, BUDGET_OBJECT_COLUMNS.length),
    ...LATER_TABLES.flatMap((t) => arrays(end.later.get(t) ?? [], LATER_COLUMNS[t].length)),
    ...arrays(ledger, 9),
    end.size,
    end.size,
    ...secondsParams(end.seconds),
  ]);
  await recordLatePairs(tx, end.seconds, late);
}
