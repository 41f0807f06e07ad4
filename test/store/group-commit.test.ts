// Group commit's two urgencies, on both backends: a decision ('now') starts a transaction at once;
// an observation after the fact ('soon', a tool call's result) starts none of its own for a while
// and joins the next one a decision starts, so the decision never waits behind the observation's
// fsync. And SQLite's checkpoints run beside the commits, not inside one of them.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Effect } from '../../src/engine/decision.ts';
import type { LedgerLeaf } from '../../src/ledger/leaf.ts';
import { openStore } from '../../src/store/open.ts';
import type { SqlDriver } from '../../src/store/sql/driver.ts';
import { batchJob } from '../../src/store/sql/jobs.ts';
import { migrate } from '../../src/store/sql/migrations.ts';
import { GroupCommitter } from '../../src/store/sql/write-batch.ts';
import { PAGE_BYTES, WAL_RESTART_PAGES } from '../../src/store/sqlite/driver.ts';
import { BACKENDS, rawDriver, tempDir } from './backends.ts';

const leaf = (seq: number): LedgerLeaf => ({
  v: 1,
  time: new Date().toISOString(),
  kind: 'tool-result',
  agent: 'scaler',
  detail: { seq },
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A driver that counts the write transactions it was asked for. */
function counting(driver: SqlDriver): { driver: SqlDriver; transactions: () => number } {
  let n = 0;
  const counted = Object.create(driver) as SqlDriver;
  counted.transaction = (work) => {
    n++;
    return driver.transaction(work);
  };
  return { driver: counted, transactions: () => n };
}

for (const backend of BACKENDS) {
  describe(`group commit on ${backend.name}`, { skip: backend.skip }, () => {
    after(() => backend.cleanup());

    test("a 'soon' job starts no transaction of its own at once, then commits alone within its delay", async () => {
      const raw = rawDriver(await backend.fresh());
      await migrate(raw);
      const { driver, transactions } = counting(raw);
      const group = new GroupCommitter(driver);
      try {
        const index = group.submit(batchJob('append', [leaf(0)]), 'soon');
        await sleep(5);
        assert.equal(transactions(), 0, 'nothing was started for an observation alone');
        assert.equal(await index, 0);
        assert.equal(transactions(), 1);
      } finally {
        await group.idle();
        await raw.close();
      }
    });

    test("a decision takes the waiting 'soon' jobs into its own transaction, after them in the log", async () => {
      const raw = rawDriver(await backend.fresh());
      await migrate(raw);
      const { driver, transactions } = counting(raw);
      const group = new GroupCommitter(driver);
      try {
        const results = [1, 2].map((i) => group.submit(batchJob('append', [leaf(i)]), 'soon'));
        await sleep(2);
        const decision = await group.submit(batchJob('append', [leaf(3)]));
        assert.deepEqual(await Promise.all(results), [0, 1], 'observations keep the order they came in');
        assert.equal(decision, 2);
        assert.equal(transactions(), 1, 'one transaction (one fsync) for the decision and both observations');
        await sleep(40);
        assert.equal(transactions(), 1, 'the delay that had been set starts nothing more');
      } finally {
        await group.idle();
        await raw.close();
      }
    });

    test('one batch across many budgets: windows read once, limits and distinct objects still exact', async () => {
      const s = await openStore(await backend.fresh());
      const budget = (agent: string, objectKey: string): Effect => ({
        kind: 'budget.consume',
        agent,
        budgetId: `${agent}/1h`,
        windowStart: 0,
        windowMs: 3_600_000,
        objectKey,
        maxMutations: 4,
        maxDistinctObjects: 2,
      });
      const commit = (agent: string, objectKey: string) =>
        s.commit({ ...leaf(0), agent }, [budget(agent, objectKey)], 1_000);
      try {
        // Earlier batch: every agent has touched object a once.
        await Promise.all(['p', 'q', 'r'].map((a) => commit(a, 'a')));
        // One batch: per agent a (seen), b (new), c (new: over the distinct limit), a, a (over 4 mutations).
        const results = await Promise.all(
          ['p', 'q', 'r'].flatMap((a) => ['a', 'b', 'c', 'a', 'a'].map((o) => commit(a, o))),
        );
        const refused = results.map((r) => (r.ok ? '' : r.conflict));
        assert.deepEqual(
          refused,
          ['p', 'q', 'r'].flatMap(() => ['', '', 'budget', '', 'budget']),
        );
      } finally {
        await s.close();
      }
    });

    test("closing the store writes the waiting 'soon' jobs at once, and they are durable", async () => {
      const url = await backend.fresh();
      const store = await openStore(url);
      const index = store.append(leaf(7), { soon: true });
      await store.close();
      assert.equal(await index, 0);
      const again = await openStore(url);
      try {
        const [entry] = await again.entries(0, 1);
        assert.deepEqual(entry?.leaf.detail, { seq: 7 });
      } finally {
        await again.close();
      }
    });
  });
}

test('SQLite: the checkpointer folds the WAL back into the database while the store stays open', async () => {
  const file = join(tempDir(), 'tether.db');
  const store = await openStore(`sqlite:${file}`);
  try {
    const before = statSync(file).size;
    await Promise.all(Array.from({ length: 400 }, (_, i) => store.append(leaf(i))));
    // A few group commits, under the writer's own checkpoint threshold: the checkpointer moves the pages.
    let size = statSync(file).size;
    for (let i = 0; i < 50 && size <= before; i++) {
      await sleep(50);
      size = statSync(file).size;
    }
    assert.ok(size > before, `the database file stayed at ${before} bytes: nothing checkpointed the WAL`);
    assert.equal(await store.ledgerSize(), 400);
  } finally {
    await store.close();
  }
});

test('SQLite: under sustained writes, with reads going on, the WAL starts over instead of growing', async () => {
  // The checkpointer's PASSIVE checkpoints never catch up with commits that follow each other
  // closely, and only a checkpoint in the writing connection, between two of its commits, lets the
  // next commit start the WAL over. Without it the WAL grew by every commit (over 60 MB in this test)
  // until the connection's backstop, each commit writing into new blocks of the file.
  const file = join(tempDir(), 'tether.db');
  const store = await openStore(`sqlite:${file}`);
  let reading = true;
  const reads = (async () => {
    let n = 0;
    for (; reading; n++) {
      await store.ledgerSize();
      await new Promise((r) => setImmediate(r));
    }
    return n;
  })();
  try {
    let largest = 0;
    for (let i = 0; i < 3000; i++) {
      const detail = { seq: i, note: 'x'.repeat(300) };
      await Promise.all(['a', 'b', 'c', 'd'].map((agent) => store.append({ ...leaf(i), agent, detail })));
      if (i % 50 === 0) largest = Math.max(largest, statSync(`${file}-wal`).size);
    }
    reading = false;
    assert.ok((await reads) > 0);
    assert.equal(await store.ledgerSize(), 12_000);
    const wal = Math.max(largest, statSync(`${file}-wal`).size);
    // Its threshold, the last group commit's pages past it, and slack.
    const bound = (WAL_RESTART_PAGES + 1000) * PAGE_BYTES;
    assert.ok(wal < bound, `the WAL reached ${wal} bytes (bound ${bound}): it never started over`);
  } finally {
    reading = false;
    await store.close();
  }
});
