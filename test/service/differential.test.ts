// The store-backed governor and the engine over MemoryState must reach the same decisions for
// the same sequence of actions: the prefetch answers every question the engine asks, and the
// stores apply effects the way MemoryState does.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Action } from '../../src/engine/action.ts';
import { decide } from '../../src/engine/decide.ts';
import { MemoryState } from '../../src/engine/memory-state.ts';
import { compilePolicy } from '../../src/policy/compile.ts';
import { parsePolicySources } from '../../src/policy/load.ts';
import { Governor } from '../../src/service/governor.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';
import { BACKENDS } from '../store/backends.ts';
import { seededRandom as random } from '../support/seeded.ts';

const POLICY = `
apiVersion: tether.dev/v1alpha1
kind: GovernancePolicy
metadata: { name: default }
spec:
  agentSelectors: { serviceAccountNamespaces: [agents] }
---
apiVersion: tether.dev/v1alpha1
kind: Agent
metadata: { name: tuner }
spec:
  owner: { id: alice@example.com }
  authorityClass: autonomous
  identities: [{ kind: ServiceAccount, namespace: agents, name: tuner }]
  boundary:
    namespaces: [shop]
    rules: [{ apiGroups: [apps], resources: [deployments], verbs: [get, update] }]
    budgets: [{ window: 10m, maxMutations: 8, maxDistinctObjects: 4 }, { window: 1h, maxMutations: 30 }]
    chain: { maxFanOut: 2, mayInvoke: [helper] }
  breaker:
    maxViolations: 4
    window: 5m
    maxMutationsPerMinute: 4
    oscillation: { fields: [spec.replicas], maxFlips: 2, window: 10m }
---
apiVersion: tether.dev/v1alpha1
kind: Agent
metadata: { name: helper }
spec:
  owner: { id: bob@example.com }
  authorityClass: autonomous
  identities: [{ kind: ServiceAccount, namespace: agents, name: helper }]
  boundary:
    namespaces: [shop]
    rules: [{ apiGroups: [apps], resources: [deployments], verbs: [update] }]
---
apiVersion: tether.dev/v1alpha1
kind: Agent
metadata: { name: adviser }
spec:
  owner: { id: carol@example.com }
  authorityClass: advisory
  identities: [{ kind: ServiceAccount, namespace: agents, name: adviser }]
  boundary:
    namespaces: [shop]
    rules: [{ apiGroups: [apps], resources: [deployments], verbs: [get, update] }]
`;

function actionAt(r: () => number, step: number): Action {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const agent = pick(['tuner', 'tuner', 'tuner', 'helper', 'adviser', 'stranger']);
  const name = pick(['web', 'api', 'cart', 'db', 'queue', 'auth']);
  const replicas = pick([2, 3]);
  return {
    source: 'api',
    subject: { username: `system:serviceaccount:agents:${agent}`, groups: [] },
    verb: pick(['update', 'update', 'update', 'get']),
    target: {
      group: 'apps',
      version: 'v1',
      resource: 'deployments',
      namespace: r() < 0.1 ? 'kube-system' : 'shop',
      name,
    },
    object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'shop' }, spec: { replicas } },
    oldObject: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'shop' },
      spec: { replicas: 5 - replicas },
    },
    intent: r() < 0.95 ? { summary: `step ${step}` } : undefined,
    chain:
      agent === 'helper'
        ? {
            id: `chain-${Math.floor(step / 10)}`,
            depth: 1,
            path: ['tuner'],
            parentActionId: `p-${Math.floor(step / 30)}`,
          }
        : undefined,
  };
}

function policy() {
  const { policy: p } = compilePolicy(parsePolicySources([{ name: 'p.yaml', text: POLICY }]));
  assert.ok(p);
  return p;
}

for (const backend of BACKENDS) {
  describe(`governor ≡ engine over MemoryState on ${backend.name}`, { skip: backend.skip }, () => {
    const stores: Store[] = [];
    after(async () => {
      for (const s of stores) await s.close();
      await backend.cleanup();
    });

    test('400 random actions with budgets, rate and violation breakers, oscillation and chains decide alike', async () => {
      const p = policy();
      const store = await openStore(await backend.fresh());
      stores.push(store);
      let now = Date.UTC(2026, 0, 5, 9, 0, 0);
      const governor = new Governor({ policy: p, store, clock: () => now });
      const memory = new MemoryState();
      const r = random(6962);
      const seen = new Set<string>();
      for (let step = 0; step < 400; step++) {
        now += Math.floor(r() * 8_000);
        const action = actionAt(r, step);
        const expected = decide(action, p, memory, now);
        memory.apply(expected.effects, now);
        const got = (await governor.decide(action)).decision;
        const summary = (d: typeof got) => `${d.outcome} ${d.reasons.map((x) => x.rule).join(',')}`;
        assert.equal(
          summary(got),
          summary(expected),
          `step ${step}: ${action.subject.username} ${action.verb} ${action.target.namespace}/${action.target.name}`,
        );
        for (const x of got.reasons) seen.add(x.rule);
        // A human resets a tripped breaker now and then, on both sides.
        if (memory.breaker('agent', 'tuner').state === 'open' && r() < 0.3) {
          memory.reset('agent', 'tuner', now);
          assert.ok(
            (await store.resetBreaker('agent', 'tuner', { by: 'alice@example.com', reason: 'probation' }, now)).ok,
          );
        }
      }
      // The walk must have gone through the interesting rules, or it proves little.
      for (const rule of [
        'budget/distinct-objects',
        'breaker/open',
        'breaker/oscillation',
        'boundary/namespace',
        'authority/advisory-proposal',
        'accountability/unregistered-agent',
        'chain/fan-out',
        'breaker/rate',
        'budget/mutations',
      ]) {
        assert.ok(seen.has(rule), `the random walk never hit ${rule} (saw ${[...seen].join(', ')})`);
      }
    });
  });
}
