// Analyzer parity with the API server: groups added on authentication, and kubectl's resource.version.group.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { userPrincipal } from '../../../src/analysis/access/identity.ts';
import { parseQuestion } from '../../../src/cli/commands/access.ts';
import { UsageError } from '../../../src/cli/output.ts';

test('system:authenticated is added as the API server adds it: never to a user who already has system:unauthenticated', () => {
  assert.deepEqual(userPrincipal('bob').groups, ['system:authenticated']);
  assert.deepEqual(userPrincipal('bob', ['system:unauthenticated']).groups, ['system:unauthenticated']);
  assert.deepEqual(userPrincipal('system:anonymous').groups, ['system:unauthenticated']);
  assert.deepEqual(userPrincipal('bob', ['system:authenticated', 'dev']).groups, ['system:authenticated', 'dev']);
});

test('deployments.v1.apps is group apps, as kubectl reads it; a bare version is a usage error, not a silent no', () => {
  assert.deepEqual(parseQuestion('get', 'deployments.v1.apps'), {
    verb: 'get',
    group: 'apps',
    resource: 'deployments',
    subresource: undefined,
    namespace: undefined,
    name: undefined,
  });
  assert.equal((parseQuestion('get', 'deployments.v1.apps/scale') as { subresource?: string }).subresource, 'scale');
  assert.equal((parseQuestion('get', 'ingresses.networking.k8s.io') as { group: string }).group, 'networking.k8s.io');
  assert.throws(
    () => parseQuestion('get', 'deployments.v1'),
    (e: unknown) => e instanceof UsageError && /v1 is a version, not an API group/.test(e.message),
  );
});
