import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Action } from '../../src/engine/action.ts';
import { RULES } from '../../src/engine/decision.ts';
import { compilePolicy } from '../../src/policy/compile.ts';
import { parsePolicySources } from '../../src/policy/load.ts';
import { Governor } from '../../src/service/governor.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';
import { BACKENDS } from '../store/backends.ts';

const POLICY = `
apiVersion: tether.dev/v1alpha1
kind: GovernancePolicy
metadata: { name: default }
spec:
  agentSelectors: { serviceAccountNamespaces: [agents] }
  approvals:
    ttl: 1h
    administrators: [admin@example.com]
    rules:
      - { name: two-person, agents: [deployer], approvers: [carol@example.com, dan@example.com], minApprovals: 2 }
---
apiVersion: tether.dev/v1alpha1
kind: Agent
metadata: { name: scaler }
spec:
  owner: { id: alice@example.com }
  authorityClass: autonomous
  identities: [{ kind: ServiceAccount, namespace: agents, name: scaler }]
  boundary:
    namespaces: [shop]
    rules:
      - { apiGroups: [apps], resources: [deployments], verbs: [get, update, patch] }
      - { apiGroups: [""], resources: [secrets], verbs: [get, update] }
    budgets: [{ window: 1h, maxMutations: 5 }]
---
apiVersion: tether.dev/v1alpha1
kind: Agent
metadata: { name: runaway }
spec:
  owner: { id: alice@example.com }
  authorityClass: autonomous
  identities: [{ kind: ServiceAccount, namespace: agents, name: runaway }]
  boundary:
    namespaces: [shop]
    rules: [{ apiGroups: [apps], resources: [deployments], verbs: [update] }]
  breaker: { maxMutationsPerMinute: 2 }
---
apiVersion: tether.dev/v1alpha1
kind: Agent
metadata: { name: releaser }
spec:
  owner: { id: dave@example.com }
  approvers: [erin@example.com]
  authorityClass: supervised
  identities: [{ kind: ServiceAccount, namespace: agents, name: releaser }]
  boundary:
    namespaces: [shop]
    rules: [{ apiGroups: [apps], resources: [deployments], verbs: [update] }]
---
apiVersion: tether.dev/v1alpha1
kind: Agent
metadata: { name: deployer }
spec:
  owner: { id: frank@example.com }
  authorityClass: supervised
  identities: [{ kind: ServiceAccount, namespace: agents, name: deployer }]
  boundary:
    namespaces: [shop]
    rules: [{ apiGroups: [apps], resources: [deployments], verbs: [update] }]
`;

function policyOf(text: string) {
  const parsed = parsePolicySources([{ name: 'test.yaml', text }]);
  assert.deepEqual(parsed.problems, []);
  const { policy, problems } = compilePolicy(parsed);
  assert.ok(policy, JSON.stringify(problems));
  return policy;
}

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const sa = (name: string) => `system:serviceaccount:agents:${name}`;

const webDeployment = (replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop' },
  spec: {
    replicas,
    template: { spec: { containers: [{ name: 'web', env: [{ name: 'MODE', value: 'unmistakable-config-value' }] }] } },
  },
});

function update(agent: string, extra: Partial<Action> = {}): Action {
  return {
    source: 'admission',
    subject: { username: sa(agent), groups: ['system:serviceaccounts'] },
    verb: 'update',
    target: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'shop', name: 'web' },
    object: webDeployment(4),
    // As admission sends it: the old object too, so workload identity sees the pod template unchanged.
    oldObject: webDeployment(2),
    intent: {
      summary: 'scale web for the sale',
      trigger: 'alert:HighLatency',
      goal: 'p99 under 200ms',
      planStep: 'step 2',
      model: 'some-model',
    },
    requestId: 'audit-123',
    ...extra,
  };
}

