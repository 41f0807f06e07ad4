import { resolve } from 'node:path';
import { PostgresDriver } from './postgres/driver.ts';
import { SqliteDriver } from './sqlite/driver.ts';
import { SqlStore } from './sql/sql-store.ts';
import { ThreadWriter } from './sqlite/writer.ts';
import type { Store } from './store.ts';

export interface StoreOptions {
  /** PostgreSQL connections per process. */
  readonly poolSize?: number;
  /**
   * Where SQLite's writes (and their fsyncs) run: in a thread of their own ('thread', the default),
   * which frees the event loop under concurrent load (admission: 2,021 against 1,571 reviews/s), or
   * on the event loop ('loop'), where a lone write skips two hops between threads (the gateway, whose
   * agent waits for each call's decision: commit p50 0.55 against 0.74 ms, measured
   * with a per-call probe during bench/gateway). TETHER_SQLITE_WRITER overrides.
   */
  readonly sqliteWriter?: 'thread' | 'loop';
  /**
   * Only reads (a verify scan thread): SQLite gets neither a writer thread nor a checkpointer, which
   * belong to the process that writes.
   */
  readonly readsOnly?: boolean;
}

/** `postgres://…` (or `postgresql://…`) → PostgreSQL; `sqlite:/path/file.db` or a plain path → SQLite. Migrates on open. */
export function openStore(url: string, opts: StoreOptions = {}): Promise<Store> {
  if (/^postgres(ql)?:\/\//.test(url)) return SqlStore.open(new PostgresDriver(url, opts.poolSize), url);
  const path = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url;
  if (path === '' || /^[a-z][a-z0-9+.-]*:\/\//i.test(path))
    throw new Error(`not a store URL: ${url} (use sqlite:/path/file.db, a file path, or postgres://…)`);
  const file = resolve(path);
  // Reads stay on this thread (WAL: they never wait for a writer). bench/admission/README.md and
  // bench/gateway compare the two places for writes side by side.
  const onLoop = opts.readsOnly || (process.env.TETHER_SQLITE_WRITER ?? opts.sqliteWriter) === 'loop';
  return SqlStore.open(
    new SqliteDriver(file, { checkpoints: !opts.readsOnly }),
    `sqlite:${file}`,
    onLoop ? undefined : () => new ThreadWriter(file),
  );
}
