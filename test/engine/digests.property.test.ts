// A decision canonicalises its object once for two digests (actionAndObjectDigests). Whatever the
// object holds — Tether's bound annotations, carrier annotations, server bookkeeping, odd keys — the
// two digests must be exactly those computed apart, or approvals would stop matching their actions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CanonicalText, canonicalJson } from '../../src/common/canonical-json.ts';
import { digestOf } from '../../src/common/digest.ts';
import type { Action } from '../../src/engine/action.ts';
import { actionAndObjectDigests, actionDigest, stableObject } from '../../src/engine/digest.ts';

const annotationKey = fc.constantFrom(
  'tether.dev/intent',
  'tether.dev/approval',
  'tether.dev/chain',
  'tether.dev/owner-note',
  'kubectl.kubernetes.io/last-applied-configuration',
  'team',
);
const object = fc.record(
  {
    apiVersion: fc.constant('apps/v1'),
    kind: fc.constant('Deployment'),
    metadata: fc.record(
      {
        name: fc.string(),
        resourceVersion: fc.string(),
        annotations: fc.dictionary(annotationKey, fc.string()),
      },
      { requiredKeys: ['name'] },
    ),
    spec: fc.jsonValue(),
    status: fc.jsonValue(),
  },
  { requiredKeys: ['metadata'] },
);

test('one canonicalisation gives the same action and object digests as two', () => {
  fc.assert(
    fc.property(object, fc.string(), (obj, username) => {
      const action: Action & { object: object } = {
        source: 'admission',
        subject: { username, groups: [] },
        verb: 'update',
        target: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'shop', name: 'web' },
        object: obj,
      };
      const both = actionAndObjectDigests(action);
      assert.equal(both.action, actionDigest(action));
      assert.equal(both.object, digestOf(stableObject(obj)));
    }),
    { numRuns: 500 },
  );
});

test('canonical text spliced into a value is the text the value would have had', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.jsonValue(), (inner, other) => {
      assert.equal(
        canonicalJson({ a: other, b: new CanonicalText(inner), c: [new CanonicalText(inner)] }),
        canonicalJson({ a: other, b: inner, c: [inner] }),
      );
    }),
  );
});
