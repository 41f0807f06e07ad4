import type { SqlRunner } from './driver.ts';

/**
 * Rows per statement as powers of two (13 rows: 8 + 4 + 1), so the statement texts, which both
 * drivers prepare and keep, stay few.
 */
export function chunks<T>(rows: readonly T[], max = 256): T[][] {
  const out: T[][] = [];
  let i = 0;
  while (i < rows.length) {
    let n = max;
    while (n > rows.length - i) n >>= 1;
    out.push(rows.slice(i, i + n));
    i += n;
  }
  return out;
}

/** `head VALUES (…), (…)… tail` for every chunk of `rows` (each `width` values wide). */
export async function insertRows(
  tx: SqlRunner,
  head: string,
  width: number,
  rows: readonly (readonly unknown[])[],
  tail = '',
): Promise<void> {
  const one = `(${Array.from({ length: width }, () => '?').join(', ')})`;
  for (const chunk of chunks(rows))
    await tx.query(`${head} VALUES ${chunk.map(() => one).join(', ')}${tail}`, chunk.flat());
}
