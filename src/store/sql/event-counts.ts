// Counts of an agent's mutations and violations, for the rate and breaker windows: the owner of how
// they are kept (event_seconds, one row per agent, kind and second) and read back (eventsSince). A
// window [since, now] is its first, partial second, counted from its rows (the mutations and
// violations tables, found by second), plus its whole seconds from event_seconds. Exact on both
// backends, and bounded by the window's length rather than by how many events the agent had in it.
//
// The whole seconds are read the way each backend does best (bench/store/state-read.ts):
// - SQLite sums the per-second counts. The counts are stored in key order (migration 9), so a
//   window's seconds share a few pages.
// - PostgreSQL keeps each row's running total of the agent's events through its second, so a
//   window is one difference of two rows: the last row's total, less what came before the window's
//   first row (its total less its n). Summing read one heap tuple per second: 300 for a five-minute
//   window. SQLite cannot do the same cheaply: the two lookups need ORDER BY … LIMIT 1, and SQLite
//   compiles such a statement again whenever its bound values change (snapshot.ts says more).
// Tried before: per-minute counts beside the per-second ones, which PostgreSQL paid for with rows
// updated by every commit for a whole minute.
import { insertRows } from './bulk-rows.ts';
import type { Dialect, SqlRunner } from './driver.ts';
import type { Part } from './snapshot.ts';
import type { LaterTable } from './batch-end.ts';

export type CountedTable = 'mutations' | 'violations';

const KIND: Record<CountedTable, string> = { mutations: 'mutation', violations: 'violation' };

/** [agent, kind, second, n]: one second's new events of one agent and kind. */
export type SecondCount = [string, string, number, number];

/** The window's whole seconds, from `firstWhole` on: SQL and its parameters. */
function wholeSeconds(d: Dialect, agent: string, kind: string, firstWhole: number): [string, unknown[]] {
  if (d.name === 'sqlite')
    return [
      '(SELECT coalesce(sum(n), 0) FROM event_seconds WHERE agent = ? AND kind = ? AND second >= ?)',
      [agent, kind, firstWhole],
    ];
  return [
    `coalesce((SELECT total FROM event_seconds WHERE agent = ? AND kind = ? ORDER BY second DESC LIMIT 1)
      - (SELECT total - n FROM event_seconds WHERE agent = ? AND kind = ? AND second >= ? ORDER BY second LIMIT 1), 0)`,
    [agent, kind, agent, kind, firstWhole],
  ];
}

/** How many of an agent's mutations (or violations) happened at or after `since` (ms). */
export function eventsSince(d: Dialect, table: CountedTable, agent: string, since: number): Part {
  const firstWhole = Math.ceil(since / 1000);
  const [whole, params] = wholeSeconds(d, agent, KIND[table], firstWhole);
  return {
    column: table,
    // The partial second's rows through their second first (migration 7), written as the index's expression.
    sql: `(${whole}
      + (SELECT count(*) FROM ${table} WHERE (at / 1000) = ? AND agent = ? AND at >= ? AND at < ?))`,
    params: [...params, Math.floor(since / 1000), agent, since, firstWhole * 1000],
  };
}

/** A batch's mutation and violation rows as counts per second, ordered by agent, kind and second. */
export function eventCountRows(later: ReadonlyMap<LaterTable, unknown[][]>): SecondCount[] {
  const counts = new Map<string, SecondCount>();
  const each = (table: CountedTable, at: (r: unknown[]) => number) => {
    for (const r of later.get(table) ?? []) {
      const agent = r[0] as string;
      const second = Math.floor(at(r) / 1000);
      const key = `${agent}\u0000${KIND[table]}\u0000${second}`;
      const c = counts.get(key);
      if (c) c[3]++;
      else counts.set(key, [agent, KIND[table], second, 1]);
    }
  };
  each('mutations', (r) => r[1] as number);
  each('violations', (r) => r[2] as number);
  const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...counts.values()].sort((a, b) => order(a[0], b[0]) || order(a[1], b[1]) || a[2] - b[2]);
}

