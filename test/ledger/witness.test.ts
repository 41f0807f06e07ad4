// Issue 12, item 3: the ledger against whoever can write its database, and against whoever holds
// the signing key today. Each test plays one attack from the issue on both store backends.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ledgerExport, ledgerProveConsistency, ledgerShow, ledgerVerify } from '../../src/cli/commands/ledger.ts';
import { newSigningKeyPem } from '../../src/ledger/checkpoint.ts';
import { leafHash } from '../../src/ledger/hash.ts';
import { type LedgerLeaf, leafData } from '../../src/ledger/leaf.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { DirectorySink } from '../../src/ledger/witness.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';
import { BACKENDS, behindTethersBack, tempDir } from '../store/backends.ts';
import { rewriteAndRelink } from '../support/ledger-attacker.ts';

const T0 = Date.UTC(2026, 0, 1);
const leaf = (i: number): LedgerLeaf => ({
  v: 1,
  time: new Date(T0 + i * 1000).toISOString(),
  kind: 'decision',
  agent: `agent-${i % 3}`,
  actor: i % 5 === 0 ? 'alice@example.com' : undefined,
  decision: 'allow',
  target: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'shop', name: `web-${i}` },
  detail: { i },
});
/** A moment when every test entry is minutes old: fresh enough that age alone passes. */
const SOON = T0 + 5 * 60_000;
const TEN_MINUTES = 10 * 60_000;

