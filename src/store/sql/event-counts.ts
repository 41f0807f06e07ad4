// Counts of an agent's mutations and violations, for the rate and breaker windows: the owner of how
// they are kept (event_seconds, one row per agent, kind and second) and read back (eventsSince). A
// window [since, now] is summed from the rows of its first, partial second (the mutations and
// violations tables, found by second) and the per-second counts of every whole second after it.
// Exact, and bounded by the window's length rather than by how many events the agent had in it; on
// SQLite the counts are stored in key order (migration 9), so a window's seconds share a few pages.
// Per-minute counts beside these (tried this round) made a five-minute window read 64 rows instead
// of 300, but bought SQLite nothing measurable and cost PostgreSQL ~10 % CPU per review: rows
// updated by every commit for a whole minute grow long chains of dead versions there.
import type { Part } from './snapshot.ts';
import type { LaterTable } from './write-batch.ts';

export type CountedTable = 'mutations' | 'violations';

const KIND: Record<CountedTable, string> = { mutations: 'mutation', violations: 'violation' };

/** How many of an agent's mutations (or violations) happened at or after `since` (ms). */
export function eventsSince(table: CountedTable, agent: string, since: number): Part {
  const firstWhole = Math.ceil(since / 1000);
  return {
    column: table,
    // The partial second's rows through their second first (migration 7), written as the index's expression.
    sql: `((SELECT coalesce(sum(n), 0) FROM event_seconds WHERE agent = ? AND kind = ? AND second >= ?)
      + (SELECT count(*) FROM ${table} WHERE (at / 1000) = ? AND agent = ? AND at >= ? AND at < ?))`,
    params: [agent, KIND[table], firstWhole, Math.floor(since / 1000), agent, since, firstWhole * 1000],
  };
}

/** A batch's mutation and violation rows as counts per second: [agent, kind, second, n]. */
export function eventCountRows(later: ReadonlyMap<LaterTable, unknown[][]>): [string, string, number, number][] {
  const counts = new Map<string, [string, string, number, number]>();
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
  return [...counts.values()];
}
