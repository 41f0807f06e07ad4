// runAs and fields in policy: adding to either is a widening (human review); lint says when an
// agent may run workloads without runAs and when a fields entry can never match; explain states both.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { stringify } from 'yaml';
import { wideningChanges } from '../../src/policy/boundary-diff.ts';
import { compilePolicy } from '../../src/policy/compile.ts';
import { explainAgent } from '../../src/policy/explain.ts';
import { lintParsed } from '../../src/policy/lint.ts';
import { parsePolicySources } from '../../src/policy/load.ts';
import type { AgentSpec } from '../../src/policy/schema.ts';
import { agentDoc, governanceDoc } from '../support/policy.ts';

const base: AgentSpec = {
  owner: { id: 'alice@example.com' },
  identities: [{ kind: 'ServiceAccount', namespace: 'agents', name: 'bot' }],
  boundary: {
    namespaces: ['shop'],
    runAs: ['ci'],
    rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['update'], fields: ['spec.replicas'] }],
  },
};
const withBoundary = (b: Partial<NonNullable<AgentSpec['boundary']>>): AgentSpec => ({
  ...base,
  boundary: { ...base.boundary, ...b },
});

describe('widening: runAs and fields', () => {
  test('a new runAs account is a widening', () =>
    assert.deepEqual(wideningChanges(base, withBoundary({ runAs: ['ci', 'shop-admin'] })), [
      'workloads may now run as shop-admin',
    ]));
  test('dropping fields is a widening', () =>
    assert.deepEqual(
      wideningChanges(
        base,
        withBoundary({ rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['update'] }] }),
      ),
      ['rule update on deployments (apps) may now change any field'],
    ));
  test('another field is a widening', () =>
    assert.deepEqual(
      wideningChanges(
        base,
        withBoundary({
          rules: [
            {
              apiGroups: ['apps'],
              resources: ['deployments'],
              verbs: ['update'],
              fields: ['spec.replicas', 'spec.template'],
            },
          ],
        }),
      ),
      ['rule update on deployments (apps) may now change fields spec.replicas, spec.template'],
    ));
  test('fewer runAs accounts and narrower fields are not', () => {
    assert.deepEqual(wideningChanges(base, withBoundary({ runAs: [] })), []);
    assert.deepEqual(
      wideningChanges(
        withBoundary({ rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['update'] }] }),
        base,
      ),
      [],
    );
  });
});

function lint(spec: Partial<AgentSpec>) {
  const r = lintParsed(
    parsePolicySources([
      { name: 'p.yaml', text: [governanceDoc(), agentDoc('bot', spec)].map((d) => stringify(d)).join('---\n') },
    ]),
    'p.yaml',
  );
  return r.problems
    .filter((p) => p.code === 'no-run-as' || p.code === 'fields-never-match')
    .map((p) => `${p.code} ${p.path}: ${p.message}`);
}

/** Lint's fields-never-match warnings for one rule that patches deployments within `fields`. */
const neverMatching = (fields: string[]) =>
  lint({
    boundary: {
      namespaces: ['shop'],
      rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['patch'], fields }],
    },
  }).filter((f) => f.startsWith('fields-never-match'));

