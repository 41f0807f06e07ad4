// A group commit's end (src/store/sql/batch-end.ts) on both backends: every table a decision's effects
// reach gets exactly the rows its jobs left, whether the end is written a statement per table
// (SQLite) or all at once (PostgreSQL). And on PostgreSQL, where each statement is a round trip made
// while the batch holds the ledger head, a batch makes the same few statements however many jobs and
// tables it has, and its end is one statement whose text never changes (prepared once per connection).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Effect } from '../../src/engine/decision.ts';
import type { LedgerLeaf } from '../../src/ledger/leaf.ts';
import { PostgresDriver } from '../../src/store/postgres/driver.ts';
import { commitJob } from '../../src/store/sql/commit.ts';
import type { SqlDriver } from '../../src/store/sql/driver.ts';
import { migrate } from '../../src/store/sql/migrations.ts';
import { batchJob } from '../../src/store/sql/jobs.ts';
import { GroupCommitter, WriteBatch } from '../../src/store/sql/write-batch.ts';
import { BACKENDS, rawDriver } from './backends.ts';

const NOW = Date.UTC(2026, 10, 29, 12, 0, 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const WINDOW_MS = 3_600_000;
const WINDOW = Math.floor(NOW / WINDOW_MS) * WINDOW_MS;

/** A driver whose write transactions record every statement they run (BEGIN and COMMIT are the driver's). */
function recording(driver: SqlDriver): { driver: SqlDriver; batches: string[][] } {
  const batches: string[][] = [];
  const recorded = Object.create(driver) as SqlDriver;
  recorded.transaction = (work) => {
    const statements: string[] = [];
    batches.push(statements);
    return driver.transaction((tx) =>
      work({
        query: (sql, params) => {
          statements.push(sql);
          return tx.query(sql, params);
        },
      }),
    );
  };
  return { driver: recorded, batches };
}

/** Decision `i` of agent `agent`: every effect that leaves a row for the batch's end. */
function effectsOf(agent: string, i: number): Effect[] {
  return [
    {
      kind: 'budget.consume',
      agent,
      budgetId: `${agent}/hourly`,
      windowStart: WINDOW,
      windowMs: WINDOW_MS,
      objectKey: `apps/deployments/shop/web-${i % 3}`,
      maxMutations: 1000,
    },
    { kind: 'mutation.record', agent },
    { kind: 'violation.record', agent, rule: 'boundary/rule' },
    { kind: 'proposal.record', agent, actionDigest: `sha256:${i}`, rules: ['boundary/rule'] },
    { kind: 'field.record', objectKey: `shop/web-${i % 3}`, field: 'spec.replicas', value: String(i), actor: agent },
    { kind: 'chain.record', chainId: `chain-${agent}`, parent: 'call-0', callee: `tool-${i}` },
  ];
}

const leaf = (agent: string, i: number): LedgerLeaf => ({
  v: 1,
  time: new Date(NOW).toISOString(),
  kind: 'decision',
  agent,
  detail: { i, quote: `it's "odd", {braces}, back\\slash, comma,` },
});

/** Submits `n` decisions per agent at once (one group commit, or a few) and waits for them all. */
async function decideAll(group: GroupCommitter, agents: readonly string[], n: number, from = 0): Promise<void> {
  const jobs = agents.flatMap((agent) =>
    Array.from({ length: n }, (_, k) =>
      group.submit(commitJob(leaf(agent, from + k), effectsOf(agent, from + k), NOW, undefined)),
    ),
  );
  for (const r of await Promise.all(jobs)) assert.equal((r as { ok: boolean }).ok, true);
}

async function count(db: SqlDriver, sql: string, params: unknown[] = []): Promise<number> {
  const [row] = await db.query<{ n: number | string }>(sql, params);
  return Number(row?.n);
}

for (const backend of BACKENDS) {
  describe(`a group commit's end on ${backend.name}`, { skip: backend.skip }, () => {
    after(() => backend.cleanup());

    test('every table gets exactly the rows of every job, however the batches fell', async () => {
      const db = rawDriver(await backend.fresh());
      await migrate(db);
      const group = new GroupCommitter(db);
      const agents = ['scaler', 'janitor', "o'brien"];
      try {
        await decideAll(group, agents, 20);
        await decideAll(group, agents, 20, 20);
        const total = agents.length * 40;
        assert.equal(await count(db, 'SELECT size AS n FROM ledger_head WHERE id = 1'), total);
        assert.equal(await count(db, 'SELECT count(*) AS n FROM ledger'), total);
        for (const table of ['mutations', 'violations', 'proposals', 'field_changes', 'chain_calls'])
          assert.equal(await count(db, `SELECT count(*) AS n FROM ${table}`), total, table);
        for (const agent of agents) {
          const id = `${agent}/hourly`;
          const where = 'WHERE budget_id = ? AND window_start = ?';
          assert.equal(await count(db, `SELECT mutations AS n FROM budget_counters ${where}`, [id, WINDOW]), 40);
          assert.equal(await count(db, `SELECT objects AS n FROM budget_counters ${where}`, [id, WINDOW]), 3);
          assert.equal(await count(db, `SELECT count(*) AS n FROM budget_objects ${where}`, [id, WINDOW]), 3);
          const second = Math.floor(NOW / 1000);
          for (const kind of ['mutation', 'violation'])
            assert.equal(
              await count(db, 'SELECT n FROM event_seconds WHERE agent = ? AND kind = ? AND second = ?', [
                agent,
                kind,
                second,
              ]),
              40,
              `${agent} ${kind}s`,
            );
        }
        const [stored] = await db.query<{ data: string }>('SELECT data FROM ledger WHERE idx = 0');
        assert.match(stored?.data ?? '', /it's \\"odd\\", \{braces\}, back\\\\slash, comma,/);
      } finally {
        await group.idle();
        await db.close();
      }
    });

    if (backend.name !== 'postgres') return;
    test('a batch makes the same few statements however many jobs it holds, and its end is one', async () => {
      const raw = rawDriver(await backend.fresh());
      await migrate(raw);
      const { driver, batches } = recording(raw);
      const group = new GroupCommitter(driver);
      try {
        await decideAll(group, ['scaler'], 1);
        await decideAll(group, ['scaler', 'janitor', 'auditor'], 30);
        assert.ok(batches.length >= 2);
        const [first, ...rest] = batches as [string[], ...string[][]];
        const largest = rest.reduce((a, b) => (b.length > a.length ? b : a));
        // The head with the last leaf's hash, the batch's budgets, then the end: nothing per job or per table.
        for (const statements of batches) assert.ok(statements.length <= 3, statements.join('\n---\n'));
        const end = (statements: string[]) => statements.filter((s) => s.includes('INSERT'));
        assert.equal(end(first).length, 1);
        assert.deepEqual(end(largest), end(first), 'the same statement text, whatever the rows');
      } finally {
        await group.idle();
        await raw.close();
      }
    });

    test("a batch that waited for another process's links its first entry to that batch's last", async () => {
      const url = await backend.fresh();
      const one = new PostgresDriver(url);
      const rawTwo = new PostgresDriver(url);
      const { driver: two, batches } = recording(rawTwo);
      await migrate(one);
      try {
        await new GroupCommitter(one).submit(batchJob('append', [leaf('scaler', 0)]));
        let release = () => {};
        const held = new Promise<void>((r) => (release = r));
        const first = one.transaction(async (tx) => {
          const w = await WriteBatch.begin(one, tx);
          w.append(leaf('scaler', 1));
          await held;
          await w.finish(one);
        });
        await sleep(100);
        // This batch's first statement starts while the other holds the head: the entry behind the
        // head it gets once the lock is free was committed after the statement began.
        const second = new GroupCommitter(two).submit(batchJob('append', [leaf('janitor', 2)]));
        await sleep(200);
        release();
        await first;
        assert.equal(await second, 2);
        assert.ok(batches[0]?.includes('SELECT leaf_hash FROM ledger WHERE idx = ?'), 'the hash was read again');
        const rows = await one.query<{ idx: number; leaf_hash: Buffer; data: string }>(
          'SELECT idx, leaf_hash, data FROM ledger WHERE idx >= 1 ORDER BY idx',
        );
        assert.equal((JSON.parse(rows[1]?.data ?? '{}') as { prev?: string }).prev, rows[0]?.leaf_hash.toString('hex'));
      } finally {
        await one.close();
        await rawTwo.close();
      }
    });
  });
}
