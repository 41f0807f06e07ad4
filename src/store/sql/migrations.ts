import type { Dialect, SqlDriver } from './driver.ts';

interface Migration {
  readonly version: number;
  readonly name: string;
  statements(types: Dialect['types']): readonly string[];
}

// Append only: a released migration never changes, a new version follows it.
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'ledger, runtime state, approvals, breakers, expansions',
    statements: ({ blob, serial, position, inLogOrder }) => [
      `CREATE TABLE IF NOT EXISTS ledger (
        idx ${position},
        at BIGINT NOT NULL,
        kind TEXT NOT NULL,
        agent TEXT,
        owner TEXT,
        object TEXT,
        actor TEXT,
        leaf_hash ${blob} NOT NULL,
        data TEXT NOT NULL
      )`,
      `CREATE INDEX IF NOT EXISTS ledger_by_agent ON ledger (agent${inLogOrder})`,
      `CREATE INDEX IF NOT EXISTS ledger_by_owner ON ledger (owner${inLogOrder})`,
      `CREATE INDEX IF NOT EXISTS ledger_by_object ON ledger (object${inLogOrder})`,
      `CREATE INDEX IF NOT EXISTS ledger_by_kind ON ledger (kind${inLogOrder})`,
      'CREATE INDEX IF NOT EXISTS ledger_by_time ON ledger (at)',
      // One row: the log's length. Writers lock it first, which serialises index assignment
      // across processes and makes every write transaction see the others' effects.
      'CREATE TABLE IF NOT EXISTS ledger_head (id INTEGER PRIMARY KEY, size BIGINT NOT NULL)',
      'INSERT INTO ledger_head (id, size) VALUES (1, 0) ON CONFLICT (id) DO NOTHING',
      `CREATE TABLE IF NOT EXISTS checkpoints (
        size BIGINT NOT NULL,
        at BIGINT NOT NULL,
        root ${blob} NOT NULL,
        key_id TEXT NOT NULL,
        signature ${blob} NOT NULL,
        PRIMARY KEY (size, key_id)
      )`,
      `CREATE TABLE IF NOT EXISTS budget_counters (
        budget_id TEXT NOT NULL,
        window_start BIGINT NOT NULL,
        window_ms BIGINT NOT NULL,
        agent TEXT NOT NULL,
        mutations BIGINT NOT NULL,
        objects BIGINT NOT NULL,
        PRIMARY KEY (budget_id, window_start)
      )`,
      `CREATE TABLE IF NOT EXISTS budget_objects (
        budget_id TEXT NOT NULL,
        window_start BIGINT NOT NULL,
        object_key TEXT NOT NULL,
        PRIMARY KEY (budget_id, window_start, object_key)
      )`,
      'CREATE TABLE IF NOT EXISTS violations (agent TEXT NOT NULL, rule TEXT NOT NULL, at BIGINT NOT NULL)',
      'CREATE INDEX IF NOT EXISTS violations_by_agent ON violations (agent, at)',
      'CREATE TABLE IF NOT EXISTS mutations (agent TEXT NOT NULL, at BIGINT NOT NULL)',
      'CREATE INDEX IF NOT EXISTS mutations_by_agent ON mutations (agent, at)',
      `CREATE TABLE IF NOT EXISTS field_changes (
        seq ${serial},
        object_key TEXT NOT NULL,
        field TEXT NOT NULL,
        value TEXT NOT NULL,
        actor TEXT NOT NULL,
        at BIGINT NOT NULL
      )`,
      'CREATE INDEX IF NOT EXISTS field_changes_by_object ON field_changes (object_key, field, at)',
      `CREATE TABLE IF NOT EXISTS chain_calls (
        seq ${serial},
        chain_id TEXT NOT NULL,
        parent TEXT NOT NULL,
        callee TEXT NOT NULL,
        at BIGINT NOT NULL
      )`,
      'CREATE INDEX IF NOT EXISTS chain_calls_by_parent ON chain_calls (chain_id, parent)',
      `CREATE TABLE IF NOT EXISTS breakers (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT,
        rule TEXT,
        since BIGINT NOT NULL,
        PRIMARY KEY (scope, key)
      )`,
      `CREATE TABLE IF NOT EXISTS breaker_transitions (
        seq ${serial},
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        from_state TEXT NOT NULL,
        to_state TEXT NOT NULL,
        at BIGINT NOT NULL,
        actor TEXT NOT NULL,
        reason TEXT,
        rule TEXT,
        ledger_index BIGINT NOT NULL
      )`,
      'CREATE INDEX IF NOT EXISTS breaker_transitions_by_key ON breaker_transitions (scope, key, seq)',
      'CREATE TABLE IF NOT EXISTS kill_switch (id INTEGER PRIMARY KEY, engaged INTEGER NOT NULL, reason TEXT, actor TEXT, at BIGINT)',
      `CREATE TABLE IF NOT EXISTS approvals (
        id TEXT PRIMARY KEY,
        agent TEXT NOT NULL,
        action_digest TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        ttl_ms BIGINT NOT NULL,
        uses_left INTEGER NOT NULL,
        min_approvals INTEGER NOT NULL,
        approvers TEXT NOT NULL,
        approved_by TEXT NOT NULL,
        summary TEXT NOT NULL,
        rules TEXT NOT NULL,
        request_index BIGINT NOT NULL,
        verdicts TEXT NOT NULL
      )`,
      'CREATE INDEX IF NOT EXISTS approvals_by_agent ON approvals (agent, status, expires_at)',
      `CREATE TABLE IF NOT EXISTS proposals (
        seq ${serial},
        agent TEXT NOT NULL,
        action_digest TEXT NOT NULL,
        rules TEXT NOT NULL,
        at BIGINT NOT NULL,
        ledger_index BIGINT NOT NULL
      )`,
      'CREATE INDEX IF NOT EXISTS proposals_by_agent ON proposals (agent, seq)',
      `CREATE TABLE IF NOT EXISTS expansions (
        id TEXT PRIMARY KEY,
        agent TEXT NOT NULL,
        requested_spec TEXT NOT NULL,
        spec_digest TEXT NOT NULL,
        diff_digest TEXT NOT NULL,
        summary TEXT,
        requested_by TEXT NOT NULL,
        requested_at BIGINT NOT NULL,
        status TEXT NOT NULL,
        decided_by TEXT,
        decided_at BIGINT,
        reason TEXT,
        request_index BIGINT NOT NULL,
        decision_index BIGINT
      )`,
      'CREATE INDEX IF NOT EXISTS expansions_by_agent ON expansions (agent, status)',
      `CREATE TABLE IF NOT EXISTS enforced_specs (
        agent TEXT PRIMARY KEY,
        spec TEXT NOT NULL,
        spec_digest TEXT NOT NULL,
        actor TEXT NOT NULL,
        at BIGINT NOT NULL,
        reason TEXT NOT NULL,
        ledger_index BIGINT NOT NULL
      )`,
    ],
  },
  {
    version: 2,
    name: 'declared intents',
    statements: () => [
      `CREATE TABLE IF NOT EXISTS declared_intents (
        username TEXT PRIMARY KEY,
        intent TEXT NOT NULL,
        declared_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      )`,
    ],
  },
  {
    version: 3,
    name: 'approval request objects, ledger by chain',
    statements: ({ chainOf, inLogOrder }) => [
      // What the agent asked to write and what it replaces, so a reviewer sees the change, not a digest.
      // Never filled for credential-bearing targets (Secrets, tokens).
      'CREATE TABLE IF NOT EXISTS approval_objects (approval_id TEXT PRIMARY KEY, object TEXT, old_object TEXT)',
      `CREATE INDEX IF NOT EXISTS ledger_by_chain ON ledger ((${chainOf})${inLogOrder})`,
    ],
  },
  {
    version: 4,
    name: 'directory (SCIM users and groups) and ownership attestations',
    statements: ({ serial }) => [
      // One row per User or Group as the identity provider sent it (JSON), with the name SCIM
      // keeps unique (userName, displayName) lower-cased beside it so uniqueness is the database's job.
      `CREATE TABLE IF NOT EXISTS scim_resources (
        type TEXT NOT NULL,
        id TEXT NOT NULL,
        name_key TEXT NOT NULL,
        version BIGINT NOT NULL,
        data TEXT NOT NULL,
        created BIGINT NOT NULL,
        modified BIGINT NOT NULL,
        PRIMARY KEY (type, id)
      )`,
      'CREATE UNIQUE INDEX IF NOT EXISTS scim_resources_by_name ON scim_resources (type, name_key)',
      // Bumped by every directory write: other replicas reload when it moves.
      'CREATE TABLE IF NOT EXISTS directory_head (id INTEGER PRIMARY KEY, version BIGINT NOT NULL)',
      'INSERT INTO directory_head (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING',
      `CREATE TABLE IF NOT EXISTS attestations (
        seq ${serial},
        agent TEXT NOT NULL,
        owner TEXT NOT NULL,
        until_at BIGINT NOT NULL,
        reason TEXT NOT NULL,
        actor TEXT NOT NULL,
        at BIGINT NOT NULL,
        ledger_index BIGINT NOT NULL
      )`,
      'CREATE INDEX IF NOT EXISTS attestations_by_agent ON attestations (agent, seq)',
    ],
  },
  {
    version: 5,
    name: 'per-second counts of mutations and violations (rate and breaker windows read in bounded time)',
    statements: () => [
      // Counting the rows of a window grew with the request rate (6,000 rows per agent at 100
      // mutations/s over 60 s: 380 µs per decision). A window is now its whole seconds from here plus
      // the rows of its first, partial second: exact, and bounded by the window's length.
      `CREATE TABLE IF NOT EXISTS event_seconds (
        agent TEXT NOT NULL,
        kind TEXT NOT NULL,
        second BIGINT NOT NULL,
        n BIGINT NOT NULL,
        PRIMARY KEY (agent, kind, second)
      )`,
      `INSERT INTO event_seconds (agent, kind, second, n)
         SELECT agent, 'mutation', at / 1000, count(*) FROM mutations GROUP BY agent, at / 1000`,
      `INSERT INTO event_seconds (agent, kind, second, n)
         SELECT agent, 'violation', at / 1000, count(*) FROM violations GROUP BY agent, at / 1000`,
    ],
  },
  {
    version: 6,
    name: 'ledger keys (agent, owner, object) written in bulk, off the commit path',
    statements: ({ withoutRowid }) => [
      // Three indexes over keys spread across agents and objects cost a commit a page each per
      // entry: half its WAL frames. Their entries now go into ledger_keys in bulk (src/store/sql/
      // ledger-keys.ts), every position below ledger_head.keyed; queries scan the rows above it.
      // Column names unlike the ledger's: a query joins both and filters on ledger columns unqualified.
      `CREATE TABLE IF NOT EXISTS ledger_keys (
        key_column TEXT NOT NULL,
        key_value TEXT NOT NULL,
        entry BIGINT NOT NULL,
        PRIMARY KEY (key_column, key_value, entry)
      )${withoutRowid}`,
      'ALTER TABLE ledger_head ADD COLUMN keyed BIGINT NOT NULL DEFAULT 0',
      ...['agent', 'owner', 'object'].map(
        (c) =>
          `INSERT INTO ledger_keys (key_column, key_value, entry) SELECT '${c}', ${c}, idx FROM ledger WHERE ${c} IS NOT NULL`,
      ),
      'UPDATE ledger_head SET keyed = size WHERE id = 1',
      // Narrow and in log order (a commit adds to its last page): verify reads the keyed columns
      // from here instead of from the rows, which carry the whole leaf.
      'CREATE INDEX IF NOT EXISTS ledger_keyed_columns ON ledger (idx, agent, owner, object)',
      'DROP INDEX IF EXISTS ledger_by_agent',
      'DROP INDEX IF EXISTS ledger_by_owner',
      'DROP INDEX IF EXISTS ledger_by_object',
    ],
  },
  {
    version: 7,
    name: "a window's partial second found by second, then agent",
    statements: () => [
      // Only the rows of a window's first, partial second are read (snapshot.ts), and a commit adds
      // rows at its own second. Keyed by agent first, a commit's rows went to one page per agent (a
      // fifth of its WAL frames, bench/admission/README.md); keyed by second first, they share the
      // current second's last pages.
      'CREATE INDEX IF NOT EXISTS mutations_by_second ON mutations ((at / 1000), agent, at)',
      'CREATE INDEX IF NOT EXISTS violations_by_second ON violations ((at / 1000), agent, at)',
      'DROP INDEX IF EXISTS mutations_by_agent',
      'DROP INDEX IF EXISTS violations_by_agent',
    ],
  },
  {
    version: 8,
    name: 'ledger keys for kind and chain, filed in bulk like the others; no index for verify',
    statements: ({ chainOf }) => [
      // The kind and chain indexes cost a gateway commit half its WAL frames (a decision and a tool
      // result: two kinds' ends, two chains' pages). Filed entries get their keys now; the rest wait
      // for the next filing like any other.
      `INSERT INTO ledger_keys (key_column, key_value, entry)
        SELECT 'kind', kind, idx FROM ledger WHERE idx < (SELECT keyed FROM ledger_head WHERE id = 1)`,
      `INSERT INTO ledger_keys (key_column, key_value, entry)
        SELECT 'chain', ${chainOf}, idx FROM ledger
        WHERE idx < (SELECT keyed FROM ledger_head WHERE id = 1) AND ${chainOf} IS NOT NULL`,
      'DROP INDEX IF EXISTS ledger_by_kind',
      'DROP INDEX IF EXISTS ledger_by_chain',
      // Verify's keys check reads the rows now (the chain is in the leaf), in one pass: the narrow
      // index it read instead only cost every commit its frames.
      'DROP INDEX IF EXISTS ledger_keyed_columns',
    ],
  },
  {
    version: 9,
    name: 'per-second counts read whole: in key order (SQLite), with running totals (PostgreSQL)',
    statements: ({ withoutRowid }) =>
      // Every decision counts one agent's events over its rate and breaker windows: a five-minute
      // window summed 300 per-second rows at steady state, each on a page (SQLite's rowid table kept
      // every agent's seconds together) or a heap tuple of its own (PostgreSQL). SQLite now keeps the
      // rows in key order; PostgreSQL gets each row's running total, so a window is two rows
      // (src/store/sql/event-counts.ts; bench/store/state-read.ts).
      withoutRowid === ''
        ? [
            'ALTER TABLE event_seconds ADD COLUMN total BIGINT NOT NULL DEFAULT 0',
            `UPDATE event_seconds SET total = r.total FROM (
              SELECT agent, kind, second, sum(n) OVER (PARTITION BY agent, kind ORDER BY second) AS total
              FROM event_seconds) AS r
            WHERE event_seconds.agent = r.agent AND event_seconds.kind = r.kind AND event_seconds.second = r.second`,
          ]
        : [
            `CREATE TABLE event_seconds_in_key_order (
              agent TEXT NOT NULL,
              kind TEXT NOT NULL,
              second BIGINT NOT NULL,
              n BIGINT NOT NULL,
              PRIMARY KEY (agent, kind, second)
            )${withoutRowid}`,
            `INSERT INTO event_seconds_in_key_order (agent, kind, second, n)
              SELECT agent, kind, second, n FROM event_seconds`,
            'DROP TABLE event_seconds',
            'ALTER TABLE event_seconds_in_key_order RENAME TO event_seconds',
          ],
  },
];

/**
 * Brings the schema up to date (or up to `upTo`: tests build an older database with it); safe to run
 * any number of times, from several processes at once.
 */
export async function migrate(driver: SqlDriver, upTo = Number.POSITIVE_INFINITY): Promise<void> {
  await driver.transaction(async (tx) => {
    if (driver.dialect.migrationLock) await tx.query(driver.dialect.migrationLock);
    await tx.query(
      'CREATE TABLE IF NOT EXISTS tether_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
    );
    const applied = new Set(
      (await tx.query<{ version: number }>('SELECT version FROM tether_migrations')).map((r) => Number(r.version)),
    );
    for (const m of MIGRATIONS) {
      if (applied.has(m.version) || m.version > upTo) continue;
      for (const statement of m.statements(driver.dialect.types)) await tx.query(statement);
      await tx.query('INSERT INTO tether_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
        m.version,
        m.name,
        Date.now(),
      ]);
    }
  });
}