for (const backend of BACKENDS) {
  describe(`governor on ${backend.name}`, { skip: backend.skip }, () => {
    const stores: Store[] = [];
    after(async () => {
      for (const s of stores) await s.close();
      await backend.cleanup();
    });
    const governor = async () => {
      const store = await openStore(await backend.fresh());
      stores.push(store);
      let now = T0;
      const g = new Governor({ policy: policyOf(POLICY), store, clock: () => now });
      return { g, store, tick: (ms: number) => (now += ms) };
    };

    test('a subject that is not an agent: no opinion, nothing recorded', async () => {
      const { g, store } = await governor();
      const r = await g.decide(update('scaler', { subject: { username: 'jane@example.com', groups: [] } }));
      assert.equal(r.decision.outcome, 'allow');
      assert.equal(r.decision.governed, false);
      assert.equal(r.ledgerIndex, undefined);
      assert.equal(await store.ledgerSize(), 0);
    });

    test('the ledger entry commits to who, why and what, with the object only as a digest', async () => {
      const { g, store } = await governor();
      const r = await g.decide(update('scaler'));
      assert.equal(r.decision.outcome, 'allow');
      const [e] = await store.entries(r.ledgerIndex as number, (r.ledgerIndex as number) + 1);
      const l = e?.leaf;
      assert.equal(l?.kind, 'decision');
      assert.equal(l?.agent, 'scaler');
      assert.equal(l?.owner, 'alice@example.com');
      assert.equal(l?.authorityClass, 'autonomous');
      assert.equal(l?.decision, 'allow');
      assert.equal(l?.auditId, 'audit-123');
      assert.equal(l?.policyVersion, g.policy.version);
      assert.deepEqual(l?.intent, {
        summary: 'scale web for the sale',
        trigger: 'alert:HighLatency',
        goal: 'p99 under 200ms',
      });
      assert.match(l?.intentDigest ?? '', /^sha256:/);
      assert.match(l?.actionDigest ?? '', /^sha256:/);
      assert.match(l?.objectDigest ?? '', /^sha256:/);
      assert.equal((l?.detail as { subject?: string } | undefined)?.subject, sa('scaler'));
      assert.ok(!e?.data.includes('unmistakable-config-value'), 'no object content in the ledger');
    });

    test('Secrets: nothing but identifiers reach the ledger, not even a digest of the data', async () => {
      const { g, store } = await governor();
      const secret = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db', namespace: 'shop' },
        data: { password: Buffer.from('hunter2').toString('base64') },
      };
      const r = await g.decide(
        update('scaler', {
          target: { group: '', version: 'v1', resource: 'secrets', namespace: 'shop', name: 'db' },
          object: secret,
        }),
      );
      assert.equal(r.decision.outcome, 'allow');
      const [e] = await store.entries(r.ledgerIndex as number, (r.ledgerIndex as number) + 1);
      assert.ok(!e?.data.includes(secret.data.password));
      assert.equal((e?.leaf.detail as { credentialsRedacted?: boolean } | undefined)?.credentialsRedacted, true);
      const withOtherData = await g.decide(
        update('scaler', {
          target: { group: '', version: 'v1', resource: 'secrets', namespace: 'shop', name: 'db' },
          object: { ...secret, data: { password: 'b3RoZXI=' } },
        }),
      );
      const [e2] = await store.entries(withOtherData.ledgerIndex as number, (withOtherData.ledgerIndex as number) + 1);
      assert.equal(e2?.leaf.objectDigest, e?.leaf.objectDigest, 'the digest does not depend on the secret data');
    });

    test('actions that stand or fall together: a refused one spends no budget on the others; a held one records only itself', async () => {
      const { g, store } = await governor();
      const outside = update('scaler', {
        target: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'payments', name: 'x' },
      });
      const refused = await g.decideAll([
        update('scaler'),
        update('scaler', {
          target: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'shop', name: 'api' },
        }),
        outside,
      ]);
      assert.deepEqual(
        refused.map((r) => [r.position, r.decision.outcome]),
        [[2, 'deny']],
      );
      assert.equal(await store.ledgerSize(), 1, 'only the refusal is recorded');
      for (let i = 0; i < 5; i++)
        assert.equal(
          (await g.decide(update('scaler'))).decision.outcome,
          'allow',
          'the whole budget of 5 is still there',
        );
      const before = await store.ledgerSize();
      const held = await g.decideAll([
        update('releaser'),
        update('releaser', {
          target: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'shop', name: 'api' },
        }),
      ]);
      assert.deepEqual(
        held.map((r) => r.decision.outcome),
        ['pending', 'pending'],
      );
      assert.equal(await store.ledgerSize(), before + 2);
      const all = await g.decideAll([
        update('runaway'),
        update('runaway', {
          target: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'shop', name: 'api' },
        }),
      ]);
      assert.deepEqual(
        all.map((r) => [r.position, r.decision.outcome]),
        [
          [0, 'allow'],
          [1, 'allow'],
        ],
      );
    });

    test('concurrent decisions against one budget: exactly the limit is allowed, the rest refused', async () => {
      const { g, store } = await governor();
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          g.decide(
            update('scaler', {
              target: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'shop', name: `web-${i}` },
            }),
          ),
        ),
      );
      const allowed = results.filter((r) => r.decision.outcome === 'allow');
      assert.equal(allowed.length, 5);
      for (const r of results.filter((x) => x.decision.outcome === 'deny'))
        assert.deepEqual(
          r.decision.reasons.map((x) => x.rule),
          [RULES.budgetMutations],
        );
      assert.equal((await store.queryLedger({ kind: 'decision' })).length, 12);
    });

    test('supervised: pending with an approval request; only a human approver lifts it, once', async () => {
      const { g, tick } = await governor();
      const first = await g.decide(update('releaser'));
      assert.equal(first.decision.outcome, 'pending');
      const id = first.approvalId as string;
      assert.match(id, /^apr_/);
      const asAgent = await g.approve(id, sa('releaser'), 'I approve myself');
      assert.ok(!asAgent.ok && asAgent.code === 'forbidden' && /agent identity/.test(asAgent.why));
      const stranger = await g.approve(id, 'mallory@example.com', 'why not');
      assert.ok(!stranger.ok && stranger.code === 'forbidden');
      const noReason = await g.approve(id, 'erin@example.com', '  ');
      assert.ok(!noReason.ok && noReason.code === 'invalid');
      assert.equal((await g.approve('apr_nope', 'erin@example.com', 'ok')).ok, false);
      const approved = await g.approve(id, 'erin@example.com', 'release 1.2.3 is signed off');
      assert.ok(approved.ok);
      assert.equal(approved.approval.status, 'approved');
      tick(1000);
      const retry = await g.decide(update('releaser', { approvalId: id }));
      assert.equal(retry.decision.outcome, 'allow');
      const used = await g.decide(update('releaser', { approvalId: id }));
      assert.notEqual(used.decision.outcome, 'allow', 'a single-use approval does not pass twice');
      const reused = await g.approve(id, 'erin@example.com', 'again');
      assert.ok(!reused.ok && reused.code === 'conflict');
    });

    test('two-person rule: approved only when two distinct approvers agreed', async () => {
      const { g } = await governor();
      const p = await g.decide(update('deployer'));
      const id = p.approvalId as string;
      const one = await g.approve(id, 'carol@example.com', 'fine');
      assert.ok(one.ok && one.approval.status === 'pending');
      const two = await g.approve(id, 'dan@example.com', 'fine too');
      assert.ok(two.ok && two.approval.status === 'approved');
      assert.equal((await g.decide(update('deployer', { approvalId: id }))).decision.outcome, 'allow');
    });

    test('a denial is final', async () => {
      const { g } = await governor();
      const p = await g.decide(update('releaser'));
      const denied = await g.deny(p.approvalId as string, 'dave@example.com', 'not during the freeze');
      assert.ok(denied.ok && denied.approval.status === 'denied');
      const retry = await g.decide(update('releaser', { approvalId: p.approvalId }));
      assert.equal(retry.decision.outcome, 'pending');
      assert.ok(retry.decision.reasons.some((r) => r.rule === RULES.approvalInvalid));
    });

    test('breaker: tripped by a runaway agent, reset only by an authorised human, to half-open', async () => {
      const { g, store, tick } = await governor();
      for (let i = 0; i < 2; i++) assert.equal((await g.decide(update('runaway'))).decision.outcome, 'allow');
      const tripped = await g.decide(update('runaway'));
      assert.equal(tripped.decision.outcome, 'deny');
      assert.equal((await store.breaker('agent', 'runaway')).state, 'open');
      const [trip] = await store.queryLedger({ kind: 'breaker', agent: 'runaway' });
      assert.deepEqual(trip?.leaf.rules, [RULES.rateLimit]);
      const byAgent = await g.resetBreaker('agent', 'runaway', sa('runaway'), 'let me out');
      assert.ok(!byAgent.ok && byAgent.code === 'forbidden');
      const byStranger = await g.resetBreaker('agent', 'runaway', 'mallory@example.com', 'let it out');
      assert.ok(!byStranger.ok && byStranger.code === 'forbidden');
      const reset = await g.resetBreaker('agent', 'runaway', 'alice@example.com', 'rate limit raised upstream');
      assert.ok(reset.ok && reset.breaker.state === 'half-open');
      tick(61_000);
      assert.equal((await g.decide(update('runaway'))).decision.outcome, 'allow');
      assert.equal((await store.breaker('agent', 'runaway')).state, 'closed');
      const twice = await g.resetBreaker('agent', 'runaway', 'alice@example.com', 'again');
      assert.ok(!twice.ok && twice.code === 'conflict');
    });

    test('kill switch: administrators only; while engaged every agent mutation is refused', async () => {
      const { g } = await governor();
      const owner = await g.setKillSwitch(true, 'alice@example.com', 'stop everything');
      assert.ok(!owner.ok && owner.code === 'forbidden');
      assert.ok((await g.setKillSwitch(true, 'admin@example.com', 'incident 7')).ok);
      const refused = await g.decide(update('scaler'));
      assert.equal(refused.decision.outcome, 'deny');
      assert.deepEqual(
        refused.decision.reasons.map((r) => r.rule),
        [RULES.killSwitch],
      );
      assert.ok((await g.setKillSwitch(false, 'admin@example.com', 'incident 7 resolved')).ok);
      assert.equal((await g.decide(update('scaler'))).decision.outcome, 'allow');
    });

    test("boundary expansions are decided by the agent's approvers; a new agent only by an administrator", async () => {
      const { g, store } = await governor();
      const known = await store.requestExpansion(
        { agent: 'scaler', requestedSpec: { budgets: 10 }, diffDigest: 'sha256:d', by: 'alice@example.com' },
        T0,
      );
      assert.ok(!(await g.decideExpansion(known.id, sa('scaler'), 'approved', 'more')).ok);
      const ok = await g.decideExpansion(known.id, 'alice@example.com', 'approved', 'traffic');
      assert.ok(ok.ok);
      const newcomer = await store.requestExpansion(
        { agent: 'newbie', requestedSpec: {}, diffDigest: 'sha256:n', by: 'alice@example.com' },
        T0,
      );
      const byOwner = await g.decideExpansion(newcomer.id, 'alice@example.com', 'approved', 'mine');
      assert.ok(!byOwner.ok && byOwner.code === 'forbidden');
      assert.ok((await g.decideExpansion(newcomer.id, 'admin@example.com', 'approved', 'admitted')).ok);
    });

    test('a reloaded policy applies to the next decision, and its version is recorded', async () => {
      const { g, store } = await governor();
      const before = await g.decide(update('scaler'));
      g.setPolicy(policyOf(POLICY.replace('maxMutations: 5', 'maxMutations: 6')));
      const afterReload = await g.decide(update('scaler'));
      const [a, b] = await store.entries(before.ledgerIndex as number, (afterReload.ledgerIndex as number) + 1);
      assert.notEqual(a?.leaf.policyVersion, b?.leaf.policyVersion);
      assert.equal(b?.leaf.policyVersion, g.policy.version);
    });
  });
}
