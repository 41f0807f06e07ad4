// The SQLite writer thread: owns the write connection, runs the jobs the event loop sends it in
// group-committed transactions (synchronous=FULL, so COMMIT returns after the fsync), and answers
// each job only once its transaction has committed. Nothing here waits on the event loop's thread,
// and the event loop never waits on a disk.
import { parentPort, workerData } from 'node:worker_threads';
import type { BatchJobName, SoloJobName } from '../sql/jobs.ts';
import { LocalWriter } from '../sql/local-writer.ts';
import { SqliteDriver } from './driver.ts';
import type { Done, ToWriter } from './writer.ts';

const port = parentPort;
if (!port) throw new Error('writer-thread.ts runs as a worker thread');
const driver = new SqliteDriver((workerData as { file: string }).file);
const writer = new LocalWriter(driver);

// Answers go back in one message per turn of this thread's loop: one per group commit.
let outbox: Done[] = [];
const reply = (d: Done) => {
  if (outbox.length === 0) setImmediate(flush);
  outbox.push(d);
};
function flush(): void {
  if (outbox.length === 0) return;
  const done = outbox;
  outbox = [];
  port?.postMessage({ done } satisfies ToWriter);
}

function failure(e: unknown): { message: string; name: string; stack?: string } {
  const err = e instanceof Error ? e : new Error(String(e));
  return { message: err.message, name: err.name, stack: err.stack };
}

port.on('message', (m: ToWriter) => {
  if ('close' in m) {
    void writer
      .close()
      .then(() => driver.close())
      .then(() => {
        flush(); // the last answers go before the word that the thread may be stopped
        port.postMessage({ closed: true } satisfies ToWriter);
      });
    return;
  }
  if (!('jobs' in m)) return;
  for (const j of m.jobs) {
    const run =
      j.kind === 'solo'
        ? writer.solo(j.name as SoloJobName, j.args as never)
        : writer.batch(j.name as BatchJobName, j.args as never, j.kind === 'soon' ? 'soon' : 'now');
    run.then(
      (value) => reply({ id: j.id, ok: true, value }),
      (e: unknown) => reply({ id: j.id, ok: false, error: failure(e) }),
    );
  }
});
port.postMessage({ ready: true } satisfies ToWriter);