describe('lint: containment', () => {
  test('an agent that may create pods without runAs is warned', () => {
    const found = lint({
      boundary: { namespaces: ['shop'], rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['create'] }] },
    });
    assert.equal(found.length, 1);
    assert.match(
      found[0] ?? '',
      /^no-run-as spec\.boundary\.runAs: the agent may create or change workloads but lists no runAs/,
    );
  });
  test('grants without runAs are warned too', () =>
    assert.match(
      lint({
        boundary: {
          namespaces: ['shop'],
          rules: [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings'], verbs: ['create'] }],
        },
      })[0] ?? '',
      /roles or bindings/,
    ));
  test('a scaler limited to spec.replicas, or an agent with runAs, is not', () => {
    assert.deepEqual(
      lint({
        boundary: {
          namespaces: ['shop'],
          rules: [
            { apiGroups: ['apps'], resources: ['deployments'], verbs: ['update', 'patch'], fields: ['spec.replicas'] },
          ],
        },
      }),
      [],
    );
    assert.deepEqual(
      lint({
        boundary: {
          namespaces: ['shop'],
          runAs: ['ci'],
          rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['create'] }],
        },
      }),
      [],
    );
  });
  test('fields that can never match are warned', () =>
    assert.deepEqual(
      lint({
        boundary: {
          namespaces: ['shop'],
          rules: [
            { apiGroups: [''], resources: ['configmaps'], verbs: ['create'], fields: ['data.x'] },
            {
              apiGroups: [''],
              resources: ['configmaps'],
              verbs: ['patch'],
              fields: ['status.phase', 'metadata.annotations.tether.dev/intent'],
            },
            { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['update'], fields: ['spec.template'] },
          ],
        },
      }),
      [
        'fields-never-match spec.boundary.rules[0].fields[0]: data.x: fields scope updates, and this rule grants no update or patch',
        'fields-never-match spec.boundary.rules[1].fields[0]: status.phase: the server manages this field and Tether ignores its changes, so the entry never matches',
        'fields-never-match spec.boundary.rules[1].fields[1]: metadata.annotations.tether.dev/intent: the server manages this field and Tether ignores its changes, so the entry never matches',
        'fields-never-match spec.boundary.rules[2].fields[0]: spec.template: the scale subresource changes only spec.replicas',
      ],
    ));
  test('every path the engine ignores is warned, from the same list (src/kube/field-diff.ts)', () =>
    assert.deepEqual(neverMatching(['metadata.selfLink', 'metadata.labels.app', 'status.conditions[*]']), [
      'fields-never-match spec.boundary.rules[0].fields[0]: metadata.selfLink: the server manages this field and Tether ignores its changes, so the entry never matches',
      'fields-never-match spec.boundary.rules[0].fields[2]: status.conditions[*]: the server manages this field and Tether ignores its changes, so the entry never matches',
    ]));
  test('a label or annotation key with dots cannot be named: warned, with what to write instead', () =>
    assert.deepEqual(
      neverMatching(['metadata.labels.app.kubernetes.io/name', 'metadata.labels.app', 'metadata.annotations.*']),
      [
        'fields-never-match spec.boundary.rules[0].fields[0]: metadata.labels.app.kubernetes.io/name: a label or annotation key is one segment and a pattern splits at every dot, so a key with dots cannot be named and the entry never matches; use metadata.labels.* (any key) instead',
      ],
    ));
  test('a malformed field path is a schema error', () => {
    const r = lintParsed(
      parsePolicySources([
        {
          name: 'p.yaml',
          text: stringify(
            agentDoc('bot', {
              boundary: { rules: [{ apiGroups: [''], resources: ['x'], verbs: ['patch'], fields: ['spec..x'] }] },
            }),
          ),
        },
      ]),
      'p.yaml',
    );
    assert.ok(
      r.problems.some((p) => p.severity === 'error' && /fields/.test(p.path ?? '')),
      JSON.stringify(r.problems),
    );
  });
});

test('explain states runAs and fields', () => {
  const parsed = parsePolicySources([
    { name: 'p.yaml', text: [governanceDoc(), agentDoc('bot', base)].map((d) => stringify(d)).join('---\n') },
  ]);
  const policy = compilePolicy(parsed).policy;
  assert.ok(policy);
  const text = explainAgent(policy.agents.get('bot') as never, policy);
  assert.match(text, /Field scope: updates through update deployments may change only spec\.replicas\./);
  assert.match(
    text,
    /Workload identity: pods it creates or changes may run as ci whatever they may do; any other service account must hold nothing beyond this boundary\./,
  );
});
