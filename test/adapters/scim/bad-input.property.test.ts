// Attacker: whatever JSON a SCIM client sends as a resource or a PATCH, the answer is a stored
// resource or a SCIM 4xx (ScimProblem) — never another exception (a 500), never a changed id or
// meta, never a prototype touched.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ScimProblem } from '../../../src/adapters/scim/protocol.ts';
import { patched, resourceFrom } from '../../../src/adapters/scim/resources.ts';
import type { ScimResource } from '../../../src/service/directory-index.ts';

const T = Date.UTC(2026, 0, 1);
const user: ScimResource = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
  id: 'u1',
  userName: 'alice@example.com',
  active: true,
  emails: [{ value: 'alice@example.com', type: 'work' }],
  meta: {
    resourceType: 'User',
    created: '2026-01-01T00:00:00.000Z',
    lastModified: '2026-01-01T00:00:00.000Z',
    version: 'W/"1"',
  },
};
const group: ScimResource = {
  ...user,
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
  userName: undefined,
  displayName: 'team',
  members: [{ value: 'u1' }],
  meta: { ...user.meta, resourceType: 'Group' },
};

const paths = fc.constantFrom(
  'active',
  'members',
  'emails[type eq "work"].value',
  'name.givenName',
  'members[value eq "u1"]',
  '__proto__.polluted',
  'emails[',
  'id',
  'meta.version',
  'userName',
  '',
);
const op = fc.record(
  {
    op: fc.constantFrom('add', 'Add', 'replace', 'Replace', 'remove', 'Remove', 'frob', ''),
    path: fc.option(paths, { nil: undefined }),
    value: fc.jsonValue({ maxDepth: 4 }),
  },
  { requiredKeys: ['op'] },
);
const patchBody = fc.oneof(
  fc.record({
    schemas: fc.constant(['urn:ietf:params:scim:api:messages:2.0:PatchOp']),
    Operations: fc.array(fc.oneof(op, fc.jsonValue({ maxDepth: 2 })), { maxLength: 4 }),
  }),
  fc.jsonValue({ maxDepth: 4 }),
);

function onlyScimProblems(fn: () => ScimResource): ScimResource | undefined {
  try {
    return fn();
  } catch (e) {
    assert.ok(e instanceof ScimProblem, `not a SCIM error: ${(e as Error).stack}`);
    assert.ok(e.status >= 400 && e.status < 500);
    return undefined;
  }
}

test('PATCH: any body yields a resource with the same id and a newer version, or a SCIM 4xx', () => {
  fc.assert(
    fc.property(fc.constantFrom(user, group), patchBody, (current, body) => {
      const r = onlyScimProblems(() => patched(current.meta.resourceType, current, body, T));
      if (r) {
        assert.equal(r.id, current.id);
        assert.equal(r.meta.version, 'W/"2"');
        assert.equal(r.meta.resourceType, current.meta.resourceType);
      }
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    }),
    { numRuns: 2000 },
  );
});

test('create: any body yields a valid resource with an id we chose, or a SCIM 4xx', () => {
  fc.assert(
    fc.property(
      fc.constantFrom<'User' | 'Group'>('User', 'Group'),
      fc.oneof(
        fc.jsonValue({ maxDepth: 5 }),
        fc.record({
          schemas: fc.constant(['urn:ietf:params:scim:schemas:core:2.0:User']),
          userName: fc.string(),
          id: fc.string(),
          active: fc.jsonValue(),
        }),
      ),
      (type, body) => {
        const r = onlyScimProblems(() => resourceFrom(type, body, undefined, T));
        if (r) {
          assert.match(r.id, /^[0-9a-f-]{36}$/);
          assert.equal(typeof (type === 'User' ? r.userName : r.displayName), 'string');
          if (r.active !== undefined) assert.equal(typeof r.active, 'boolean');
        }
      },
    ),
    { numRuns: 2000 },
  );
});
