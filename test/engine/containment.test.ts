import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Action } from '../../src/engine/action.ts';
import { decide } from '../../src/engine/decide.ts';
import { RULES } from '../../src/engine/decision.ts';
import { MemoryState } from '../../src/engine/memory-state.ts';
import { countFlips } from '../../src/engine/rules/breaker.ts';
import { EMPTY_STATE } from '../../src/engine/state.ts';
import { expectDecision } from '../support/assert-decision.ts';
import { NOW, agentDoc, governanceDoc, policyOf, scaleAction } from '../support/policy.ts';

/** Decides and applies effects, as the server does. */
function run(policy: ReturnType<typeof policyOf>, state: MemoryState, a: Action, now = NOW) {
  const d = decide(a, policy, state, now);
  const applied = state.apply(d.effects, now);
  assert.ok(applied.ok);
  return d;
}

describe('budgets', () => {
  const policy = policyOf(
    governanceDoc(),
    agentDoc('bot', {
      boundary: {
        namespaces: ['shop'],
        rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['update'] }],
        budgets: [{ window: '1h', maxMutations: 3, maxDistinctObjects: 2 }],
      },
    }),
  );
  test('mutations within the window budget pass, then are refused until the window resets', () => {
    const state = new MemoryState();
    for (let i = 0; i < 3; i++) expectDecision(run(policy, state, scaleAction('bot', 'web', i + 2)), 'allow');
    const d = run(policy, state, scaleAction('bot', 'web', 9));
    expectDecision(d, 'deny', RULES.budgetMutations);
    assert.match(d.reasons[0]?.message ?? '', /3 of 3 mutations .* resets at 2026-11-25T13:00:00.000Z/);
    expectDecision(run(policy, state, scaleAction('bot', 'web', 9), NOW + 3_600_000), 'allow');
  });
  test('blast radius counts distinct objects', () => {
    const state = new MemoryState();
    expectDecision(run(policy, state, scaleAction('bot', 'a', 2)), 'allow');
    expectDecision(run(policy, state, scaleAction('bot', 'b', 2)), 'allow');
    expectDecision(run(policy, state, scaleAction('bot', 'a', 3)), 'allow');
    expectDecision(run(policy, state, scaleAction('bot', 'c', 2), NOW + 1), 'deny', RULES.budgetObjects);
  });
  test('dry runs consume no budget', () => {
    const state = new MemoryState();
    for (let i = 0; i < 5; i++)
      expectDecision(run(policy, state, scaleAction('bot', 'web', 2, { dryRun: true })), 'allow');
  });
  test('the memory store refuses a batch that would overflow (as the real stores do)', () => {
    const state = new MemoryState();
    const d = decide(scaleAction('bot', 'web', 2), policy, state, NOW);
    for (let i = 0; i < 3; i++) assert.ok(state.apply(d.effects, NOW).ok);
    assert.deepEqual(state.apply(d.effects, NOW), { ok: false, budgetId: 'bot/1h' });
  });
});

