// The directory and attestations on both backends: optimistic versions, name uniqueness that the
// database enforces, writes and their ledger leaves together or not at all.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { LedgerLeaf } from '../../src/ledger/leaf.ts';
import { openStore } from '../../src/store/open.ts';
import type { DirectoryWrite } from '../../src/store/store.ts';
import { BACKENDS, behindTethersBack } from './backends.ts';

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const leaf = (message: string): LedgerLeaf => ({
  v: 1,
  time: new Date(T0).toISOString(),
  kind: 'owner',
  agent: 'scaler',
  owner: 'alice',
  message,
});
const put = (id: string, name: string, version: number, previous: number | undefined): DirectoryWrite => ({
  kind: 'put',
  type: 'User',
  id,
  nameKey: name,
  version,
  data: JSON.stringify({ id, userName: name, meta: { version: `W/"${version}"` } }),
  previous,
});

for (const backend of BACKENDS) {
  describe(`directory store on ${backend.name}`, { skip: backend.skip }, () => {
    after(() => backend.cleanup());

    test('create, replace, delete with versions; the head version moves; leaves land with the write', async () => {
      const store = await openStore(await backend.fresh());
      try {
        assert.equal(await store.directoryVersion(), 0);
        const created = await store.writeDirectory([put('u1', 'alice', 1, undefined)], [], T0);
        assert.deepEqual(created, { ok: true, indexes: [], version: 1 });
        const replaced = await store.writeDirectory([put('u1', 'alice', 2, 1)], [leaf('owner alice deactivated')], T0);
        assert.ok(replaced.ok);
        assert.deepEqual(replaced.indexes, [0]);
        assert.equal((await store.entries(0, 1))[0]?.leaf.kind, 'owner');
        assert.equal(await store.directoryVersion(), 2);
        assert.deepEqual(
          (await store.scimRows()).map((r) => [r.id, r.version]),
          [['u1', 2]],
        );
        assert.ok((await store.writeDirectory([{ kind: 'delete', type: 'User', id: 'u1', previous: 2 }], [], T0)).ok);
        assert.deepEqual(await store.scimRows(), []);
      } finally {
        await store.close();
      }
    });

    test('a stale version, a duplicate userName or a missing resource refuses the whole write, leaves included', async () => {
      const store = await openStore(await backend.fresh());
      try {
        await store.writeDirectory([put('u1', 'alice', 1, undefined), put('u2', 'bob', 1, undefined)], [], T0);
        const stale = await store.writeDirectory([put('u2', 'bob', 2, 1), put('u1', 'alice', 2, 0)], [leaf('x')], T0);
        assert.deepEqual(stale.ok ? undefined : stale.conflict, 'version');
        const dup = await store.writeDirectory([put('u3', 'alice', 1, undefined)], [leaf('x')], T0);
        assert.deepEqual(dup.ok ? undefined : dup.conflict, 'uniqueness');
        const exists = await store.writeDirectory([put('u1', 'carol', 1, undefined)], [], T0);
        assert.deepEqual(exists.ok ? undefined : exists.conflict, 'version');
        const gone = await store.writeDirectory([{ kind: 'delete', type: 'User', id: 'nope', previous: 1 }], [], T0);
        assert.deepEqual(gone.ok ? undefined : gone.conflict, 'missing');
        assert.equal(await store.ledgerSize(), 0, 'no leaf of a refused write reached the ledger');
        assert.deepEqual(
          (await store.scimRows()).map((r) => [r.id, r.version]),
          [
            ['u1', 1],
            ['u2', 1],
          ],
        );
      } finally {
        await store.close();
      }
    });

    test('the database itself refuses a second row with the same name (a write that skipped the check)', async () => {
      const url = await backend.fresh();
      const store = await openStore(url);
      await store.writeDirectory([put('u1', 'alice', 1, undefined)], [], T0);
      await store.close();
      await assert.rejects(
        behindTethersBack(
          url,
          "INSERT INTO scim_resources (type, id, name_key, version, data, created, modified) VALUES ('User', 'u9', 'alice', 1, '{}', 0, 0)",
        ),
      );
    });

    test('attestations are ledgered and listed newest first', async () => {
      const store = await openStore(await backend.fresh());
      try {
        const a = await store.attest(
          { agent: 'scaler', owner: 'alice', until: T0 + 1000, reason: 'still mine', by: 'alice' },
          leaf('attested'),
          T0,
        );
        await store.attest(
          { agent: 'scaler', owner: 'alice', until: T0 + 2000, reason: 'renewed', by: 'alice' },
          leaf('attested again'),
          T0 + 1,
        );
        const list = await store.attestations({ agent: 'scaler' });
        assert.deepEqual(
          list.map((x) => [x.until, x.reason]),
          [
            [T0 + 2000, 'renewed'],
            [T0 + 1000, 'still mine'],
          ],
        );
        assert.equal(list[1]?.ledgerIndex, a.index);
        assert.deepEqual(await store.attestations({ agent: 'other' }), []);
      } finally {
        await store.close();
      }
    });
  });
}
