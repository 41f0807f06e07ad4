// The two store backends the same tests run on. PostgreSQL comes from TETHER_TEST_PG_URL (CI sets
// it; locally: export TETHER_TEST_PG_URL=$(scripts/pg.sh)); every test gets a database of its own.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { PostgresDriver } from '../../src/store/postgres/driver.ts';
import type { SqlDriver } from '../../src/store/sql/driver.ts';
import { SqliteDriver } from '../../src/store/sqlite/driver.ts';

export interface Backend {
  readonly name: 'sqlite' | 'postgres';
  /** Why this backend's tests are skipped, when they are. */
  readonly skip?: string;
  /** A fresh, empty store location. */
  fresh(): Promise<string>;
  /** Drops what fresh() made (PostgreSQL databases); files go with the temp folder. */
  cleanup(): Promise<void>;
}

const PG_URL = process.env.TETHER_TEST_PG_URL;

export function tempDir(prefix = 'tether-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

const sqlite: Backend = {
  name: 'sqlite',
  fresh: async () => `sqlite:${join(tempDir(), 'tether.db')}`,
  cleanup: async () => undefined,
};

function postgres(): Backend {
  const made: string[] = [];
  const admin = async <T>(work: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      return await work(c);
    } finally {
      await c.end();
    }
  };
  return {
    name: 'postgres',
    skip: PG_URL
      ? undefined
      : 'TETHER_TEST_PG_URL is not set: the PostgreSQL half of the store tests is SKIPPED. Start one with: export TETHER_TEST_PG_URL=$(scripts/pg.sh)',
    async fresh() {
      const name = `tether_${randomBytes(6).toString('hex')}`;
      await admin((c) => c.query(`CREATE DATABASE ${name}`));
      made.push(name);
      const url = new URL(PG_URL as string);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async cleanup() {
      for (const name of made.splice(0)) await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

export const BACKENDS: readonly Backend[] = [sqlite, postgres()];

const loud = BACKENDS.find((b) => b.skip);
if (loud?.skip) console.warn(`\n${'!'.repeat(100)}\n!! ${loud.skip}\n${'!'.repeat(100)}\n`);

/** Runs SQL straight against the database, bypassing Tether: how the tamper tests alter rows. */
export async function behindTethersBack(url: string, sql: string, params: unknown[] = []): Promise<void> {
  if (url.startsWith('postgres')) {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    let n = 0;
    try {
      await c.query(
        sql.replace(/\?/g, () => `$${++n}`),
        params,
      );
    } finally {
      await c.end();
    }
    return;
  }
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(url.replace(/^sqlite:/, ''));
  try {
    db.prepare(sql).run(...params);
  } finally {
    db.close();
  }
}

/** A driver on a store URL without the store: tests build older schemas (migrate(driver, upTo)) with it. */
export function rawDriver(url: string): SqlDriver {
  return url.startsWith('postgres') ? new PostgresDriver(url) : new SqliteDriver(url.slice('sqlite:'.length));
}
