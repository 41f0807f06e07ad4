import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decide } from '../../src/engine/decide.ts';
import { RULES } from '../../src/engine/decision.ts';
import { EMPTY_STATE } from '../../src/engine/state.ts';
import { expectDecision } from '../support/assert-decision.ts';
import { NOW, agentDoc, governanceDoc, policyOf, sa, scaleAction } from '../support/policy.ts';

describe('accountability: no owner, no access', () => {
  const policy = policyOf(
    governanceDoc({
      agentSelectors: { serviceAccountNamespaces: ['agents'], usernamePrefixes: ['agent:'], groups: ['ai-agents'] },
      inactiveOwners: ['gone@example.com'],
    }),
    agentDoc('scaler'),
    agentDoc('orphan', { owner: { id: 'bob@example.com', active: false } }),
    agentDoc('left', { owner: { id: 'gone@example.com' } }),
    agentDoc('lapsed', { owner: { id: 'carol@example.com', attestedUntil: '2026-01-01T00:00:00Z' } }),
    agentDoc('fresh', { owner: { id: 'carol@example.com', attestedUntil: '2027-01-01T00:00:00Z' } }),
    agentDoc('grouped', { identities: [{ kind: 'Group', name: 'ml-team-bots' }] }),
    agentDoc('entra', {
      identities: [
        {
          kind: 'OIDC',
          issuer: 'https://login.microsoftonline.com/t/v2.0',
          subject: '8d1f-obj',
          usernamePrefix: 'aad:',
        },
      ],
    }),
  );
  const cases: {
    name: string;
    subject: ReturnType<typeof sa>;
    outcome: 'allow' | 'deny';
    rule?: string;
    governed?: boolean;
  }[] = [
    { name: 'registered agent with a live owner acts', subject: sa('scaler'), outcome: 'allow', governed: true },
    {
      name: 'human is not governed',
      subject: { username: 'alice@example.com', groups: ['system:authenticated'] },
      outcome: 'allow',
      governed: false,
    },
    {
      name: 'controller is not governed',
      subject: sa('deployment-controller', 'kube-system'),
      outcome: 'allow',
      governed: false,
    },
    {
      name: 'service account in the agent namespace without an Agent',
      subject: sa('rogue'),
      outcome: 'deny',
      rule: RULES.unregistered,
    },
    {
      name: 'username prefix selector',
      subject: { username: 'agent:freelancer', groups: [] },
      outcome: 'deny',
      rule: RULES.unregistered,
    },
    {
      name: 'group selector',
      subject: { username: 'someone', groups: ['ai-agents'] },
      outcome: 'deny',
      rule: RULES.unregistered,
    },
    {
      name: 'MCP clients count as agents',
      subject: { username: 'x', groups: [], mcpClientId: 'cursor' },
      outcome: 'deny',
      rule: RULES.unregistered,
    },
    { name: 'owner marked inactive', subject: sa('orphan'), outcome: 'deny', rule: RULES.ownerInactive },
    {
      name: 'owner listed as gone in the governance policy',
      subject: sa('left'),
      outcome: 'deny',
      rule: RULES.ownerInactive,
    },
    {
      name: 'ownership attestation lapsed',
      subject: sa('lapsed'),
      outcome: 'deny',
      rule: RULES.ownerAttestationExpired,
    },
    { name: 'ownership attestation current', subject: sa('fresh'), outcome: 'allow', governed: true },
    {
      name: 'group identity claims its members',
      subject: { username: 'bot-7', groups: ['ml-team-bots'] },
      outcome: 'allow',
      governed: true,
    },
    {
      name: 'Entra object id through the API server, with prefix',
      subject: { username: 'aad:8d1f-obj', groups: [] },
      outcome: 'allow',
      governed: true,
    },
    {
      name: 'Entra token through the gateway',
      subject: {
        username: 'whatever',
        groups: [],
        oidc: { issuer: 'https://login.microsoftonline.com/t/v2.0', subject: '8d1f-obj' },
      },
      outcome: 'allow',
      governed: true,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const d = decide(scaleAction('scaler', 'web', 3, { subject: c.subject }), policy, EMPTY_STATE, NOW);
      expectDecision(d, c.outcome, c.rule as never);
      if (c.governed !== undefined) assert.equal(d.governed, c.governed);
    });
  }

  test('an identity claimed by a specific identity and by a group resolves to the specific one', () => {
    const p = policyOf(
      governanceDoc(),
      agentDoc('a'),
      agentDoc('b', { identities: [{ kind: 'Group', name: 'system:serviceaccounts:agents' }] }),
    );
    const d = decide(scaleAction('a', 'web', 2), p, EMPTY_STATE, NOW);
    assert.equal(d.outcome, 'allow');
    assert.equal(d.governed && d.outcome === 'allow' ? d.agent.name : '', 'a');
  });

  test('a subject in groups claimed by two agents is ambiguous and refused', () => {
    const p = policyOf(
      governanceDoc(),
      agentDoc('a', { identities: [{ kind: 'Group', name: 'g1' }] }),
      agentDoc('b', { identities: [{ kind: 'Group', name: 'g2' }] }),
    );
    const d = decide(
      scaleAction('x', 'web', 2, { subject: { username: 'bot', groups: ['g1', 'g2'] } }),
      p,
      EMPTY_STATE,
      NOW,
    );
    expectDecision(d, 'deny', RULES.ambiguous);
  });

  test('without a governance policy, unknown identities are not caught (documented default)', () => {
    const p = policyOf(agentDoc('a'));
    assert.equal(decide(scaleAction('rogue', 'web', 2), p, EMPTY_STATE, NOW).governed, false);
  });
});
