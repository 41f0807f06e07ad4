// The SQLite writer thread: owns the write connection, runs the jobs the event loop sends it in
// group-committed transactions (synchronous=FULL, so COMMIT returns after the fsync), and answers
// each job only once its transaction has committed. Nothing here waits on the event loop's thread,
// and the event loop never waits on a disk.
import { parentPort, workerData } from 'node:worker_threads';
import { Answerer } from '../../common/thread-calls.ts';
import type { BatchJobName, SoloJobName } from '../sql/jobs.ts';
import { LocalWriter } from '../sql/local-writer.ts';
import { SqliteDriver } from './driver.ts';
import type { JobCall, JobKind, ToWriter } from './writer.ts';

const port = parentPort;
if (!port) throw new Error('writer-thread.ts runs as a worker thread');
const driver = new SqliteDriver((workerData as { file: string }).file);
const writer = new LocalWriter(driver);

// Job names are checked where they are looked up (batchJob, soloJob in jobs.ts): only the store's own.
const methods: Record<JobKind, (c: JobCall) => Promise<unknown>> = {
  batch: (c) => writer.batch(c.name as BatchJobName, c.args as never, 'now'),
  soon: (c) => writer.batch(c.name as BatchJobName, c.args as never, 'soon'),
  solo: (c) => writer.solo(c.name as SoloJobName, c.args as never),
};
// Answers go back in one message per turn of this thread's loop: one per group commit.
const answerer = new Answerer(methods, (answers) => port.postMessage({ answers } satisfies ToWriter));

port.on('message', (m: ToWriter) => {
  if ('calls' in m) answerer.answer(m.calls);
  else if ('close' in m)
    void writer
      .close()
      .then(() => driver.close())
      .then(() => {
        answerer.flush(); // the last answers go before the word that the thread may be stopped
        port.postMessage({ closed: true } satisfies ToWriter);
      });
});
port.postMessage({ ready: true } satisfies ToWriter);
