// Counts of an agent's mutations and violations, for the rate and breaker windows. The owner of how
// they are kept (event_seconds) and read back (eventsSince). A window [since, now] is summed from:
//   - the rows of its first, partial second (the mutations and violations tables, found by second);
//   - per-second counts, from its first whole second up to the first whole minute;
//   - per-minute counts from there on (rows of kind `mutation/60`, keyed by the minute's first second).
// Exact, and bounded: at most 59 seconds and one row per minute, where summing every second of a
// five-minute breaker window read 300 rows on the event loop for every decision (25 µs, a tenth of
// the main thread's work per review in bench/admission).
import type { Part } from './snapshot.ts';
import type { LaterTable } from './write-batch.ts';

export type CountedTable = 'mutations' | 'violations';

const KIND: Record<CountedTable, string> = { mutations: 'mutation', violations: 'violation' };
const MINUTE = 60;
const minuteKind = (kind: string) => `${kind}/${MINUTE}`;

/** How many of an agent's mutations (or violations) happened at or after `since` (ms). */
export function eventsSince(table: CountedTable, agent: string, since: number): Part {
  const kind = KIND[table];
  const firstWhole = Math.ceil(since / 1000);
  const firstMinute = Math.ceil(firstWhole / MINUTE) * MINUTE;
  const count = 'SELECT coalesce(sum(n), 0) FROM event_seconds WHERE agent = ? AND kind = ?';
  return {
    column: table,
    // The partial second's rows through their second first (migration 7), written as the index's expression.
    sql: `((${count} AND second >= ? AND second < ?) + (${count} AND second >= ?)
      + (SELECT count(*) FROM ${table} WHERE (at / 1000) = ? AND agent = ? AND at >= ? AND at < ?))`,
    params: [
      ...[agent, kind, firstWhole, firstMinute],
      ...[agent, minuteKind(kind), firstMinute],
      ...[Math.floor(since / 1000), agent, since, firstWhole * 1000],
    ],
  };
}

/** A batch's mutation and violation rows as counts per second and per minute: [agent, kind, second, n]. */
export function eventCountRows(later: ReadonlyMap<LaterTable, unknown[][]>): [string, string, number, number][] {
  const counts = new Map<string, [string, string, number, number]>();
  const add = (agent: string, kind: string, second: number) => {
    const key = `${agent}\u0000${kind}\u0000${second}`;
    const c = counts.get(key);
    if (c) c[3]++;
    else counts.set(key, [agent, kind, second, 1]);
  };
  const each = (table: CountedTable, at: (r: unknown[]) => number) => {
    for (const r of later.get(table) ?? []) {
      const second = Math.floor(at(r) / 1000);
      add(r[0] as string, KIND[table], second);
      add(r[0] as string, minuteKind(KIND[table]), second - (second % MINUTE));
    }
  };
  each('mutations', (r) => r[1] as number);
  each('violations', (r) => r[2] as number);
  return [...counts.values()];
}
