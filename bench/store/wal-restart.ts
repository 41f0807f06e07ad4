// What a SQLite commit costs when its WAL keeps growing, against one whose WAL starts over: the
// reason src/store/sqlite/driver.ts has the writing connection checkpoint past WAL_RESTART_PAGES. Under
// sustained writes the Checkpointer thread's PASSIVE checkpoints never caught up, so the WAL never
// started over and every commit appended to new blocks of the file (~200 MB in the admission bench).
// Three files opened as Tether opens them (openConnection: 4 KiB pages, WAL, synchronous=FULL), each
// with Tether's Checkpointer beside it (its own thread, a PASSIVE checkpoint every 100 ms), the same
// group commits (6 ledger-like rows each: a 1 KiB leaf and a randomly keyed index), in interleaved rounds:
//   growing      — the writing connection never checkpoints (the old 50,000 pages were never reached
//                  here): the WAL never starts over and each commit appends;
//   over at 1000 — wal_autocheckpoint = 1000 (SQLite's default): the WAL starts over every ~40 commits,
//                  and each time the commit that crosses it copies what the Checkpointer has not yet
//                  and syncs the database file, milliseconds that land on the p99;
//   over at 10000 — Tether's setting now: the same copy, ten times rarer (the WAL stays under ~40 MiB).
// Prints commit latency (p50, p99, p99.9) and the writing thread's CPU per commit, then ONE JSON line.
//   node bench/store/wal-restart.ts                     3 rounds of 2,000 commits per file
//   BENCH_ROUNDS=5 BENCH_COMMITS=2000 node bench/store/wal-restart.ts
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { Checkpointer } from '../../src/store/sqlite/checkpointer.ts';
import { openConnection } from '../../src/store/sqlite/driver.ts';
import { percentile, round } from '../support/stats.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const COMMITS = Number(process.env.BENCH_COMMITS ?? 2000);
const ROWS_PER_COMMIT = 6;

interface Target {
  readonly name: string;
  readonly file: string;
  readonly db: Database.Database;
  readonly insert: Database.Statement<unknown[]>;
  readonly checkpointer: Checkpointer;
  readonly latencies: number[];
  cpuMicros: number;
  commits: number;
}

function open(dir: string, name: string, autocheckpoint: number): Target {
  const file = join(dir, `${name.replaceAll(' ', '-')}.db`);
  const db = openConnection(file, autocheckpoint);
  db.exec('CREATE TABLE ledger (idx INTEGER PRIMARY KEY, agent TEXT NOT NULL, data BLOB NOT NULL)');
  db.exec('CREATE INDEX ledger_by_agent ON ledger (agent, idx)');
  const insert = db.prepare<unknown[]>('INSERT INTO ledger (agent, data) VALUES (?, ?)');
  const checkpointer = new Checkpointer(file);
  return { name, file, db, insert, checkpointer, latencies: [], cpuMicros: 0, commits: 0 };
}

async function commitRound(t: Target): Promise<void> {
  for (let i = 0; i < COMMITS; i++) {
    if (i % 50 === 0) await new Promise((r) => setImmediate(r)); // lets the checkpointer's messages in
    const rows = Array.from({ length: ROWS_PER_COMMIT }, () => [randomBytes(6).toString('hex'), randomBytes(1024)]);
    const cpu = process.threadCpuUsage();
    const start = performance.now();
    t.db.exec('BEGIN IMMEDIATE');
    for (const r of rows) t.insert.run(...r);
    t.db.exec('COMMIT');
    t.latencies.push((performance.now() - start) * 1000);
    const used = process.threadCpuUsage(cpu);
    t.cpuMicros += used.user + used.system;
    t.commits++;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tether-bench-wal-'));
const targets = [open(dir, 'growing', 0), open(dir, 'over at 1000', 1000), open(dir, 'over at 10000', 10_000)];
await new Promise((r) => setTimeout(r, 500)); // the checkpointer threads open their connections
try {
  for (let r = 0; r < ROUNDS; r++) for (const t of targets) await commitRound(t);
  const rows = targets.map((t) => {
    const sorted = Float64Array.from(t.latencies).sort();
    return {
      target: t.name,
      commits: t.commits,
      p50us: round(percentile(sorted, 50), 0),
      p99us: round(percentile(sorted, 99), 0),
      p999us: round(percentile(sorted, 99.9), 0),
      cpuMicrosPerCommit: round(t.cpuMicros / t.commits, 0),
      walMiB: round(statSync(`${t.file}-wal`).size / 1024 / 1024, 1),
    };
  });
  console.log(
    `SQLite commits of ${ROWS_PER_COMMIT} rows (synchronous=FULL), ${ROUNDS} interleaved rounds of ${COMMITS} per file`,
  );
  console.log(
    `  ${'WAL'.padEnd(13)} ${'p50 µs'.padStart(7)} ${'p99 µs'.padStart(7)} ${'p99.9 µs'.padStart(9)} ${'CPU µs'.padStart(7)} WAL at the end`,
  );
  for (const r of rows)
    console.log(
      `  ${r.target.padEnd(13)} ${String(r.p50us).padStart(7)} ${String(r.p99us).padStart(7)} ${String(r.p999us).padStart(9)} ${String(r.cpuMicrosPerCommit).padStart(7)} ${r.walMiB} MiB`,
    );
  console.log(JSON.stringify({ bench: 'wal-restart', rounds: ROUNDS, commitsPerRound: COMMITS, targets: rows }));
} finally {
  for (const t of targets) {
    await t.checkpointer.close();
    t.db.close();
  }
  rmSync(dir, { recursive: true, force: true });
}