/** Adds a batch's counts (from eventCountRows), as each backend keeps them. */
export async function recordEventCounts(tx: SqlRunner, d: Dialect, rows: readonly SecondCount[]): Promise<void> {
  if (rows.length === 0) return;
  if (d.name === 'sqlite')
    return insertRows(
      tx,
      'INSERT INTO event_seconds (agent, kind, second, n)',
      4,
      rows,
      ' ON CONFLICT (agent, kind, second) DO UPDATE SET n = event_seconds.n + excluded.n',
    );
  const late = await tx.query<LatePair>(
    `WITH ${SECONDS_WITH_TOTALS} SELECT agent, kind FROM late`,
    secondsParams(rows),
  );
  await recordLatePairs(tx, rows, late);
}

/**
 * PostgreSQL: common table expressions that add a batch's counts (four array parameters, from
 * secondsParams) keeping every row's running total, and name in `late` the agents and kinds they left
 * out. Counts at or after an agent's latest second, the usual case, follow on from that row's total.
 * A count for an earlier second (a clock that stepped back, replicas that disagree) also raises the
 * totals of every row after it: all of that agent's counts in the batch are left to recordLatePairs,
 * which takes them one statement each. Every part reads the table as it was before the statement, so
 * the latest row is the one earlier batches left.
 */
export const SECONDS_WITH_TOTALS = `seconds AS (
    SELECT * FROM unnest(?::text[], ?::text[], ?::bigint[], ?::bigint[]) AS s(agent, kind, second, n)),
  latest AS (
    SELECT p.agent, p.kind, x.second, x.total FROM (SELECT DISTINCT agent, kind FROM seconds) p
    LEFT JOIN LATERAL (SELECT e.second, e.total FROM event_seconds e
      WHERE e.agent = p.agent AND e.kind = p.kind ORDER BY e.second DESC LIMIT 1) x ON true),
  late AS (
    SELECT DISTINCT s.agent, s.kind FROM seconds s JOIN latest l USING (agent, kind) WHERE s.second < l.second),
  counted AS (
    INSERT INTO event_seconds (agent, kind, second, n, total)
    SELECT s.agent, s.kind, s.second, s.n,
      coalesce(l.total, 0) + sum(s.n) OVER (PARTITION BY s.agent, s.kind ORDER BY s.second)
    FROM seconds s JOIN latest l USING (agent, kind)
    WHERE NOT EXISTS (SELECT 1 FROM late x WHERE x.agent = s.agent AND x.kind = s.kind)
    ON CONFLICT (agent, kind, second) DO UPDATE SET n = event_seconds.n + excluded.n, total = excluded.total)`;

/** SECONDS_WITH_TOTALS' parameters: the counts as four arrays. */
export function secondsParams(rows: readonly SecondCount[]): unknown[][] {
  return [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]), rows.map((r) => r[3])];
}

export interface LatePair {
  readonly agent: string;
  readonly kind: string;
}

/** The counts SECONDS_WITH_TOTALS left out (those of the `late` pairs), in second order, a statement each. */
export async function recordLatePairs(
  tx: SqlRunner,
  rows: readonly SecondCount[],
  late: readonly LatePair[],
): Promise<void> {
  if (late.length === 0) return;
  const pairs = new Set(late.map((p) => pairKey(p.agent, p.kind)));
  for (const [agent, kind, second, n] of rows)
    if (pairs.has(pairKey(agent, kind))) await recordLate(tx, agent, kind, second, n);
}

const pairKey = (agent: string, kind: string) => `${agent}\u0000${kind}`;

async function recordLate(tx: SqlRunner, agent: string, kind: string, second: number, n: number): Promise<void> {
  await tx.query('UPDATE event_seconds SET total = total + ? WHERE agent = ? AND kind = ? AND second > ?', [
    n,
    agent,
    kind,
    second,
  ]);
  await tx.query(
    `INSERT INTO event_seconds (agent, kind, second, n, total)
      VALUES (?, ?, ?, ?, ? + coalesce((SELECT total FROM event_seconds
        WHERE agent = ? AND kind = ? AND second < ? ORDER BY second DESC LIMIT 1), 0))
      ON CONFLICT (agent, kind, second) DO UPDATE
        SET n = event_seconds.n + excluded.n, total = event_seconds.total + excluded.n`,
    [agent, kind, second, n, n, agent, kind, second],
  );
}
