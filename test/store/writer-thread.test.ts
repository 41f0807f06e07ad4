// SQLite writes run in a writer thread: a write that waits (here for the database lock, in real
// life for fsync) holds up no other request. On the event loop, as before, the same wait froze the
// whole process: timers, reads and every other request stopped until the write got through.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import type { LedgerLeaf } from '../../src/ledger/leaf.ts';
import { batchJob, soloJob } from '../../src/store/sql/jobs.ts';
import { openStore } from '../../src/store/open.ts';
import { tempDir } from './backends.ts';

const leaf = (seq: number): LedgerLeaf => ({
  v: 1,
  time: new Date().toISOString(),
  kind: 'decision',
  agent: 'scaler',
  detail: { seq },
});
const tick = (ms: number) => new Promise<number>((r) => setTimeout(() => r(Date.now()), ms));

test('a write waiting for the database holds up neither timers nor reads, and answers once committed', async () => {
  const file = join(tempDir(), 'tether.db');
  const store = await openStore(`sqlite:${file}`);
  try {
    await store.append(leaf(0));
    // Another writer (as another Tether process would) holds SQLite's write lock.
    const other = new Database(file);
    other.pragma('busy_timeout = 10000');
    other.exec('BEGIN IMMEDIATE');
    let answered = false;
    const pending = store.append(leaf(1)).then((i) => {
      answered = true;
      return i;
    });
    const started = Date.now();
    const fired = await tick(50);
    assert.ok(fired - started < 2000, `a 50 ms timer fired after ${fired - started} ms: the event loop was held`);
    assert.equal(await store.ledgerSize(), 1, 'reads answer meanwhile, and see only what committed');
    assert.equal(answered, false, 'no answer before the write committed');
    other.exec('COMMIT');
    other.close();
    assert.equal(await pending, 1);
    assert.equal(await store.ledgerSize(), 2);
  } finally {
    await store.close();
  }
});

test('writes keep their order and their answers across the thread: indexes, refusals, errors', async () => {
  const store = await openStore(`sqlite:${join(tempDir(), 'tether.db')}`);
  try {
    const indexes = await Promise.all(Array.from({ length: 50 }, (_, i) => store.append(leaf(i))));
    assert.deepEqual(
      [...indexes].sort((a, b) => a - b),
      Array.from({ length: 50 }, (_, i) => i),
    );
    const entries = await store.entries(0, 50);
    assert.deepEqual(
      entries.map((e) => (e.leaf.detail as { seq: number }).seq),
      indexes.map((_, k) => indexes.indexOf(k)),
      'each caller got the index its own leaf was written at',
    );
    const refused = await store.resetBreaker('agent', 'nobody', { by: 'alice', reason: 'test' }, Date.now());
    assert.equal(refused.ok, false, 'a refusal crosses back as a value');
    const root = Buffer.alloc(32, 7);
    const signature = Buffer.alloc(64, 9);
    await store.saveCheckpoint({ size: 50, time: Date.now(), root, keyId: 'k', signature });
    const [c] = await store.checkpoints();
    assert.ok(
      c && Buffer.from(c.root).equals(root) && Buffer.from(c.signature).equals(signature),
      'bytes cross the thread intact',
    );
  } finally {
    await store.close();
  }
  await assert.rejects(store.append(leaf(99)), /closed/, 'a closed store refuses writes instead of hanging');
});

test('only the store’s own write jobs can be named', () => {
  for (const name of ['constructor', '__proto__', 'toString', 'nope']) {
    assert.throws(() => batchJob(name as never, [] as never), /no write job/);
    assert.throws(() => soloJob(name as never, [] as never), /no write job/);
  }
});
