// The ledger's keys: which entries name an agent, an owner, an object, a kind, a chain. They were
// indexes on the ledger table, and each cost every commit a page per distinct key (agents, objects
// and chains land on different pages, each kind has its own end): most of the WAL frames of a group
// commit (bench/admission/README.md). Now the entries below ledger_head.keyed are filed in
// ledger_keys, written in bulk once KEYS_EVERY entries wait (sorted, so one page takes many), and a
// query reads the rows above `keyed` by scanning them. Verify holds ledger_keys to the rows
// (ledgerKeyProblem), as it holds the rows' columns to their content: a key removed or moved would
// hide an entry from `ledger show --agent` or a chain's tree.
import type { Dialect, SqlRunner } from './driver.ts';

export const LEDGER_KEYS = ['agent', 'owner', 'object', 'kind', 'chain'] as const;
export type LedgerKey = (typeof LEDGER_KEYS)[number];

/** A key's value in the ledger row `l`: its column, or for the chain, the id inside the stored leaf (`data`). */
function rowValue(key: LedgerKey, types: Dialect['types']): string {
  return key === 'chain' ? types.chainOf : `l.${key}`;
}

/**
 * Entries that wait unfiled before a commit files them; a query scans at most this many rows (and a
 * batch). Filing 4,096 entries holds the writer ~19 ms (bench/admission, 2 cores) once every ~1.4 s at
 * 3,000 decisions/s: 0.4 % of the reviews wait for it. 512 held it 4 ms five times a second, and the
 * p99 was no better.
 */
export const KEYS_EVERY = 4096;

/** Inside a write transaction holding the ledger head: files entries [keyed, size) when enough wait. */
export async function fileKeys(tx: SqlRunner, types: Dialect['types'], keyed: number, size: number): Promise<void> {
  if (size - keyed < KEYS_EVERY) return;
  const arms = LEDGER_KEYS.map((key) => {
    const value = rowValue(key, types);
    return `SELECT '${key}' AS key_column, ${value} AS key_value, idx FROM ledger l
      WHERE idx >= ? AND idx < ? AND ${value} IS NOT NULL`;
  });
  await tx.query(
    `INSERT INTO ledger_keys (key_column, key_value, entry) ${arms.join(' UNION ALL ')} ORDER BY 1, 2, 3`,
    LEDGER_KEYS.flatMap(() => [keyed, size]),
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
  key: LedgerKey,
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

/** In a query over ledger_keys k joined to ledger l: the value the row holds for k's key. */
function valueOfRowFor(types: Dialect['types']): string {
  return `CASE k.key_column ${LEDGER_KEYS.map((key) => `WHEN '${key}' THEN ${rowValue(key, types)}`).join(' ')} END`;
}

/**
 * The first entry whose keys in ledger_keys differ from its columns (which verify already holds to
 * the entry's content): a key missing, moved or naming another value, a key too many, or a `keyed`
 * mark past the log, which would leave entries unfiled and unscanned. Undefined when they agree.
 * Every filed entry's keys are looked up in one pass in log order (the chain key is read from the
 * stored leaf, so the pass reads the rows, and stops at the first entry missing one); the keys are
 * then only counted, since with none missing, the primary key leaves room for no other key but a stray.
 */
export async function ledgerKeyProblem(
  db: SqlRunner,
  types: Dialect['types'],
): Promise<{ index: number; problem: string } | undefined> {
  const [head] = await db.query<{ size: number; keyed: number }>('SELECT size, keyed FROM ledger_head WHERE id = 1');
  const size = Number(head?.size ?? 0);
  const keyed = Number(head?.keyed ?? 0);
  if (keyed > size)
    return { index: size, problem: `the ledger's keys claim ${keyed} entries are filed, the log holds ${size}` };
  const lacks = LEDGER_KEYS.map((key) => {
    const v = rowValue(key, types);
    return [
      key,
      `${v} IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM ledger_keys k WHERE k.key_column = '${key}' AND k.key_value = ${v} AND k.entry = l.idx)`,
    ] as const;
  });
  const [first] = await db.query<{ idx: number; key_column: string }>(
    `SELECT idx, CASE ${lacks.map(([key, lack]) => `WHEN ${lack} THEN '${key}'`).join(' ')} END AS key_column
      FROM ledger l WHERE idx < ? AND (${lacks.map(([, lack]) => `(${lack})`).join(' OR ')}) ORDER BY idx LIMIT 1`,
    [keyed],
  );
  if (first) return misfiled(Number(first.idx), first.key_column);
  const [counts] = await db.query<{ keys: number; expected: number }>(
    `SELECT (SELECT count(*) FROM ledger_keys) AS keys,
      (SELECT ${LEDGER_KEYS.map((key) => `count(${rowValue(key, types)})`).join(' + ')} FROM ledger l WHERE idx < ?)
      AS expected`,
    [keyed],
  );
  if (Number(counts?.keys) === Number(counts?.expected)) return undefined;
  const value = valueOfRowFor(types);
  const [stray] = await db.query<{ idx: number; key_column: string }>(
    `SELECT k.entry AS idx, k.key_column AS key_column FROM ledger_keys k LEFT JOIN ledger l ON l.idx = k.entry
      WHERE k.entry >= ? OR l.idx IS NULL OR ${value} IS NULL OR k.key_value <> ${value}
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
