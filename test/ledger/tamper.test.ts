// Rows edited, deleted, swapped, added or rewritten behind Tether's back: verify names the first bad index.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ledgerExport, ledgerPubkey, ledgerVerify } from '../../src/cli/commands/ledger.ts';
import { leafHash } from '../../src/ledger/hash.ts';
import { leafData, type LedgerLeaf } from '../../src/ledger/leaf.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { verifyStore } from '../../src/ledger/verify.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';
import { BACKENDS, behindTethersBack, tempDir } from '../store/backends.ts';

const leaf = (i: number): LedgerLeaf => ({
  v: 1,
  time: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
  kind: 'decision',
  agent: `agent-${i % 3}`,
  decision: 'allow',
  detail: { i },
});

for (const backend of BACKENDS) {
  describe(`tamper evidence on ${backend.name}`, { skip: backend.skip }, () => {
    const stores: Store[] = [];
    after(async () => {
      for (const s of stores) await s.close();
      await backend.cleanup();
    });

    /** 20 entries with signed checkpoints at 10 and 20. */
    const logOf20 = async () => {
      const url = await backend.fresh();
      const store = await openStore(url);
      stores.push(store);
      const ledger = Ledger.inDataDir(store, tempDir());
      for (let i = 0; i < 10; i++) await store.append(leaf(i));
      await ledger.checkpoint();
      for (let i = 10; i < 20; i++) await store.append(leaf(i));
      await ledger.checkpoint();
      // Every finding must be the same whether one thread rehashes the log or three share it.
      const verify = async () => {
        const one = await verifyStore(store, [ledger.signer.publicKey], { threads: 1 });
        const three = await verifyStore(store, [ledger.signer.publicKey], { threads: 3 });
        assert.equal(three.ok, one.ok);
        assert.equal(three.firstBadIndex, one.firstBadIndex, `three threads: ${three.problems.join('; ')}`);
        return one;
      };
      return { url, ledger, verify };
    };

    test('an untouched log verifies', async () => {
      const { ledger } = await logOf20();
      const r = await ledgerVerify({ ledger });
      assert.equal(r.exitCode, 0, r.text);
      assert.equal(r.data.verified, 20);
      assert.equal(r.data.checkpoints, 2);
    });

    test('edited content: the entry whose data no longer matches its hash', async () => {
      const { url, ledger } = await logOf20();
      await behindTethersBack(url, "UPDATE ledger SET data = replace(data, 'agent-1', 'agent-X') WHERE idx = ?", [7]);
      const r = await ledgerVerify({ ledger });
      assert.equal(r.exitCode, 2);
      assert.equal(r.data.firstBadIndex, 7);
      assert.match(r.text, /first bad index: 7/);
      assert.match(r.text, /entry 7 was altered/);
    });

    test('a deleted row: the missing index', async () => {
      const { url, verify } = await logOf20();
      await behindTethersBack(url, 'DELETE FROM ledger WHERE idx = ?', [7]);
      const r = await verify();
      assert.equal(r.firstBadIndex, 7);
      assert.match(r.problems[0] as string, /entry 7 is missing/);
    });

    test('two rows swapped whole (content and hash): the first moved entry', async () => {
      const { url, verify } = await logOf20();
      await behindTethersBack(url, 'UPDATE ledger SET idx = -1 WHERE idx = 7');
      await behindTethersBack(url, 'UPDATE ledger SET idx = 7 WHERE idx = 8');
      await behindTethersBack(url, 'UPDATE ledger SET idx = 8 WHERE idx = -1');
      const r = await verify();
      assert.equal(r.firstBadIndex, 7);
      assert.match(r.problems[0] as string, /entry 7 is out of place: it holds the entry written at index 8/);
    });

    test('a swap is still named exactly when entries carry an "index" key of their own inside', async () => {
      const url = await backend.fresh();
      const store = await openStore(url);
      stores.push(store);
      for (let i = 0; i < 6; i++)
        await store.append({ ...leaf(i), detail: { index: 5 - i, note: 'has "index": 3, in a string' } });
      await behindTethersBack(url, 'UPDATE ledger SET idx = -1 WHERE idx = 2');
      await behindTethersBack(url, 'UPDATE ledger SET idx = 2 WHERE idx = 4');
      await behindTethersBack(url, 'UPDATE ledger SET idx = 4 WHERE idx = -1');
      const r = await verifyStore(store, []);
      assert.equal(r.firstBadIndex, 2);
      assert.match(r.problems[0] as string, /holds the entry written at index 4/);
    });

    test("an entry rewritten with a matching hash and position: named exactly by the next entry's link", async () => {
      const { url, ledger, verify } = await logOf20();
      const [original] = await ledger.store.entries(12, 13);
      const forged = leafData(12, { ...original?.leaf, decision: 'deny' } as LedgerLeaf);
      await behindTethersBack(url, 'UPDATE ledger SET data = ?, leaf_hash = ? WHERE idx = ?', [
        forged,
        leafHash(forged),
        12,
      ]);
      const r = await verify();
      assert.equal(r.ok, false);
      assert.equal(r.firstBadIndex, 12);
      assert.match(r.problems[0] as string, /entry 12 was rewritten together with its stored hash/);
    });

    test('the last entry before a checkpoint rewritten (no later link): caught by the signed root', async () => {
      const { url, ledger, verify } = await logOf20();
      const [original] = await ledger.store.entries(19, 20);
      const forged = leafData(19, { ...original?.leaf, decision: 'deny' } as LedgerLeaf);
      await behindTethersBack(url, 'UPDATE ledger SET data = ?, leaf_hash = ? WHERE idx = ?', [
        forged,
        leafHash(forged),
        19,
      ]);
      const r = await verify();
      assert.equal(r.ok, false);
      // The checkpoint at 10 still holds, so the rewrite lies in 10..19.
      assert.equal(r.firstBadIndex, 10);
      assert.match(r.problems[0] as string, /entries 10\.\.19 differ from what the checkpoint at size 20/);
    });

    test('the tail cut off: the first missing index, whether or not the head was moved back', async () => {
      const { url, verify } = await logOf20();
      await behindTethersBack(url, 'DELETE FROM ledger WHERE idx >= ?', [15]);
      const r1 = await verify();
      assert.equal(r1.firstBadIndex, 15);
      await behindTethersBack(url, 'UPDATE ledger_head SET size = ? WHERE id = 1', [15]);
      const r2 = await verify();
      assert.equal(r2.firstBadIndex, 15);
      assert.match(r2.problems.join('\n'), /a checkpoint signed 20/);
    });

    test('a row slipped in past the head', async () => {
      const { url, verify } = await logOf20();
      const extra = leafData(20, leaf(20));
      await behindTethersBack(
        url,
        "INSERT INTO ledger (idx, at, kind, leaf_hash, data) VALUES (?, ?, 'decision', ?, ?)",
        [20, 0, leafHash(extra), extra],
      );
      const r = await verify();
      assert.equal(r.firstBadIndex, 20);
    });

    test('a checkpoint whose signature was tampered with', async () => {
      const { url, verify } = await logOf20();
      await behindTethersBack(url, 'UPDATE checkpoints SET at = at + 1 WHERE size = ?', [10]);
      const r = await verify();
      assert.equal(r.ok, false);
      assert.match(r.problems[0] as string, /checkpoint at size 10 has a bad signature/);
    });

    test('export: JSON Lines with proofs, verified offline with the public key; edits in the file are found', async () => {
      const { url, ledger } = await logOf20();
      const dir = tempDir();
      const file = join(dir, 'ledger.jsonl');
      const keyFile = join(dir, 'ledger.pub.pem');
      writeFileSync(keyFile, (await ledgerPubkey({ ledger })).data.pem);
      const exported = await ledgerExport({ ledger, out: file });
      assert.equal(exported.data.entries, 20);
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
      assert.equal(lines.length, 21);
      assert.equal(JSON.parse(lines[0] as string).type, 'checkpoint');

      const ok = await ledgerVerify({ file, publicKey: keyFile });
      assert.equal(ok.exitCode, 0, ok.text);
      assert.equal(ok.data.verified, 20);

      const variant = (name: string, edit: (ls: string[]) => string[]) => {
        const f = join(dir, name);
        writeFileSync(f, `${edit([...lines]).join('\n')}\n`);
        return f;
      };
      const edited = variant('edited.jsonl', (ls) =>
        ls.map((l, i) => (i === 6 ? l.replace('"agent-2"', '"agent-0"') : l)),
      );
      assert.equal((await ledgerVerify({ file: edited, publicKey: keyFile })).data.firstBadIndex, 5);
      const dropped = variant('dropped.jsonl', (ls) => ls.filter((_, i) => i !== 4));
      assert.equal((await ledgerVerify({ file: dropped, publicKey: keyFile })).data.firstBadIndex, 3);
      const swapped = variant('swapped.jsonl', (ls) => [
        ls[0] as string,
        ls[2] as string,
        ls[1] as string,
        ...ls.slice(3),
      ]);
      assert.equal((await ledgerVerify({ file: swapped, publicKey: keyFile })).data.firstBadIndex, 0);
      const resigned = variant('resigned.jsonl', (ls) => [
        (ls[0] as string).replace(/"size":20/, '"size":19'),
        ...ls.slice(1, -1),
      ]);
      const r = await ledgerVerify({ file: resigned, publicKey: keyFile });
      assert.equal(r.exitCode, 2);
      assert.match(r.text, /signature is invalid/);

      const otherKey = (await ledgerPubkey({ ledger: Ledger.inDataDir(ledger.store, tempDir()) })).data.pem;
      assert.match((await ledgerVerify({ file, publicKey: otherKey })).text, /not by the given key/);

      // A log that does not verify is not exported: a fresh signature would launder it.
      await behindTethersBack(url, "UPDATE ledger SET data = replace(data, 'allow', 'deny') WHERE idx = ?", [3]);
      await assert.rejects(ledgerExport({ ledger, out: join(dir, 'refused.jsonl') }), /does not verify/);
    });
  });
}
