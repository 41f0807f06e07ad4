import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { actionDigest } from '../../src/engine/digest.ts';
import { decide } from '../../src/engine/decide.ts';
import { RULES } from '../../src/engine/decision.ts';
import { MemoryState } from '../../src/engine/memory-state.ts';
import { EMPTY_STATE } from '../../src/engine/state.ts';
import { expectDecision } from '../support/assert-decision.ts';
import { NOW, agentDoc, deployment, governanceDoc, policyOf, scaleAction } from '../support/policy.ts';

describe('authority classes', () => {
  const policy = policyOf(
    governanceDoc(),
    agentDoc('advisor', { authorityClass: 'advisory' }),
    agentDoc('supervised', { authorityClass: 'supervised', approvers: ['bob@example.com'] }),
    agentDoc('auto', { authorityClass: 'autonomous' }),
  );
  test('advisory reads', () =>
    expectDecision(
      decide({ ...scaleAction('advisor', 'web', 2), verb: 'get', object: undefined }, policy, EMPTY_STATE, NOW),
      'allow',
    ));
  test('advisory mutation is refused and recorded as a proposal', () => {
    const d = decide(scaleAction('advisor', 'web', 2), policy, EMPTY_STATE, NOW);
    expectDecision(d, 'deny', RULES.advisory);
    assert.ok(d.outcome === 'deny' && d.proposal);
    const p = d.effects.find((e) => e.kind === 'proposal.record');
    assert.ok(p && p.kind === 'proposal.record' && p.actionDigest.startsWith('sha256:'));
    assert.ok(!d.effects.some((e) => e.kind === 'violation.record'), 'proposals do not count towards the breaker');
  });
  test('autonomous mutates inside its boundary', () =>
    expectDecision(decide(scaleAction('auto', 'web', 2), policy, EMPTY_STATE, NOW), 'allow'));

  test('supervised mutation is pending with what exactly to approve', () => {
    const a = scaleAction('supervised', 'web', 2);
    const d = decide(a, policy, EMPTY_STATE, NOW);
    expectDecision(d, 'pending', RULES.supervised);
    assert.ok(d.outcome === 'pending');
    assert.equal(d.approval.actionDigest, actionDigest(a));
    assert.deepEqual([...d.approval.approvers].sort(), ['alice@example.com', 'bob@example.com']);
  });

  test('an approval lifts the review for exactly that action, once', () => {
    const a = scaleAction('supervised', 'web', 2);
    const state = new MemoryState();
    state.approvals.set('ap-1', {
      id: 'ap-1',
      agent: 'supervised',
      actionDigest: actionDigest(a),
      status: 'approved',
      expiresAt: NOW + 60_000,
      usesLeft: 1,
      approvedBy: ['bob@example.com'],
    });
    const d = decide({ ...a, approvalId: 'ap-1' }, policy, state, NOW);
    expectDecision(d, 'allow', RULES.approvalUsed);
    assert.ok(d.effects.some((e) => e.kind === 'approval.consume' && e.approvalId === 'ap-1'));
    state.apply(d.effects, NOW);
    expectDecision(decide({ ...a, approvalId: 'ap-1' }, policy, state, NOW), 'pending', RULES.approvalInvalid);
  });

  test('an approval found by digest applies without being carried (kubectl scale cannot carry annotations)', () => {
    const a = scaleAction('supervised', 'web', 2);
    const state = new MemoryState();
    state.approvals.set('ap-2', {
      id: 'ap-2',
      agent: 'supervised',
      actionDigest: actionDigest(a),
      status: 'approved',
      expiresAt: NOW + 60_000,
      usesLeft: 1,
      approvedBy: ['bob@example.com'],
    });
    expectDecision(decide(a, policy, state, NOW), 'allow', RULES.approvalUsed);
  });

  const invalid: [
    string,
    Partial<{
      agent: string;
      status: 'approved' | 'pending' | 'denied';
      expiresAt: number;
      usesLeft: number;
      other: boolean;
    }>,
  ][] = [
    ['for another action', { other: true }],
    ['still pending', { status: 'pending' }],
    ['denied', { status: 'denied' }],
    ['expired', { expiresAt: NOW - 1 }],
    ['used up', { usesLeft: 0 }],
    ['given to another agent', { agent: 'auto' }],
  ];
  for (const [name, over] of invalid) {
    test(`an approval ${name} does not apply`, () => {
      const a = scaleAction('supervised', 'web', 2);
      const state = new MemoryState();
      const digest = over.other ? actionDigest(scaleAction('supervised', 'web', 3)) : actionDigest(a);
      state.approvals.set('ap', {
        id: 'ap',
        agent: over.agent ?? 'supervised',
        actionDigest: digest,
        status: over.status ?? 'approved',
        expiresAt: over.expiresAt ?? NOW + 1000,
        usesLeft: over.usesLeft ?? 1,
        approvedBy: ['bob@example.com'],
      });
      expectDecision(decide({ ...a, approvalId: 'ap' }, policy, state, NOW), 'pending', RULES.approvalInvalid);
    });
  }

  test("the digest ignores server bookkeeping and Tether's own annotations but not the content", () => {
    const a = scaleAction('supervised', 'web', 2);
    const b = scaleAction('supervised', 'web', 2, {
      object: deployment('web', 2, { resourceVersion: '99', annotations: { 'tether.dev/approval': 'ap-1' } }),
    });
    assert.equal(actionDigest(a), actionDigest(b));
    assert.notEqual(actionDigest(a), actionDigest(scaleAction('supervised', 'web', 4)));
  });
});

