// What the reviewer's views need from the store, on both backends: the object a pending action
// asked to write (kept beside its approval request) and the ledger of one chain.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { ApprovalAsk } from '../../src/engine/decision.ts';
import type { LedgerLeaf } from '../../src/ledger/leaf.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';
import { BACKENDS } from './backends.ts';

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const leaf = (extra: Partial<LedgerLeaf> = {}): LedgerLeaf => ({
  v: 1,
  time: new Date(T0).toISOString(),
  kind: 'decision',
  agent: 'scaler',
  ...extra,
});
const ask: ApprovalAsk = {
  agent: 'scaler',
  actionDigest: 'sha256:abc',
  summary: 's',
  rules: ['authority/supervised-approval'],
  approvers: ['alice'],
  minApprovals: 1,
  ttlMs: 60_000,
};
const chain = (id: string, depth: number, path: string[]) => ({ id, depth, path });

for (const backend of BACKENDS) {
  describe(`review queries on ${backend.name}`, { skip: backend.skip }, () => {
    const stores: Store[] = [];
    const open = async () => {
      const s = await openStore(await backend.fresh());
      stores.push(s);
      return s;
    };
    after(async () => {
      for (const s of stores) await s.close().catch(() => undefined);
      await backend.cleanup();
    });

    test('the requested object is kept with the request it opened, once; none for an approval without one', async () => {
      const s = await open();
      const requested = { object: { spec: { replicas: 4 } }, oldObject: { spec: { replicas: 2 } } };
      const r1 = await s.commit(leaf({ decision: 'pending' }), [], T0, { approvalAsk: ask, requested });
      // A retry of the same action reuses the request: the first object stays.
      const r2 = await s.commit(leaf({ decision: 'pending' }), [], T0 + 1, {
        approvalAsk: ask,
        requested: { object: { spec: { replicas: 9 } } },
      });
      assert.ok(r1.ok && r2.ok && r1.approvalId === r2.approvalId);
      assert.deepEqual(await s.requestedObjects(r1.approvalId as string), requested);
      const bare = await s.commit(leaf({ decision: 'pending' }), [], T0, {
        approvalAsk: { ...ask, actionDigest: 'sha256:other' },
      });
      assert.ok(bare.ok);
      assert.equal(await s.requestedObjects(bare.approvalId as string), undefined);
      const createOnly = await s.commit(leaf({ decision: 'pending' }), [], T0, {
        approvalAsk: { ...ask, actionDigest: 'sha256:third' },
        requested: { object: { a: 1 } },
      });
      assert.ok(createOnly.ok);
      assert.deepEqual(await s.requestedObjects(createOnly.approvalId as string), {
        object: { a: 1 },
        oldObject: undefined,
      });

      // Pruning past the requests' deadline drops the objects; the approvals and the ledger stay.
      await s.prune(T0 + 30_000);
      assert.deepEqual(await s.requestedObjects(r1.approvalId as string), requested, 'still decidable: kept');
      await s.prune(T0 + 60_001);
      assert.equal(await s.requestedObjects(r1.approvalId as string), undefined);
      assert.equal((await s.approval(r1.approvalId as string))?.status, 'pending');
      assert.equal(await s.ledgerSize(), 4);
    });

    test('the ledger by chain id: only that chain, in log order, with the other filters', async () => {
      const s = await open();
      await s.append(leaf({ chain: chain('c-1', 0, []) }));
      await s.append(leaf({ chain: chain('c-2', 0, []) }));
      await s.append(leaf({ agent: 'release', chain: chain('c-1', 1, ['scaler']) }));
      await s.append(leaf({}));
      await s.append(leaf({ kind: 'tool-result', agent: 'reader', chain: chain('c-1', 2, ['scaler', 'release']) }));
      const idx = async (q: Parameters<Store['queryLedger']>[0]) => (await s.queryLedger(q)).map((e) => e.index);
      assert.deepEqual(await idx({ chain: 'c-1' }), [0, 2, 4]);
      assert.deepEqual(await idx({ chain: 'c-2' }), [1]);
      assert.deepEqual(await idx({ chain: 'c-1', kind: 'tool-result' }), [4]);
      assert.deepEqual(await idx({ chain: "c-1' OR '1'='1" }), [], 'a parameter, never SQL');
      assert.deepEqual(await idx({ chain: 'nope' }), []);
      assert.deepEqual(
        await idx({ chain: 'c-1', newestFirst: true, limit: 2 }),
        [4, 2],
        'newest first keeps the latest',
      );
    });
  });
}
