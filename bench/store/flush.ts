// What one durable flush costs on this machine's disk, with nothing else running: the floor under
// every decision Tether commits before it answers (a gateway call's commit writes ~5 WAL frames of
// 4 KiB and syncs them). Each target overwrites 20 KiB in a preallocated file (as SQLite overwrites
// its WAL after it starts over) and then:
//   write only — no flush: the floor of the write itself;
//   fsync      — what SQLite's unix VFS calls (better-sqlite3 is built without HAVE_FDATASYNC);
//   fdatasync  — what it would call with it: no flush of the file's metadata.
// One operation per BENCH_SPACING_MS (1 ms: a call at a time), targets in turn, 500 at a time, so that
// drift on the machine hits them alike. TMPDIR=/dev/shm shows a flush that costs nothing.
// Prints p50, p90, p99, p99.9 and max per target, then ONE JSON line.
//   node bench/store/flush.ts                     4 rounds × 500 operations per target, ~10 s
//   BENCH_ROUNDS=10 node bench/store/flush.ts
import { closeSync, fdatasyncSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { percentile, round } from '../support/stats.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const PER_ROUND = Number(process.env.BENCH_OPS ?? 500);
const SPACING_MS = Number(process.env.BENCH_SPACING_MS ?? 1);
const WRITE = Buffer.alloc(20 * 1024, 7);
const SLOTS = 2000; // a 40 MiB file, overwritten in turn

interface Target {
  readonly name: string;
  readonly flush: (fd: number) => void;
  readonly fd: number;
  readonly micros: number[];
  next: number;
}

const dir = mkdtempSync(join(tmpdir(), 'tether-bench-flush-'));

function open(name: string, flush: (fd: number) => void): Target {
  const fd = openSync(join(dir, `${name}.bin`), 'w+');
  for (let i = 0; i < SLOTS; i++) writeSync(fd, WRITE, 0, WRITE.length, i * WRITE.length);
  fsyncSync(fd);
  return { name, flush, fd, micros: [], next: 0 };
}

async function runRound(t: Target): Promise<void> {
  for (let i = 0; i < PER_ROUND; i++) {
    const started = process.hrtime.bigint();
    writeSync(t.fd, WRITE, 0, WRITE.length, (t.next++ % SLOTS) * WRITE.length);
    t.flush(t.fd);
    t.micros.push(Number(process.hrtime.bigint() - started) / 1000);
    await sleep(SPACING_MS);
  }
}

const targets = [open('write only', () => undefined), open('fsync', fsyncSync), open('fdatasync', fdatasyncSync)];
try {
  for (let r = 0; r < ROUNDS; r++) for (const t of targets) await runRound(t);
  const rows = targets.map((t) => {
    const sorted = Float64Array.from(t.micros).sort();
    const at = (p: number) => round(percentile(sorted, p) / 1000, 3);
    return { target: t.name, p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: at(100) };
  });
  console.log(
    `20 KiB overwritten and flushed, ${ROUNDS} rounds × ${PER_ROUND} per target, ${SPACING_MS} ms apart, in ${dir}`,
  );
  console.log(`${'target'.padEnd(12)}${['p50', 'p90', 'p99', 'p99.9', 'max'].map((h) => h.padStart(10)).join('')}`);
  for (const r of rows)
    console.log(
      `${r.target.padEnd(12)}${[r.p50, r.p90, r.p99, r.p999, r.max].map((v) => `${v.toFixed(3)} ms`.padStart(10)).join('')}`,
    );
  console.log(JSON.stringify({ bench: 'flush', rounds: ROUNDS, perRound: PER_ROUND, spacingMs: SPACING_MS, rows }));
} finally {
  for (const t of targets) closeSync(t.fd);
  rmSync(dir, { recursive: true, force: true });
}