describe('review triggers and audit mode', () => {
  const policy = policyOf(
    governanceDoc(),
    agentDoc('careful', {
      boundary: {
        namespaces: ['shop'],
        rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['update', 'delete'] }],
        budgets: [{ window: '1h', maxMutations: 10 }],
      },
      reviewTriggers: [
        { name: 'destructive', match: { verbs: ['delete'] } },
        { name: 'big-jump', expression: 'object.spec.replicas - oldObject.spec.replicas > 5' },
        { name: 'budget-80', budgetAbove: 0.8 },
      ],
    }),
    agentDoc('trial', { mode: 'audit', authorityClass: 'advisory' }),
  );
  test('no trigger fires: allowed', () =>
    expectDecision(decide(scaleAction('careful', 'web', 3), policy, EMPTY_STATE, NOW), 'allow'));
  test('a destructive verb asks a human', () =>
    expectDecision(
      decide(scaleAction('careful', 'web', 3, { verb: 'delete', object: undefined }), policy, EMPTY_STATE, NOW),
      'pending',
      RULES.reviewTrigger,
    ));
  test('a CEL trigger asks a human', () =>
    expectDecision(decide(scaleAction('careful', 'web', 9), policy, EMPTY_STATE, NOW), 'pending', RULES.reviewTrigger));
  test('budget above 80 % asks a human', () => {
    const state = new MemoryState();
    const start = Math.floor(NOW / 3_600_000) * 3_600_000;
    state.budgets.set(`careful/1h@${start}`, { mutations: 8, objects: new Set(['x']) });
    expectDecision(decide(scaleAction('careful', 'web', 3), policy, state, NOW), 'pending', RULES.reviewTrigger);
    state.budgets.set(`careful/1h@${start}`, { mutations: 7, objects: new Set(['x']) });
    expectDecision(decide(scaleAction('careful', 'web', 3), policy, state, NOW), 'allow');
  });
  test('audit mode allows and warns with what enforce would have refused', () => {
    const d = decide(scaleAction('trial', 'web', 3), policy, EMPTY_STATE, NOW);
    expectDecision(d, 'allow', RULES.auditMode);
    assert.ok(d.warnings.some((w) => w.rule === RULES.advisory));
  });
});

describe('intent', () => {
  const required = policyOf(governanceDoc({ requireIntent: true, intentMismatch: 'warn' }), agentDoc('bot'));
  const strict = policyOf(governanceDoc({ requireIntent: true, intentMismatch: 'deny' }), agentDoc('bot'));
  const optional = policyOf(governanceDoc({ requireIntent: false }), agentDoc('bot'));
  test('mutation without intent is refused when required', () =>
    expectDecision(
      decide(scaleAction('bot', 'web', 2, { intent: undefined }), required, EMPTY_STATE, NOW),
      'deny',
      RULES.intentMissing,
    ));
  test('mutation with intent passes', () =>
    expectDecision(decide(scaleAction('bot', 'web', 2), required, EMPTY_STATE, NOW), 'allow'));
  test('reads need no intent', () =>
    expectDecision(
      decide({ ...scaleAction('bot', 'web', 2, { intent: undefined }), verb: 'get' }, required, EMPTY_STATE, NOW),
      'allow',
    ));
  test('intent not required', () =>
    expectDecision(decide(scaleAction('bot', 'web', 2, { intent: undefined }), optional, EMPTY_STATE, NOW), 'allow'));
  const outside = {
    summary: 'scale the cart',
    targets: [{ namespace: 'shop', resource: 'deployments', name: 'cart' }],
  };
  test('a target outside the declared intent is flagged', () => {
    const d = decide(scaleAction('bot', 'web', 2, { intent: outside }), required, EMPTY_STATE, NOW);
    expectDecision(d, 'allow');
    assert.ok(d.warnings.some((w) => w.rule === RULES.intentMismatch));
  });
  test('the mismatch is refused when the policy says deny', () =>
    expectDecision(
      decide(scaleAction('bot', 'web', 2, { intent: outside }), strict, EMPTY_STATE, NOW),
      'deny',
      RULES.intentMismatch,
    ));
  test('a declared target matches', () => {
    const d = decide(scaleAction('bot', 'cart', 2, { intent: outside }), strict, EMPTY_STATE, NOW);
    expectDecision(d, 'allow');
    assert.equal(d.warnings.length, 0);
  });
});
