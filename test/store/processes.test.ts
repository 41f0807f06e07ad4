// Several real processes: a writer killed with SIGKILL mid-stream, three writers at once, and
// budgets contended across processes.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { Ledger } from '../../src/ledger/ledger.ts';
import { verifyStore } from '../../src/ledger/verify.ts';
import { openStore } from '../../src/store/open.ts';
import { BACKENDS, tempDir } from './backends.ts';

const WORKER = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));

function worker(...args: string[]): {
  child: ChildProcess;
  lines: AsyncIterable<string>;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, [WORKER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  async function* lines() {
    let rest = '';
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      const parts = (rest + chunk.toString('utf8')).split('\n');
      rest = parts.pop() ?? '';
      yield* parts;
    }
  }
  return { child, lines: lines(), exited };
}

async function output(w: ReturnType<typeof worker>): Promise<string[]> {
  const out: string[] = [];
  for await (const l of w.lines) out.push(l);
  assert.equal(await w.exited, 0, 'worker exited cleanly');
  return out;
}

for (const backend of BACKENDS) {
  describe(`processes on ${backend.name}`, { skip: backend.skip }, () => {
    after(() => backend.cleanup());

    test('durability: every acknowledged append survives kill -9 of the writer, and the log verifies', async () => {
      const url = await backend.fresh();
      const w = worker('append-loop', url, 'durable');
      const acked = new Map<number, number>();
      for await (const line of w.lines) {
        const [, index, seq] = line.split(' ');
        acked.set(Number(index), Number(seq));
        if (acked.size >= 3000) {
          w.child.kill('SIGKILL');
          break;
        }
      }
      await w.exited;
      const store = await openStore(url);
      try {
        const size = await store.ledgerSize();
        assert.ok(size >= acked.size, `${size} entries survive, ${acked.size} were acknowledged`);
        const entries = await store.entries(0, size);
        const seqAt = new Map(entries.map((e) => [e.index, (e.leaf.detail as { seq: number }).seq]));
        for (const [index, seq] of acked)
          assert.equal(seqAt.get(index), seq, `acknowledged entry ${index} is there, as written`);
        const report = await verifyStore(store, []);
        assert.ok(report.ok, report.problems.join('; '));
        assert.equal(report.verified, size);
      } finally {
        await store.close();
      }
    });

    test('budget counters contended by three processes never pass the limit', async () => {
      const url = await backend.fresh();
      await (await openStore(url)).close();
      const start = String(Date.now() + 1500);
      const ws = ['p1', 'p2', 'p3'].map((tag) => worker('consume', url, tag, '100', '120', start));
      const oks = (await Promise.all(ws.map(output))).map((o) => Number((o[0] as string).split(' ')[1]));
      assert.equal(
        oks.reduce((x, y) => x + y, 0),
        120,
        `granted per process: ${oks.join(', ')}`,
      );
      const store = await openStore(url);
      try {
        assert.equal(await store.ledgerSize(), 120);
      } finally {
        await store.close();
      }
    });

    test('three processes appending at once: one log, no gaps, no forks', async () => {
      const url = await backend.fresh();
      await (await openStore(url)).close();
      const start = String(Date.now() + 1500);
      const ws = ['w1', 'w2', 'w3'].map((tag) => worker('append', url, tag, '2000', start));
      await Promise.all(ws.map(output));
      const store = await openStore(url);
      try {
        assert.equal(await store.ledgerSize(), 6000);
        const entries = await store.entries(0, 6000);
        assert.deepEqual(
          entries.map((e) => e.index),
          Array.from({ length: 6000 }, (_, i) => i),
        );
        const byTag = new Map<string, number[]>();
        for (const e of entries)
          byTag.set(e.leaf.agent as string, [
            ...(byTag.get(e.leaf.agent as string) ?? []),
            (e.leaf.detail as { seq: number }).seq,
          ]);
        for (const tag of ['w1', 'w2', 'w3'])
          assert.deepEqual(
            [...(byTag.get(tag) ?? [])].sort((x, y) => x - y),
            Array.from({ length: 2000 }, (_, i) => i),
            `${tag}: each append exactly once`,
          );
        // PostgreSQL writers queue on the head row lock and alternate; a SQLite writer that is
        // waiting for the file lock may sleep while another re-takes it, so there only the result counts.
        if (backend.name === 'postgres') {
          const switches = entries.filter((e, i) => i > 0 && e.leaf.agent !== entries[i - 1]?.leaf.agent).length;
          assert.ok(switches > 3, `the writers really overlapped (${switches} interleavings)`);
        }
        const ledger = Ledger.inDataDir(store, tempDir());
        await ledger.checkpoint();
        const report = await verifyStore(store, [ledger.signer.publicKey]);
        assert.ok(report.ok, report.problems.join('; '));
      } finally {
        await store.close();
      }
    });
  });
}