describe('circuit breakers', () => {
  const policy = policyOf(
    governanceDoc({ approvals: { administrators: ['root@example.com'] } }),
    agentDoc('bot', {
      boundary: {
        namespaces: ['shop'],
        rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'update'] }],
        budgets: [{ window: '1h', maxMutations: 1 }],
      },
      breaker: { maxViolations: 3, window: '5m' },
    }),
    agentDoc('fast', { breaker: { maxMutationsPerMinute: 2 } }),
    agentDoc('flappy', { breaker: { oscillation: { fields: ['spec.replicas'], maxFlips: 2, window: '10m' } } }),
  );
  test('repeated refusals trip the breaker; an open breaker refuses everything the agent changes; a reset puts it on probation', () => {
    const state = new MemoryState();
    expectDecision(run(policy, state, scaleAction('bot', 'web', 2)), 'allow');
    expectDecision(run(policy, state, scaleAction('bot', 'web', 3)), 'deny', RULES.budgetMutations);
    expectDecision(run(policy, state, scaleAction('bot', 'web', 3)), 'deny', RULES.budgetMutations);
    const third = run(policy, state, scaleAction('bot', 'web', 3));
    assert.ok(
      third.effects.some((e) => e.kind === 'breaker.trip' && e.key === 'bot'),
      'third refusal within 5m trips',
    );
    assert.equal(state.breaker('agent', 'bot').state, 'open');
    const later = NOW + 2 * 3_600_000;
    expectDecision(run(policy, state, scaleAction('bot', 'web', 3), later), 'deny', RULES.breakerOpen);
    expectDecision(decide({ ...scaleAction('bot', 'web', 3), verb: 'get' }, policy, state, later), 'allow');
    state.reset('agent', 'bot', later);
    const ok = run(policy, state, scaleAction('bot', 'web', 3), later);
    expectDecision(ok, 'allow');
    assert.ok(ok.effects.some((e) => e.kind === 'breaker.close'));
    assert.equal(state.breaker('agent', 'bot').state, 'closed');
  });
  test('a refusal while on probation trips again at once', () => {
    const state = new MemoryState();
    state.reset('agent', 'bot', NOW);
    const d = run(
      policy,
      state,
      scaleAction('bot', 'web', 2, {
        target: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'other', name: 'x' },
      }),
    );
    expectDecision(d, 'deny', RULES.namespace);
    assert.equal(state.breaker('agent', 'bot').state, 'open');
  });
  test('refusals spread beyond the window do not trip', () => {
    const state = new MemoryState();
    for (let i = 0; i < 4; i++)
      run(
        policy,
        state,
        scaleAction('bot', 'web', 2, {
          target: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'x', name: 'y' },
        }),
        NOW + i * 6 * 60_000,
      );
    assert.equal(state.breaker('agent', 'bot').state, 'closed');
  });
  test('rate: more mutations a minute than allowed trips', () => {
    const state = new MemoryState();
    expectDecision(run(policy, state, scaleAction('fast', 'web', 2)), 'allow');
    expectDecision(run(policy, state, scaleAction('fast', 'web', 3)), 'allow');
    expectDecision(run(policy, state, scaleAction('fast', 'web', 4)), 'deny', RULES.rateLimit);
    assert.equal(state.breaker('agent', 'fast').state, 'open');
  });
  test('oscillation: a field flipped back and forth, by the agent and by a controller, trips', () => {
    const state = new MemoryState();
    state.fields.set('deployments.apps:shop/web#spec.replicas', [
      { value: '3', at: NOW - 5000, actor: 'flappy' },
      { value: '5', at: NOW - 4000, actor: 'system:serviceaccount:kube-system:horizontal-pod-autoscaler' },
      { value: '3', at: NOW - 3000, actor: 'flappy' },
    ]);
    expectDecision(run(policy, state, scaleAction('flappy', 'web', 6)), 'allow');
    const d = run(policy, state, scaleAction('flappy', 'web', 3));
    expectDecision(d, 'deny', RULES.oscillation);
    assert.match(d.reasons[0]?.message ?? '', /horizontal-pod-autoscaler/);
    assert.equal(state.breaker('agent', 'flappy').state, 'open');
  });
  test('countFlips counts returns to an earlier value', () => {
    assert.equal(countFlips(['1', '2', '1', '2', '1']), 3);
    assert.equal(countFlips(['1', '2', '3', '4']), 0);
  });
  test('the global kill switch refuses agent mutations, even in audit mode, but not reads or humans', () => {
    const state = new MemoryState();
    state.kill = { engaged: true, reason: 'incident 42' };
    expectDecision(decide(scaleAction('bot', 'web', 2), policy, state, NOW), 'deny', RULES.killSwitch);
    expectDecision(decide({ ...scaleAction('bot', 'web', 2), verb: 'get' }, policy, state, NOW), 'allow');
    assert.equal(
      decide(scaleAction('x', 'web', 2, { subject: { username: 'root@example.com', groups: [] } }), policy, state, NOW)
        .governed,
      false,
    );
    const p = policyOf(governanceDoc({ killSwitch: true }), agentDoc('bot', { mode: 'audit' }));
    expectDecision(decide(scaleAction('bot', 'web', 2), p, EMPTY_STATE, NOW), 'deny', RULES.killSwitch);
  });
});

describe('chains', () => {
  const policy = policyOf(
    governanceDoc(),
    agentDoc('planner', {
      boundary: {
        namespaces: ['shop'],
        rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['update'] }],
        chain: { maxDepth: 2, maxFanOut: 2, mayInvoke: ['scaler'] },
      },
    }),
    agentDoc('scaler', {
      boundary: {
        namespaces: ['shop'],
        rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['update'] }],
        chain: { maxDepth: 2, mayInvoke: ['planner'] },
      },
      breaker: { maxChainDepth: 4 },
    }),
    agentDoc('loner'),
  );
  const hop = (agent: string, path: string[], depth = path.length, parent?: string) =>
    scaleAction(agent, 'web', 2, { chain: { id: 'c1', depth, path, parentActionId: parent } });
  test('an allowed callee within depth', () =>
    expectDecision(decide(hop('scaler', ['planner']), policy, EMPTY_STATE, NOW), 'allow'));
  test('a callee the caller may not invoke', () =>
    expectDecision(decide(hop('loner', ['planner']), policy, EMPTY_STATE, NOW), 'deny', RULES.chainCallee));
  test('an unknown caller', () =>
    expectDecision(decide(hop('scaler', ['ghost']), policy, EMPTY_STATE, NOW), 'deny', RULES.chainCallee));
  test('too deep', () =>
    expectDecision(decide(hop('scaler', ['planner'], 3), policy, EMPTY_STATE, NOW), 'deny', RULES.chainDepth));
  test('a loop between two agents is stopped', () =>
    expectDecision(decide(hop('scaler', ['scaler', 'planner']), policy, EMPTY_STATE, NOW), 'deny', RULES.chainCycle));
  test('runaway depth trips the chain breaker, which then stops the whole chain', () => {
    const state = new MemoryState();
    const d = run(policy, state, hop('scaler', ['planner'], 5));
    assert.ok(d.effects.some((e) => e.kind === 'breaker.trip' && e.scope === 'chain' && e.key === 'c1'));
    expectDecision(decide(hop('planner', [], 0), policy, state, NOW), 'deny', RULES.chainBreakerOpen);
  });
  test('fan-out from one parent step', () => {
    const state = new MemoryState();
    expectDecision(run(policy, state, hop('scaler', ['planner'], 1, 'step-1')), 'allow');
    expectDecision(run(policy, state, hop('scaler', ['planner'], 1, 'step-1')), 'allow');
    expectDecision(run(policy, state, hop('scaler', ['planner'], 1, 'step-1')), 'deny', RULES.chainFanOut);
    expectDecision(run(policy, state, hop('scaler', ['planner'], 1, 'step-2')), 'allow');
  });
});
