// The ledger's keys: which entries name an agent, an owner, an object. They were three indexes on
// the ledger table, and each cost every commit a page per entry (keys spread over agents and
// objects land on different pages): half the WAL frames of a group commit (bench/admission/README.md).
// Now the entries below ledger_head.keyed are filed in ledger_keys, written in bulk once KEYS_EVERY
// entries wait (sorted, so one page takes many), and a query reads the rows above `keyed` by
// scanning them. Verify holds ledger_keys to the rows (ledgerKeyProblem), as it holds the rows'
// columns to their content: a key removed or moved would hide an entry from `ledger show --agent`.
import type { SqlRunner } from './driver.ts';

export const KEYED_COLUMNS = ['agent', 'owner', 'object'] as const;
export type KeyedColumn = (typeof KEYED_COLUMNS)[number];

/**
 * Entries that wait unfiled before a commit files them; a query scans at most this many rows (and a
 * batch). Filing 4,096 entries holds the writer ~19 ms (bench/admission, 2 cores) once every ~1.4 s at
 * 3,000 decisions/s: 0.4 % of the reviews wait for it. 512 held it 4 ms five times a second, and the
 * p99 was no better.
 */
export const KEYS_EVERY = 4096;

/** Inside a write transaction holding the ledger head: files entries [keyed, size) when enough wait. */
export async function fileKeys(tx: SqlRunner, keyed: number, size: number): Promise<void> {
  if (size - keyed < KEYS_EVERY) return;
  const arms = KEYED_COLUMNS.map(
    (c) =>
      `SELECT '${c}' AS key_column, ${c} AS key_value, idx FROM ledger WHERE idx >= ? AND idx < ? AND ${c} IS NOT NULL`,
  );
  await tx.query(
    `INSERT INTO ledger_keys (key_column, key_value, entry) ${arms.join(' UNION ALL ')} ORDER BY 1, 2, 3`,
    KEYED_COLUMNS.flatMap(() => [keyed, size]),
  );
  await tx.query('UPDATE ledger_head SET keyed = ? WHERE id = 1', [size]);
}

const KEYED_BELOW = '(SELECT keyed FROM ledger_head WHERE id = 1)';

/**
 * The rows of a ledger query filtered by a key column: the filed ones (through ledger_keys, in its
 * order) and the unfiled rows above `keyed`, merged in log order. `where` holds every filter, on
 * ledger columns (the key column's own included, which the unfiled arm needs).
 */
export function keyedLedgerSelect(
  key: KeyedColumn,
  value: string,
  where: { readonly sql: string; readonly params: readonly unknown[] },
  order: 'ASC' | 'DESC',
): { readonly sql: string; readonly params: readonly unknown[] } {
  // ledger_keys' column names differ from the ledger's, so `where` (on ledger columns) reads the same
  // in both arms, and the filed arm comes out in its primary key's order: no sort before the LIMIT.
  const also = where.sql.replace(/^ WHERE /, ' AND ');
  return {
    sql: `SELECT k.entry AS idx, data, leaf_hash FROM ledger_keys k JOIN ledger ON idx = k.entry
      WHERE k.key_column = '${key}' AND k.key_value = ? AND k.entry < ${KEYED_BELOW}${also}
      UNION ALL
      SELECT idx, data, leaf_hash FROM ledger WHERE idx >= ${KEYED_BELOW}${also}
      ORDER BY idx ${order}`,
    params: [value, ...where.params, ...where.params],
  };
}

const COLUMN_OF_KEY = `CASE k.key_column ${KEYED_COLUMNS.map((c) => `WHEN '${c}' THEN l.${c}`).join(' ')} END`;

/**
 * The first entry whose keys in ledger_keys differ from its columns (which verify already holds to
 * the entry's content): a key missing, moved or naming another value, a key too many, or a `keyed`
 * mark past the log, which would leave entries unfiled and unscanned. Undefined when they agree.
 * Every filed entry's keys are looked up (missing ones found); the keys are then only counted, since
 * with none missing, the primary key's uniqueness leaves room for no other key but a stray.
 */
export async function ledgerKeyProblem(db: SqlRunner): Promise<{ index: number; problem: string } | undefined> {
  const [head] = await db.query<{ size: number; keyed: number }>('SELECT size, keyed FROM ledger_head WHERE id = 1');
  const size = Number(head?.size ?? 0);
  const keyed = Number(head?.keyed ?? 0);
  if (keyed > size)
    return { index: size, problem: `the ledger's keys claim ${keyed} entries are filed, the log holds ${size}` };
  const missing = KEYED_COLUMNS.map(
    (c) => `SELECT idx, '${c}' AS key_column FROM ledger l WHERE idx < ? AND ${c} IS NOT NULL AND NOT EXISTS (
      SELECT 1 FROM ledger_keys k WHERE k.key_column = '${c}' AND k.key_value = l.${c} AND k.entry = l.idx)`,
  );
  const [first] = await db.query<{ idx: number; key_column: string }>(
    `SELECT idx, key_column FROM (${missing.join(' UNION ALL ')}) AS bad ORDER BY idx LIMIT 1`,
    KEYED_COLUMNS.map(() => keyed),
  );
  if (first) return misfiled(Number(first.idx), first.key_column);
  const [counts] = await db.query<{ keys: number; expected: number }>(
    `SELECT (SELECT count(*) FROM ledger_keys) AS keys,
      (SELECT ${KEYED_COLUMNS.map((c) => `count(${c})`).join(' + ')} FROM ledger WHERE idx < ?) AS expected`,
    [keyed],
  );
  if (Number(counts?.keys) === Number(counts?.expected)) return undefined;
  const [stray] = await db.query<{ idx: number; key_column: string }>(
    `SELECT k.entry AS idx, k.key_column AS key_column FROM ledger_keys k LEFT JOIN ledger l ON l.idx = k.entry
      WHERE k.entry >= ? OR l.idx IS NULL OR ${COLUMN_OF_KEY} IS NULL OR k.key_value <> ${COLUMN_OF_KEY}
      ORDER BY k.entry LIMIT 1`,
    [keyed],
  );
  return misfiled(Number(stray?.idx ?? keyed), stray?.key_column ?? 'agent');
}

function misfiled(index: number, column: string): { index: number; problem: string } {
  return {
    index,
    problem: `entry ${index} is misfiled in the ledger's ${column} keys: queries by ${column} would miss or misplace it`,
  };
}
