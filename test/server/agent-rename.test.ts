// Issue 12, item 2: renaming an Agent must not skip human review. A boundary belongs to the
// identities that act, not to the Agent's name: deleting `a` and adding `b` with a's identities
// and `*` on everything is a widening from a's last enforced boundary, on both store backends.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { CompiledPolicy } from '../../src/policy/compile.ts';
import type { AgentDocument, AgentSpec } from '../../src/policy/schema.ts';
import { PolicyController } from '../../src/server/policy-controller.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';
import { BACKENDS } from '../store/backends.ts';

const SA = { kind: 'ServiceAccount' as const, namespace: 'agents', name: 'deployer' };
const narrow: AgentSpec = {
  owner: { id: 'alice@example.com' },
  authorityClass: 'supervised',
  identities: [SA],
  boundary: {
    namespaces: ['shop'],
    rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'update'] }],
  },
};
const everything: AgentSpec = {
  owner: { id: 'alice@example.com' },
  authorityClass: 'autonomous',
  identities: [SA],
  boundary: {
    namespaces: ['*'],
    rules: [
      { apiGroups: ['*'], resources: ['*'], verbs: ['*'], clusterScope: true },
      { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
    ],
  },
};
const agent = (name: string, spec: AgentSpec) => ({
  doc: { apiVersion: 'tether.dev/v1alpha1', kind: 'Agent', metadata: { name }, spec } as AgentDocument,
  file: 'policy.yaml',
  document: 0,
});

for (const backend of BACKENDS) {
  describe(`renaming an Agent on ${backend.name}`, { skip: backend.skip }, () => {
    const stores: Store[] = [];
    after(async () => {
      for (const s of stores) await s.close();
      await backend.cleanup();
    });

    const controller = async () => {
      const store = await openStore(await backend.fresh());
      stores.push(store);
      const state: { policy?: CompiledPolicy; requested: { agent: string; changes: readonly string[] }[] } = {
        requested: [],
      };
      const c = new PolicyController(store, {
        onPolicy: (p) => void (state.policy = p),
        onProblems: (problems) => assert.fail(problems.map((p) => p.message).join('; ')),
        onExpansionRequested: (r) => void state.requested.push(r),
      });
      const submit = (...agents: ReturnType<typeof agent>[]) => c.submit({ agents, governance: [] }, 'test');
      return { store, c, state, submit };
    };

    test("delete a, add b with the same identities and * on everything: expansion pending, a's boundary enforced", async () => {
      const { store, c, state, submit } = await controller();
      await submit(agent('a', narrow));
      await submit();
      await submit(agent('b', everything));
      const b = state.policy?.agents.get('b');
      assert.ok(b, 'b is enforced, with the boundary its identities last had');
      assert.equal(b.authorityClass, 'supervised');
      assert.deepEqual(b.spec.boundary?.namespaces, ['shop']);
      const [pending] = await store.expansions({ status: 'pending', agent: 'b' });
      assert.ok(pending, 'the widening waits for a human');
      assert.match(pending.summary ?? '', /authority class supervised → autonomous/);
      assert.match(pending.summary ?? '', /new namespace \*/);
      assert.equal(state.requested.length, 1);
      const enforced = await store.enforcedAgent('b');
      assert.match(enforced?.reason ?? '', /last enforced under agent a/);

      // Reconciling again changes nothing and opens no second request.
      await submit(agent('b', everything));
      assert.equal((await store.expansions({ status: 'pending', agent: 'b' })).length, 1);
      assert.deepEqual(state.policy?.agents.get('b')?.spec.boundary?.namespaces, ['shop']);

      // A human approves: then, and only then, b gets what it asked for.
      const ok = await store.decideExpansion(
        pending.id,
        { by: 'root@example.com', verdict: 'approved', reason: 'reviewed the rename' },
        Date.now(),
      );
      assert.equal(ok.ok, true);
      await c.refresh();
      assert.deepEqual(state.policy?.agents.get('b')?.spec.boundary?.namespaces, ['*']);
    });

    test('the same identity spelled as the User its service account authenticates as is still the same identity', async () => {
      const { store, state, submit } = await controller();
      await submit(agent('a', narrow));
      await submit(
        agent('b', { ...everything, identities: [{ kind: 'User', name: 'system:serviceaccount:agents:deployer' }] }),
      );
      assert.equal((await store.expansions({ status: 'pending', agent: 'b' })).length, 1);
      assert.equal(state.policy?.agents.get('b')?.authorityClass, 'supervised');
    });

    test('a rename that asks for no more than a had is enforced at once', async () => {
      const { store, state, submit } = await controller();
      await submit(agent('a', narrow));
      await submit(
        agent('b', {
          ...narrow,
          boundary: {
            ...narrow.boundary,
            rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] }],
          },
        }),
      );
      assert.equal((await store.expansions({ status: 'pending' })).length, 0);
      assert.deepEqual(state.policy?.agents.get('b')?.spec.boundary?.rules?.[0]?.verbs, ['get']);
    });

    test('identities that already acted with no Agent of their own start from nothing', async () => {
      const { store, state, submit } = await controller();
      await store.append({
        v: 1,
        time: new Date().toISOString(),
        kind: 'decision',
        decision: 'deny',
        verb: 'update',
        detail: { subject: 'system:serviceaccount:agents:deployer', governed: true },
      });
      await submit(agent('b', everything));
      const b = state.policy?.agents.get('b');
      assert.equal(b?.authorityClass, 'advisory');
      assert.deepEqual(b?.spec.boundary?.namespaces, []);
      const [pending] = await store.expansions({ status: 'pending', agent: 'b' });
      assert.ok(pending);
      assert.match((await store.enforcedAgent('b'))?.reason ?? '', /already acted \(ledger entry 0\)/);
    });

    test('a true newcomer is registered at once, with what it asks for', async () => {
      const { store, state, submit } = await controller();
      await submit(agent('a', narrow));
      await submit(agent('a', narrow), agent('c', { ...everything, identities: [{ kind: 'User', name: 'bot-c' }] }));
      assert.equal((await store.expansions({ status: 'pending' })).length, 0);
      assert.equal(state.policy?.agents.get('c')?.authorityClass, 'autonomous');
      assert.equal((await store.enforcedAgent('c'))?.reason, 'first registration');
    });
  });
}
