// Owners resolved from the directory (SCIM) and from recorded attestations: the engine reads them
// as data (an OwnershipView on the policy) and says no when the owner is gone.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mayApprove, mayResetBreaker } from '../../src/engine/approvers.ts';
import { decide } from '../../src/engine/decide.ts';
import { RULES } from '../../src/engine/decision.ts';
import type { OwnershipView } from '../../src/engine/rules/accountability.ts';
import { EMPTY_STATE } from '../../src/engine/state.ts';
import type { CompiledPolicy } from '../../src/policy/compile.ts';
import { DirectoryIndex, type ScimResource } from '../../src/service/directory-index.ts';
import { expectDecision } from '../support/assert-decision.ts';
import { NOW, agentDoc, governanceDoc, policyOf, scaleAction } from '../support/policy.ts';

const meta = (resourceType: 'User' | 'Group') => ({
  resourceType,
  created: '2026-01-01T00:00:00Z',
  lastModified: '2026-01-01T00:00:00Z',
  version: 'W/"1"',
});
const user = (id: string, userName: string, active: boolean, extra: Record<string, unknown> = {}): ScimResource => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
  id,
  userName,
  active,
  meta: meta('User'),
  ...extra,
});
const group = (id: string, displayName: string, members: string[]): ScimResource => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
  id,
  displayName,
  members: members.map((value) => ({ value })),
  meta: meta('Group'),
});

function view(
  dir: DirectoryIndex | undefined,
  attestations: Record<string, { owner: string; until: number }> = {},
): OwnershipView {
  return { directory: dir, attestation: (a) => attestations[a] };
}

const base = policyOf(
  governanceDoc({ approvals: { administrators: ['root@example.com'] } }),
  agentDoc('by-name', { owner: { id: 'alice@example.com' } }),
  agentDoc('by-email', { owner: { id: 'Bob.Work@Example.com' } }),
  agentDoc('by-external', { owner: { id: '00u-okta-carol' } }),
  agentDoc('by-group', { owner: { id: 'Platform Team' } }),
  agentDoc('unknown', { owner: { id: 'nobody@example.com' } }),
  agentDoc('yaml-lapsed', { owner: { id: 'alice@example.com', attestedUntil: '2026-01-01T00:00:00Z' } }),
);
const withView = (v: OwnershipView | undefined): CompiledPolicy => ({ ...base, ownership: v });

function directory(): DirectoryIndex {
  const d = new DirectoryIndex();
  d.put(user('u1', 'alice@example.com', true));
  d.put(user('u2', 'bob', true, { emails: [{ value: 'bob.work@example.com', primary: true }] }));
  d.put(user('u3', 'carol', true, { externalId: '00u-okta-carol' }));
  d.put(user('u4', 'dave', true));
  d.put(group('g1', 'Platform Team', ['u4']));
  d.put(user('u5', 'root@example.com', true));
  return d;
}

const act = (agent: string, policy: CompiledPolicy) => decide(scaleAction(agent, 'web', 3), policy, EMPTY_STATE, NOW);

describe('owners from the directory', () => {
  test('an owner found by userName, email or externalId, or a group with an active member, is live', () => {
    const p = withView(view(directory()));
    for (const a of ['by-name', 'by-email', 'by-external', 'by-group']) expectDecision(act(a, p), 'allow');
  });

  test('a deactivated owner stops their agent; others keep working', () => {
    const d = directory();
    d.put(user('u2', 'bob', false, { emails: [{ value: 'bob.work@example.com' }] }));
    const p = withView(view(d));
    const refused = act('by-email', p);
    expectDecision(refused, 'deny', RULES.ownerInactive);
    assert.match(refused.reasons[0]?.message ?? '', /deactivated in the directory/);
    expectDecision(act('by-name', p), 'allow');
  });

  test('a deleted owner, or one the directory never knew, is not live', () => {
    const d = directory();
    d.remove('User', 'u3');
    const p = withView(view(d));
    expectDecision(act('by-external', p), 'deny', RULES.ownerInactive);
    expectDecision(act('unknown', p), 'deny', RULES.ownerInactive);
  });

  test('a group owner whose members are all inactive, or who has none, is not live', () => {
    const d = directory();
    d.put(user('u4', 'dave', false));
    expectDecision(act('by-group', withView(view(d))), 'deny', RULES.ownerInactive);
    d.put(user('u4', 'dave', true));
    d.put(group('g1', 'Platform Team', []));
    expectDecision(act('by-group', withView(view(d))), 'deny', RULES.ownerInactive);
  });

  test('a name that matches two directory entries does not resolve (a renamed user cannot take over an owner name)', () => {
    const d = directory();
    d.put(user('u9', 'mallory', true, { emails: [{ value: 'alice@example.com' }] }));
    expectDecision(act('by-name', withView(view(d))), 'deny', RULES.ownerInactive);
  });

  test('without a directory the YAML fields alone decide', () => {
    expectDecision(act('unknown', withView(view(undefined))), 'allow');
    expectDecision(act('unknown', base), 'allow');
    expectDecision(act('yaml-lapsed', base), 'deny', RULES.ownerAttestationExpired);
  });

  test('an attestation by the current owner extends a lapsed YAML date; one by a former owner does not', () => {
    const future = NOW + 86_400_000;
    expectDecision(
      act('yaml-lapsed', withView(view(undefined, { 'yaml-lapsed': { owner: 'alice@example.com', until: future } }))),
      'allow',
    );
    expectDecision(
      act('yaml-lapsed', withView(view(undefined, { 'yaml-lapsed': { owner: 'someone-else', until: future } }))),
      'deny',
      RULES.ownerAttestationExpired,
    );
  });

  test('a recorded attestation that lapsed stops an agent the YAML never asked to attest', () => {
    const d = decide(
      scaleAction('by-name', 'web', 3),
      withView(view(undefined, { 'by-name': { owner: 'alice@example.com', until: NOW - 1 } })),
      EMPTY_STATE,
      NOW,
    );
    expectDecision(d, 'deny', RULES.ownerAttestationExpired);
  });

  test('a person deactivated in the directory may neither approve nor reset; an active one may', () => {
    const d = directory();
    const agent = base.agents.get('by-name');
    assert.ok(agent);
    assert.equal(mayApprove('root@example.com', agent, withView(view(d))).ok, true);
    d.put(user('u5', 'root@example.com', false));
    assert.equal(mayApprove('root@example.com', agent, withView(view(d))).ok, false);
    assert.equal(mayResetBreaker('root@example.com', agent, withView(view(d))).ok, false);
  });
});
