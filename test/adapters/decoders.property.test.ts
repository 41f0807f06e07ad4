// Property: whatever bytes arrive, the decoders either return a well-formed request or throw a
// DecodeError naming where the input went wrong — never another exception.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeAdmissionReview } from '../../src/adapters/admission/decode.ts';
import { decodeAuditEventList } from '../../src/adapters/audit/events.ts';
import { decodeSubjectAccessReview } from '../../src/adapters/authorization/subject-access-review.ts';
import { DecodeError } from '../../src/adapters/shared/decode-error.ts';
import { admissionReview, deploymentObject } from '../support/admission.ts';

function onlyDecodeErrors(decode: (v: unknown) => unknown, value: unknown): void {
  try {
    decode(value);
  } catch (e) {
    assert.ok(e instanceof DecodeError, `unexpected ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    assert.ok(e.path.length > 0 && e.message.includes(e.path));
  }
}

/** A valid review with one field replaced by arbitrary JSON, or deleted. */
const mutatedReview = fc
  .record({
    path: fc.constantFrom(
      'apiVersion',
      'kind',
      'request',
      'request.uid',
      'request.operation',
      'request.resource',
      'request.resource.resource',
      'request.userInfo',
      'request.userInfo.groups',
      'request.object',
      'request.object.metadata',
      'request.object.metadata.annotations',
      'request.namespace',
      'request.options',
      'request.dryRun',
    ),
    value: fc.oneof(
      fc.jsonValue(),
      fc.constant(undefined),
      fc.constantFrom('{"summary":', '{"summary":"x","targets":[1]}', '{}'),
    ),
    intentAnnotation: fc.boolean(),
  })
  .map(({ path, value, intentAnnotation }) => {
    const review = admissionReview({
      username: 'system:serviceaccount:agents:bot',
      resource: 'deployments',
      namespace: 'shop',
      name: 'web',
      object: deploymentObject('web', 2),
      oldObject: deploymentObject('web', 1),
    }) as Record<string, unknown>;
    const parts = (
      intentAnnotation && path === 'request.object.metadata.annotations' ? `${path}.tether.dev/intent` : path
    ).split('.');
    let cur = review as Record<string, unknown>;
    for (const p of parts.slice(0, -1)) {
      if (typeof cur[p] !== 'object' || cur[p] === null) cur[p] = {};
      cur = cur[p] as Record<string, unknown>;
    }
    const last = parts[parts.length - 1] as string;
    if (value === undefined) delete cur[last];
    else cur[last] = value;
    return review;
  });

test('the AdmissionReview decoder accepts or refuses precisely, whatever it is given', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => onlyDecodeErrors(decodeAdmissionReview, v)),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(mutatedReview, (v) => onlyDecodeErrors(decodeAdmissionReview, v)),
    { numRuns: 2000 },
  );
});

test('a valid review decodes to the action it describes', () => {
  fc.assert(
    fc.property(
      fc.constantFrom('CREATE', 'UPDATE', 'DELETE') as fc.Arbitrary<'CREATE' | 'UPDATE' | 'DELETE'>,
      fc.boolean(),
      fc.string({ minLength: 1, maxLength: 20 }),
      (operation, patch, name) => {
        const r = decodeAdmissionReview(
          admissionReview({
            username: 'u',
            resource: 'deployments',
            namespace: 'shop',
            name,
            operation,
            patch,
            object: deploymentObject(name, 1),
            oldObject: deploymentObject(name, 1),
          }),
        );
        const verb = operation === 'CREATE' ? 'create' : operation === 'DELETE' ? 'delete' : patch ? 'patch' : 'update';
        assert.equal(r.action.verb, verb);
        assert.equal(r.action.target.name, name);
        assert.equal(r.action.object === undefined, operation === 'DELETE');
      },
    ),
  );
});

test('the SubjectAccessReview and audit decoders never throw anything but DecodeError', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => onlyDecodeErrors(decodeSubjectAccessReview, v)),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.jsonValue(), (v) => onlyDecodeErrors(decodeAuditEventList, v)),
    { numRuns: 500 },
  );
  const sar = fc.record({
    apiVersion: fc.constant('authorization.k8s.io/v1'),
    kind: fc.constant('SubjectAccessReview'),
    spec: fc.record({
      user: fc.oneof(fc.string(), fc.jsonValue()),
      groups: fc.jsonValue(),
      resourceAttributes: fc.dictionary(
        fc.constantFrom('verb', 'resource', 'namespace', 'group', 'name'),
        fc.jsonValue(),
      ),
    }),
  });
  fc.assert(
    fc.property(sar, (v) => onlyDecodeErrors(decodeSubjectAccessReview, v)),
    { numRuns: 1000 },
  );
  const events = fc.record({
    apiVersion: fc.constant('audit.k8s.io/v1'),
    kind: fc.constant('EventList'),
    items: fc.array(
      fc.dictionary(
        fc.constantFrom('auditID', 'stage', 'verb', 'user', 'objectRef', 'annotations', 'responseStatus'),
        fc.jsonValue(),
      ),
    ),
  });
  fc.assert(
    fc.property(events, (v) => onlyDecodeErrors(decodeAuditEventList, v)),
    { numRuns: 1000 },
  );
});
