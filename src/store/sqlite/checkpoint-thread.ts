// The SQLite checkpointer: folds the WAL back into the database file from a thread and a connection
// of its own. A PASSIVE checkpoint waits for no reader or writer and no writer waits for it, so no
// commit (and no decision waiting on one) ever pays for copying the WAL and the database's fsync.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const port = parentPort;
if (!port) throw new Error('checkpoint-thread.ts runs as a worker thread');
const { file, everyMs } = workerData as { file: string; everyMs: number };
const db = new Database(file);
db.pragma('synchronous = FULL');

const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy or gone: the next tick tries again, and the connections' own autocheckpoint is the backstop.
  }
}, everyMs);

port.on('message', (m: { close?: true }) => {
  if (!m.close) return;
  clearInterval(timer);
  db.close();
  port.postMessage({ closed: true });
});
port.postMessage({ ready: true });
