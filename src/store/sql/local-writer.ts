import {
  type BatchJobName,
  batchJob,
  type JobArgs,
  type JobResult,
  type SoloJobName,
  soloJob,
  type Writer,
} from './jobs.ts';
import type { SqlDriver } from './driver.ts';
import { GroupCommitter, type Urgency } from './write-batch.ts';

/**
 * Writes on the calling thread: group commit over the driver's own transactions. Right for
 * PostgreSQL, whose driver already waits for the database off the event loop; the SQLite writer
 * thread runs one of these too, around its own connection.
 */
export class LocalWriter implements Writer {
  readonly #driver: SqlDriver;
  readonly #group: GroupCommitter;

  constructor(driver: SqlDriver) {
    this.#driver = driver;
    this.#group = new GroupCommitter(driver);
  }

  batch<K extends BatchJobName>(name: K, args: JobArgs<K>, urgency?: Urgency): Promise<JobResult<K>> {
    return this.#group.submit(batchJob(name, args), urgency);
  }

  solo<K extends SoloJobName>(name: K, args: JobArgs<K>): Promise<JobResult<K>> {
    return this.#driver.transaction(soloJob(name, args));
  }

  async close(): Promise<void> {
    await this.#group.idle();
  }
}
