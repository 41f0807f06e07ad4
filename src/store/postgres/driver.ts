import pg from 'pg';
import type { Dialect, SqlDriver, SqlRunner } from '../sql/driver.ts';
import { writeBatchEndAtOnce } from './batch-end.ts';

const INT8_OID = 20;

// Counts and millisecond times fit a double; pg would hand BIGINT back as strings.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

const postgresDialect: Dialect = {
  name: 'postgres',
  forUpdate: ' FOR UPDATE',
  migrationLock: "SELECT pg_advisory_xact_lock(hashtext('tether.migrations'))",
  jsonArray: (pairs, from) => `(SELECT coalesce(json_agg(json_build_object(${pairs})), '[]')::text FROM ${from})`,
  jsonObject: (pairs, from) => `(SELECT json_build_object(${pairs})::text FROM ${from})`,
  writeBatchEnd: writeBatchEndAtOnce,
  types: {
    blob: 'BYTEA',
    serial: 'BIGSERIAL PRIMARY KEY',
    position: 'BIGINT PRIMARY KEY',
    inLogOrder: ', idx',
    chainOf: "((data::jsonb) -> 'chain' ->> 'id')",
    withoutRowid: '',
  },
};

/** `?` placeholders become `$1…$n`; the SQL we write never holds a literal question mark. */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

class Runner implements SqlRunner {
  readonly #client: pg.Pool | pg.PoolClient;
  readonly #names: Map<string, { name: string; text: string }>;
  /** A transaction's BEGIN, not sent yet: it goes with the first statement. */
  #begin: string | undefined;

  constructor(client: pg.Pool | pg.PoolClient, names: Map<string, { name: string; text: string }>, begin?: string) {
    this.#client = client;
    this.#names = names;
    this.#begin = begin;
  }

  /** Whether the transaction was begun (a transaction that ran no statement has nothing to commit). */
  get begun(): boolean {
    return this.#begin === undefined;
  }

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    if (this.#begin !== undefined) {
      const begin = this.#begin;
      this.#begin = undefined;
      // A first statement without parameters (a write batch's head) travels with the BEGIN, in one
      // simple-protocol message: one round trip instead of two, for a statement not prepared.
      if (params.length === 0) {
        const results = (await this.#client.query(`${begin}; ${sql}`)) as unknown as pg.QueryResult[];
        return (results.at(-1)?.rows ?? []) as T[];
      }
      await this.#client.query(begin);
    }
    let prepared = this.#names.get(sql);
    if (!prepared) {
      prepared = { name: `tether_${this.#names.size}`, text: numbered(sql) };
      this.#names.set(sql, prepared);
    }
    // Named statements are parsed and planned once per connection, then only bound and run.
    const result = await this.#client.query({ name: prepared.name, text: prepared.text, values: params as unknown[] });
    return (result.rows ?? []) as T[];
  }
}

/** PostgreSQL through a pg Pool; several Tether processes may share the database. */
export class PostgresDriver implements SqlDriver {
  readonly dialect = postgresDialect;
  readonly #pool: pg.Pool;
  readonly #names = new Map<string, { name: string; text: string }>();
  readonly #reads: Runner;

  constructor(url: string, poolSize = 10) {
    this.#pool = new pg.Pool({ connectionString: url, max: poolSize, types });
    // An idle connection that dies (server restart) must not take the process with it.
    this.#pool.on('error', () => undefined);
    this.#reads = new Runner(this.#pool, this.#names);
  }

  query<T>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.#reads.query<T>(sql, params);
  }

  transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T> {
    return this.#within('BEGIN', work);
  }

  snapshot<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T> {
    return this.#within('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', work);
  }

  async #within<T>(begin: string, work: (tx: SqlRunner) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    const tx = new Runner(client, this.#names, begin);
    try {
      const result = await work(tx);
      if (tx.begun) await client.query('COMMIT');
      return result;
    } catch (err) {
      if (tx.begun) await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
