// The directory service on both backends: a replica sees another's SCIM writes after refresh; a
// write the store refuses leaves the in-memory directory (what decisions read) as it was.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { DirectoryService, type OwnerChange } from '../../src/service/directory.ts';
import type { ScimResource } from '../../src/service/directory-index.ts';
import { openStore } from '../../src/store/open.ts';
import { BACKENDS } from '../store/backends.ts';
import { agentDoc, governanceDoc, policyOf } from '../support/policy.ts';

const policy = policyOf(
  governanceDoc({ approvals: { administrators: ['root@example.com'] } }),
  agentDoc('scaler', { owner: { id: 'alice@example.com' }, approvers: ['bob@example.com'] }),
);
const T = '2026-01-01T00:00:00.000Z';
const alice = (version: number, active: boolean, id = 'u-alice'): ScimResource => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
  id,
  userName: 'alice@example.com',
  active,
  meta: { resourceType: 'User', created: T, lastModified: T, version: `W/"${version}"` },
});

function activeIn(d: DirectoryService, name: string): boolean {
  const s = d.view(true).directory?.standing(name);
  assert.ok(s?.kind === 'user', `${name} is a user in the directory`);
  return s.active;
}

for (const backend of BACKENDS) {
  describe(`directory service on ${backend.name}`, { skip: backend.skip }, () => {
    after(() => backend.cleanup());

    test('another replica sees a write after refresh; owner changes are reported with who to notify and the ledger index', async () => {
      const url = await backend.fresh();
      const [s1, s2] = [await openStore(url), await openStore(url)];
      try {
        const changes: OwnerChange[] = [];
        const a = new DirectoryService({ store: s1, policy: () => policy, onOwnerChange: (c) => changes.push(...c) });
        const b = new DirectoryService({ store: s2, policy: () => policy });
        await a.refresh();
        await b.refresh();
        assert.ok((await a.put(alice(1, true), undefined)).ok);
        assert.equal(b.view(true).directory?.standing('alice@example.com'), undefined, 'not yet');
        await b.refresh();
        assert.deepEqual(b.view(true).directory?.standing('Alice@Example.com'), {
          kind: 'user',
          id: 'u-alice',
          userName: 'alice@example.com',
          active: true,
        });
        assert.ok((await a.put(alice(2, false), 1)).ok);
        const inactive = changes.at(-1);
        assert.equal(inactive?.event, 'owner-inactive');
        assert.deepEqual(inactive?.notify, ['bob@example.com', 'root@example.com']);
        const [leaf] = await s1.entries(inactive?.ledgerIndex ?? -1, (inactive?.ledgerIndex ?? -1) + 1);
        assert.equal(leaf?.leaf.detail?.event, 'owner-inactive');
        await b.refresh();
        assert.equal(activeIn(b, 'alice@example.com'), false);
      } finally {
        await s1.close();
        await s2.close();
      }
    });

    test('a write the store refuses (stale version) changes nothing in memory and ledgers nothing', async () => {
      const url = await backend.fresh();
      const store = await openStore(url);
      try {
        const changes: OwnerChange[] = [];
        const d = new DirectoryService({ store, policy: () => policy, onOwnerChange: (c) => changes.push(...c) });
        await d.refresh();
        await d.put(alice(1, true), undefined);
        const size = await store.ledgerSize();
        const stale = await d.put(alice(2, false), 7);
        assert.equal(stale.ok, false);
        assert.equal(activeIn(d, 'alice@example.com'), true);
        assert.equal(await store.ledgerSize(), size);
        assert.equal(changes.length, 1, 'only the first (creation) change was reported');
        const dup = await d.put(alice(1, true, 'u-other'), undefined);
        assert.equal(dup.ok ? undefined : dup.conflict, 'uniqueness');
        assert.equal(d.index.users.size, 1);
      } finally {
        await store.close();
      }
    });
  });
}
