// The state read every decision makes (src/store/sql/snapshot.ts: one statement), at steady state:
// 20 agents that have each made mutations and violations every second for longer than their windows
// (rate 60 s, breaker 300 s), written second by second as a running server writes them. The same
// history is read in migration 8's schema, as it read it (every whole second summed: the peer in this
// run), and in the current one (SQLite: counts in key order; PostgreSQL: running totals), on SQLite,
// and on PostgreSQL when BENCH_PG_URL (or TETHER_TEST_PG_URL) is set. Each also reads for a hop of an
// agent chain (the parent call's callees too), the read whose ORDER BY made SQLite compile the
// statement anew every time. Bounded; ends with one JSON line.
//   node bench/store/state-read.ts                 600 s of history, 5,000 reads per layout
//   BENCH_SECONDS=1200 BENCH_READS=20000 node bench/store/state-read.ts
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Action } from '../../src/engine/action.ts';
import { PostgresDriver } from '../../src/store/postgres/driver.ts';
import type { Dialect, SqlDriver } from '../../src/store/sql/driver.ts';
import { recordEventCounts, type SecondCount } from '../../src/store/sql/event-counts.ts';
import { migrate } from '../../src/store/sql/migrations.ts';
import { readState } from '../../src/store/sql/snapshot.ts';
import { SqliteDriver } from '../../src/store/sqlite/driver.ts';
import type { AgentStateNeeds } from '../../src/store/store.ts';
import { percentile, round } from '../support/stats.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 600);
const READS = Number(process.env.BENCH_READS ?? 5_000);
const AGENTS = 20;
const MUTATIONS_PER_SECOND = 4;
const PG_URL = process.env.BENCH_PG_URL ?? process.env.TETHER_TEST_PG_URL;
const NOW = Date.UTC(2026, 10, 29, 12, 0, 0);

const action: Action = {
  source: 'admission',
  subject: { username: 'system:serviceaccount:agents:bot-0', groups: [] },
  verb: 'update',
  target: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'shop', name: 'web-0' },
};
const needs = (agent: string): AgentStateNeeds => ({
  name: agent,
  budgets: [],
  rateWindowMs: 60_000,
  breakerWindowMs: 300_000,
});

/** Migration 8's schema, read as it read it (windows summed), or the current schema and reading. */
type Layout = 'migration 8' | 'current';

/** The dialect a layout reads with: migration 8 summed the per-second counts on both backends. */
const readingOf = (db: SqlDriver, layout: Layout): Dialect =>
  layout === 'migration 8' ? { ...db.dialect, name: 'sqlite' } : db.dialect;

/** SECONDS of history ending at NOW, one transaction per second, every agent's rows in it. */
async function fill(db: SqlDriver, layout: Layout): Promise<void> {
  for (let s = Math.floor(NOW / 1000) - SECONDS; s <= Math.floor(NOW / 1000); s++) {
    await db.transaction(async (tx) => {
      const mutations: unknown[] = [];
      const violations: unknown[] = [];
      const counts: SecondCount[] = [];
      for (let a = 0; a < AGENTS; a++) {
        for (let k = 0; k < MUTATIONS_PER_SECOND; k++) mutations.push(`bot-${a}`, s * 1000 + k * 200);
        violations.push(`bot-${a}`, 'boundary/rule', s * 1000 + 100);
        counts.push([`bot-${a}`, 'mutation', s, MUTATIONS_PER_SECOND], [`bot-${a}`, 'violation', s, 1]);
      }
      const values = (n: number, width: number) =>
        Array.from({ length: n }, () => `(${Array(width).fill('?').join(', ')})`).join(', ');
      await tx.query(`INSERT INTO mutations (agent, at) VALUES ${values(mutations.length / 2, 2)}`, mutations);
      await tx.query(`INSERT INTO violations (agent, rule, at) VALUES ${values(AGENTS, 3)}`, violations);
      // As each schema's own write path keeps them.
      if (layout === 'migration 8')
        await tx.query(
          `INSERT INTO event_seconds (agent, kind, second, n) VALUES ${values(AGENTS * 2, 4)}`,
          counts.flat(),
        );
      else await recordEventCounts(tx, db.dialect, counts);
    });
  }
}

