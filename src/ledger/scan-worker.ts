// A thread that scans one range of the log for verifyStore and streams back what it recomputed.
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from '../store/open.ts';
import { scanRows } from './scan.ts';

const { location, from, to } = workerData as { location: string; from: number; to: number };
const port = parentPort;
if (!port) throw new Error('scan-worker.ts runs as a worker thread');
// Reads only: threads of its own (writer, checkpointer) would be torn down with this one when verify
// stops early, and a thread torn down while it loads SQLite's native module aborts the process.
const store = await openStore(location, { readsOnly: true });
try {
  for await (const chunk of scanRows(store, from, to)) port.postMessage(chunk);
  port.postMessage({ done: true });
} finally {
  await store.close();
}