for (const backend of BACKENDS) {
  describe(`ledger attacks from issue 12 on ${backend.name}`, { skip: backend.skip }, () => {
    const stores: Store[] = [];
    after(async () => {
      for (const s of stores) await s.close();
      await backend.cleanup();
    });

    /** `n` entries, signed checkpoints at each size in `at`, every checkpoint also published to a witness directory. */
    const log = async (n: number, at: readonly number[]) => {
      const url = await backend.fresh();
      const store = await openStore(url);
      stores.push(store);
      const witness = join(tempDir(), 'witness');
      const ledger = Ledger.inDataDir(store, tempDir());
      ledger.publishTo(new DirectorySink(witness));
      for (let i = 0; i < n; i++) {
        await store.append(leaf(i));
        if (at.includes(i + 1)) await ledger.checkpoint(T0 + i * 1000);
      }
      return { url, store, ledger, witness };
    };

    test('a rewrite at 45 is reported at 45, not at the last good checkpoint (34)', async () => {
      const { url, store, ledger } = await log(50, [34, 50]);
      const [e] = await store.entries(45, 46);
      const forged = leafData(45, { ...e?.leaf, decision: 'deny' } as LedgerLeaf);
      await behindTethersBack(url, 'UPDATE ledger SET data = ?, leaf_hash = ? WHERE idx = ?', [
        forged,
        leafHash(forged),
        45,
      ]);
      const r = await ledgerVerify({ ledger });
      assert.equal(r.exitCode, 2);
      assert.equal(r.data.firstBadIndex, 45, r.text);
      assert.match(r.text, /first bad index: 45/);
    });

    for (const [column, value] of [
      ['agent', 'someone-else'],
      ['kind', 'drift'],
      ['at', 0],
      ['object', 'deployments.apps:shop/other'],
      ['actor', 'mallory@example.com'],
    ] as const) {
      test(`the indexed ${column} column edited: verify names the entry and the column`, async () => {
        const { url, ledger } = await log(20, [10, 20]);
        await behindTethersBack(url, `UPDATE ledger SET ${column} = ? WHERE idx = ?`, [value, 7]);
        const r = await ledgerVerify({ ledger });
        assert.equal(r.exitCode, 2);
        assert.equal(r.data.firstBadIndex, 7, r.text);
        assert.match(r.text, new RegExp(`entry 7 was altered: its indexed ${column} column`));
      });
    }

    test('the edited agent column is what hid the row from ledger show --agent', async () => {
      const { url, ledger } = await log(9, [9]);
      const before = (await ledgerShow({ ledger, agent: 'agent-1' })).data.map((e) => e.index);
      assert.deepEqual(before, [1, 4, 7]);
      await behindTethersBack(url, 'UPDATE ledger SET agent = ? WHERE idx = ?', ['agent-2', 4]);
      assert.deepEqual(
        (await ledgerShow({ ledger, agent: 'agent-1' })).data.map((e) => e.index),
        [1, 7],
      );
      assert.equal((await ledgerVerify({ ledger })).data.firstBadIndex, 4);
    });

    test('DELETE FROM checkpoints: fails once the unsigned entries are older than the configured age, and against a witness at once', async () => {
      const { url, ledger, witness } = await log(20, [10, 20]);
      await behindTethersBack(url, 'DELETE FROM checkpoints');
      const fresh = await ledgerVerify({ ledger, maxUnsignedAgeMs: TEN_MINUTES, now: SOON });
      assert.equal(fresh.exitCode, 0, 'entries minutes old may still wait for their checkpoint');
      const stale = await ledgerVerify({ ledger, maxUnsignedAgeMs: TEN_MINUTES, now: T0 + 3_600_000 });
      assert.equal(stale.exitCode, 2);
      assert.equal(stale.data.firstBadIndex, 0);
      assert.match(stale.text, /entries 0\.\.19 are not covered by any signed checkpoint/);
      const witnessed = await ledgerVerify({ ledger, against: [witness], maxUnsignedAgeMs: TEN_MINUTES, now: SOON });
      assert.equal(witnessed.exitCode, 2);
      assert.match(witnessed.text, /no longer holds the checkpoint of size 20 witnessed/);
    });

    test('an entry rewritten and every checkpoint re-signed with the key: only a witnessed checkpoint shows it, an export names the entry', async () => {
      const { url, store, ledger, witness } = await log(20, [10, 20]);
      const exportFile = join(tempDir(), 'before.jsonl');
      await ledgerExport({ ledger, out: exportFile });
      await rewriteAndRelink(url, store, 12, (l) => ({ ...l, decision: 'deny' }));
      await behindTethersBack(url, 'DELETE FROM checkpoints');
      // The attacker holds the key today and signs the rewritten log (without publishing it).
      const attacker = new Ledger(store, () => ledger.signer);
      await attacker.checkpoint(T0 + 30_000);
      const alone = await ledgerVerify({ ledger, maxUnsignedAgeMs: TEN_MINUTES, now: SOON });
      assert.equal(
        alone.exitCode,
        0,
        'what the database and the key say is self-consistent: this is why witnesses exist',
      );

      const r = await ledgerVerify({ ledger, against: [witness], maxUnsignedAgeMs: TEN_MINUTES, now: SOON });
      assert.equal(r.exitCode, 2);
      assert.match(r.text, /not an extension of the checkpoint of size 20 witnessed/);
      assert.equal(r.data.firstBadIndex, 10, 'the witnessed checkpoint at 10 still holds: the rewrite lies in 10..19');
      const latestOnly = join(witness, 'latest.json');
      assert.equal(JSON.parse(readFileSync(latestOnly, 'utf8')).size, 20);

      const exact = await ledgerVerify({ ledger, against: [exportFile], maxUnsignedAgeMs: TEN_MINUTES, now: SOON });
      assert.equal(exact.exitCode, 2);
      assert.equal(exact.data.firstBadIndex, 12, exact.text);
      assert.match(exact.text, /entry 12 was rewritten or removed/);
    });

    test('the tail cut off together with its checkpoints (and the rest re-signed): caught against the witness', async () => {
      const { url, store, ledger, witness } = await log(20, [10, 20]);
      await behindTethersBack(url, 'DELETE FROM ledger WHERE idx >= ?', [15]);
      await behindTethersBack(url, 'UPDATE ledger_head SET size = ? WHERE id = 1', [15]);
      await behindTethersBack(url, 'DELETE FROM checkpoints WHERE size > ?', [15]);
      await new Ledger(store, () => ledger.signer).checkpoint(T0 + 30_000);
      assert.equal((await ledgerVerify({ ledger, maxUnsignedAgeMs: TEN_MINUTES, now: SOON })).exitCode, 0);
      const r = await ledgerVerify({ ledger, against: [witness], maxUnsignedAgeMs: TEN_MINUTES, now: SOON });
      assert.equal(r.exitCode, 2);
      assert.equal(r.data.firstBadIndex, 15);
      assert.match(
        r.text,
        /the log holds 15 entries, but a checkpoint witnessed .* signed 20: entries 15\.\.19 were cut off/,
      );
    });

    test('an untouched log is consistent with every witnessed checkpoint, the sink keeps each one, and proofs verify', async () => {
      const { ledger, witness } = await log(30, [7, 16, 30]);
      assert.deepEqual(readdirSync(witness).filter((f) => f.startsWith('checkpoint-')).length, 3);
      const r = await ledgerVerify({ ledger, against: [witness], maxUnsignedAgeMs: TEN_MINUTES, now: SOON });
      assert.equal(r.exitCode, 0, r.text);
      assert.deepEqual(
        r.data.witnessed?.map((w) => [w.size, w.consistent]),
        [
          [7, true],
          [16, true],
          [30, true],
        ],
      );
      const p = await ledgerProveConsistency({ ledger, from: 7, to: 30 });
      assert.equal(p.exitCode, 0, p.text);
      assert.ok(p.data.proof.length > 0);
    });

    test('a witnessed checkpoint signed by a key verify does not trust is a problem, not a pass', async () => {
      const { ledger } = await log(5, [5]);
      const dir = tempDir();
      const forged = join(dir, 'forged.json');
      const { CheckpointSigner } = await import('../../src/ledger/checkpoint.ts');
      const { createPrivateKey } = await import('node:crypto');
      const other = new CheckpointSigner(createPrivateKey(newSigningKeyPem()));
      const { published } = await import('../../src/ledger/witness.ts');
      writeFileSync(forged, JSON.stringify(published(other.sign(5, (await ledger.tree()).root(), T0))));
      const r = await ledgerVerify({ ledger, against: [forged], maxUnsignedAgeMs: TEN_MINUTES, now: SOON });
      assert.equal(r.exitCode, 2);
      assert.match(r.text, /which this verify does not trust/);
    });
  });
}