/** A hop of an agent → tool → agent chain: its decision also reads the callees of its parent call. */
const chained = (i: number): Action => ({
  ...action,
  source: 'mcp',
  chain: { id: `trace-${i % 50}`, depth: 1, path: ['planner'], parentActionId: `call-${i}` },
});

async function timed(read: (i: number) => Promise<unknown>) {
  for (let i = 0; i < 500; i++) await read(i);
  const us = new Float64Array(READS);
  for (let i = 0; i < READS; i++) {
    const t = performance.now();
    await read(i);
    us[i] = (performance.now() - t) * 1000;
  }
  us.sort();
  return { p50: round(percentile(us, 50), 1), p99: round(percentile(us, 99), 1) };
}

async function measure(name: string, db: SqlDriver, d: Dialect) {
  // Read at NOW + 500 ms: 60 whole seconds of the window, and the last event (600 ms) of its first second.
  const expectMutations = 60 * MUTATIONS_PER_SECOND + 1;
  const check = await readState(db, d, needs('bot-0'), action, NOW + 500);
  const counted = check.mutationsSince('bot-0', NOW + 500 - 60_000);
  if (counted !== expectMutations)
    throw new Error(`${name}: the rate window counted ${counted}, not ${expectMutations}`);
  const read = (a: (i: number) => Action) => (i: number) =>
    readState(db, d, needs(`bot-${i % AGENTS}`), a(i), NOW + 500);
  return [
    { name, ...(await timed(read(() => action))) },
    { name: `${name}, chained call`, ...(await timed(read(chained))) },
  ];
}

async function sqlite(dir: string, layout: Layout) {
  const db = new SqliteDriver(join(dir, `${layout.replace(/\W+/g, '-')}.db`));
  await migrate(db, layout === 'migration 8' ? 8 : undefined);
  await fill(db, layout);
  // A running server's Checkpointer keeps the WAL short: reads find their pages in the database file.
  await db.query('PRAGMA wal_checkpoint(TRUNCATE)');
  try {
    return await measure(`SQLite, ${layout}`, db, readingOf(db, layout));
  } finally {
    await db.close();
  }
}

async function postgres(url: string, layout: Layout) {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const dbName = `tether_bench_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${dbName}`);
  const u = new URL(url);
  u.pathname = `/${dbName}`;
  const db = new PostgresDriver(u.toString());
  try {
    await migrate(db, layout === 'migration 8' ? 8 : undefined);
    await fill(db, layout);
    await db.query('ANALYZE');
    return await measure(`PostgreSQL, ${layout}`, db, readingOf(db, layout));
  } finally {
    await db.close();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tether-state-read-'));
try {
  console.log(`state read of one decision: ${AGENTS} agents, ${SECONDS} s of history, windows 60 s and 300 s`);
  const rows = [
    ...(await sqlite(dir, 'migration 8')),
    ...(await sqlite(dir, 'current')),
    ...(PG_URL ? [...(await postgres(PG_URL, 'migration 8')), ...(await postgres(PG_URL, 'current'))] : []),
  ];
  for (const r of rows) console.log(`${r.name.padEnd(44)} p50 ${String(r.p50).padStart(6)} µs  p99 ${r.p99} µs`);
  for (const backend of ['SQLite', 'PostgreSQL']) {
    const [old, now] = [`${backend}, migration 8`, `${backend}, current`].map((n) => rows.find((r) => r.name === n));
    if (old && now)
      console.log(
        `${backend} current / migration 8: p50 ${round(now.p50 / old.p50)}×, p99 ${round(now.p99 / old.p99)}×`,
      );
  }
  console.log(JSON.stringify({ bench: 'state-read', seconds: SECONDS, reads: READS, agents: AGENTS, rows }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
