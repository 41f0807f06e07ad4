import { resolve } from 'node:path';
import { PostgresDriver } from './postgres/driver.ts';
import { SqliteDriver } from './sqlite/driver.ts';
import { SqlStore } from './sql/sql-store.ts';
import { ThreadWriter } from './sqlite/writer.ts';
import type { Store } from './store.ts';

export interface StoreOptions {
  /** PostgreSQL connections per process. */
  readonly poolSize?: number;
}

/** `postgres://…` (or `postgresql://…`) → PostgreSQL; `sqlite:/path/file.db` or a plain path → SQLite. Migrates on open. */
export function openStore(url: string, opts: StoreOptions = {}): Promise<Store> {
  if (/^postgres(ql)?:\/\//.test(url)) return SqlStore.open(new PostgresDriver(url, opts.poolSize), url);
  const path = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url;
  if (path === '' || /^[a-z][a-z0-9+.-]*:\/\//i.test(path))
    throw new Error(`not a store URL: ${url} (use sqlite:/path/file.db, a file path, or postgres://…)`);
  const file = resolve(path);
  // Reads stay on this thread (WAL: they never wait for a writer); writes, and their fsyncs, run in a
  // thread of their own. TETHER_SQLITE_WRITER=loop keeps them on the event loop: less CPU per write
  // where no core is free for the thread (bench/admission/README.md has both side by side).
  const onLoop = process.env.TETHER_SQLITE_WRITER === 'loop';
  return SqlStore.open(new SqliteDriver(file), `sqlite:${file}`, onLoop ? undefined : () => new ThreadWriter(file));
}
