// The action digest binds an approval to exactly one change, and approvals stored before an
// upgrade are matched against digests computed after it: its definition must not drift. The fast
// path (the object's canonical text spliced in) is checked against the definition itself.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { digestOf } from '../../src/common/digest.ts';
import type { Action } from '../../src/engine/action.ts';
import { actionDigest, stableObject, stableObjectJson } from '../../src/engine/digest.ts';
import { decisionLeaf } from '../../src/service/decision-leaf.ts';
import { deploymentObject } from '../support/admission.ts';

/** The definition: sha256 over canonical {username, verb, target, object (stable), tool}. */
const defined = (a: Action) =>
  digestOf({
    username: a.subject.username,
    verb: a.verb,
    target: a.target,
    object: a.object === undefined ? null : stableObject(a.object),
    tool: a.tool ? { server: a.tool.server, name: a.tool.name, arguments: a.tool.argumentsDigest ?? null } : null,
  });

const actions = fc.record({
  username: fc.string(),
  verb: fc.constantFrom('create', 'update', 'patch', 'delete', 'get'),
  name: fc.string(),
  object: fc.option(fc.jsonValue(), { nil: undefined }),
  tool: fc.option(fc.record({ server: fc.string(), name: fc.string(), argumentsDigest: fc.option(fc.string(), { nil: undefined }) }), { nil: undefined }),
});

test('actionDigest is its definition, with or without the object text passed in', () => {
  fc.assert(
    fc.property(actions, (r) => {
      const a = {
        source: 'api',
        subject: { username: r.username, groups: [] },
        verb: r.verb,
        target: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'shop', name: r.name },
        object: r.object,
        tool: r.tool,
      } as unknown as Action;
      assert.equal(actionDigest(a), defined(a));
      assert.equal(actionDigest(a, stableObjectJson(a.object)), defined(a));
    }),
    { numRuns: 1000 },
  );
});

test('the decision leaf digests the object and the action as defined; bookkeeping does not move them, content does', () => {
  const leafFor = (object: unknown) => {
    const a = {
      source: 'admission',
      subject: { username: 'system:serviceaccount:agents:bot', groups: [] },
      verb: 'update',
      target: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'shop', name: 'web' },
      object,
    } as unknown as Action;
    const decision = { outcome: 'allow', governed: false, reasons: [], warnings: [], effects: [], policyVersion: 'v' } as never;
    return { a, leaf: decisionLeaf(a, decision, 0) };
  };
  const { a, leaf } = leafFor(deploymentObject('web', 3));
  assert.equal(leaf.actionDigest, defined(a));
  assert.equal(leaf.objectDigest, digestOf(stableObject(a.object)));
  const bookkeeping = deploymentObject('web', 3) as { metadata: Record<string, unknown> };
  bookkeeping.metadata.resourceVersion = '99999';
  bookkeeping.metadata.annotations = { 'tether.dev/intent': '{}' };
  assert.equal(leafFor(bookkeeping).leaf.actionDigest, leaf.actionDigest);
  assert.equal(leafFor(bookkeeping).leaf.objectDigest, leaf.objectDigest);
  assert.notEqual(leafFor(deploymentObject('web', 4)).leaf.actionDigest, leaf.actionDigest);
  assert.notEqual(leafFor(deploymentObject('web', 4)).leaf.objectDigest, leaf.objectDigest);
});
