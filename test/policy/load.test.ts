import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { compilePolicy } from '../../src/policy/compile.ts';
import { crdYaml } from '../../src/policy/crd.ts';
import { formatProblem } from '../../src/policy/errors.ts';
import { lintParsed } from '../../src/policy/lint.ts';
import { parsePolicySources } from '../../src/policy/load.ts';

const header = 'apiVersion: tether.dev/v1alpha1\nkind: Agent\n';
const good = `${header}metadata: { name: a }\nspec:\n  owner: { id: alice }\n  identities: [{ kind: User, name: bot-a }]\n`;

function problems(text: string, name = 'agents.yaml') {
  const parsed = parsePolicySources([{ name, text }]);
  const all = [...parsed.problems];
  if (all.length === 0) all.push(...compilePolicy(parsed).problems);
  return all.map(formatProblem);
}

describe('bad policy input names the file, document and field', () => {
  const cases: [string, string, RegExp][] = [
    [
      'unknown field',
      `${good}---\n${header}metadata: { name: b }\nspec:\n  owner: { id: bob }\n  identities: [{ kind: User, name: b }]\n  boundry: {}\n`,
      /agents\.yaml#1 spec\.boundry: unknown field/,
    ],
    [
      'wrong type',
      `${header}metadata: { name: b }\nspec:\n  owner: { id: bob }\n  identities: [{ kind: User, name: b }]\n  boundary: { rules: [{ apiGroups: [apps], resources: deployments, verbs: [get] }] }\n`,
      /agents\.yaml#0 spec\.boundary\.rules\[0\]\.resources: expected array/,
    ],
    [
      'bad enum',
      `${header}metadata: { name: b }\nspec:\n  owner: { id: bob }\n  authorityClass: godlike\n  identities: [{ kind: User, name: b }]\n`,
      /spec\.authorityClass: must be one of "advisory", "supervised", "autonomous", "self-tuning"; got "godlike"/,
    ],
    [
      'bad identity kind',
      `${header}metadata: { name: b }\nspec:\n  owner: { id: bob }\n  identities: [{ kind: Robot, name: b }]\n`,
      /spec\.identities\[0\]\.kind: must be one of ServiceAccount, User, Group, OIDC, MCPClient/,
    ],
    [
      'missing field inside a variant',
      `${header}metadata: { name: b }\nspec:\n  owner: { id: bob }\n  identities: [{ kind: ServiceAccount, name: b }]\n`,
      /spec\.identities\[0\]\.namespace/,
    ],
    [
      'missing owner',
      `${header}metadata: { name: b }\nspec:\n  identities: [{ kind: User, name: b }]\n`,
      /agents\.yaml#0 spec\.owner: expected required property/,
    ],
    [
      'bad CEL',
      `${header}metadata: { name: b }\nspec:\n  owner: { id: bob }\n  identities: [{ kind: User, name: b }]\n  boundary: { conditions: [{ name: c, expression: "object.spec.replicas <= " }] }\n`,
      /agents\.yaml#0 spec\.boundary\.conditions\[0\]\.expression: CEL does not compile/,
    ],
    [
      'duplicate identity',
      `${good}---\n${header}metadata: { name: b }\nspec:\n  owner: { id: bob }\n  identities: [{ kind: User, name: bot-a }]\n`,
      /agents\.yaml#1 spec\.identities\[0\]: User bot-a is already claimed by agent a \(agents\.yaml#0\)/,
    ],
    ['duplicate agent', `${good}---\n${good}`, /agents\.yaml#1 metadata\.name: agent a is already defined/],
    ['broken YAML', `${header}metadata: { name: b\nspec: [\n`, /agents\.yaml#0: line \d+ column \d+/],
    [
      'bad duration',
      `${header}metadata: { name: b }\nspec:\n  owner: { id: bob }\n  identities: [{ kind: User, name: b }]\n  boundary: { budgets: [{ window: 1 hour, maxMutations: 3 }] }\n`,
      /spec\.boundary\.budgets\[0\]\.window/,
    ],
    [
      'bad time',
      `${header}metadata: { name: b }\nspec:\n  owner: { id: bob, attestedUntil: tomorrow }\n  identities: [{ kind: User, name: b }]\n`,
      /spec\.owner\.attestedUntil: must be an RFC 3339 time/,
    ],
    [
      'unknown tether kind',
      'apiVersion: tether.dev/v1alpha1\nkind: Agnet\nmetadata: { name: x }\n',
      /agents\.yaml#0 kind: unknown kind "Agnet"/,
    ],
  ];
  for (const [name, text, expected] of cases) {
    test(name, () => {
      const out = problems(text);
      assert.ok(
        out.some((p) => expected.test(p)),
        `expected ${expected} in:\n${out.join('\n')}`,
      );
    });
  }
  test('a valid document has no problems, and other API groups are ignored', () => {
    assert.deepEqual(problems(`${good}---\napiVersion: apps/v1\nkind: Deployment\nmetadata: { name: x }\n`), []);
  });
  test('two GovernancePolicies are refused', () => {
    const g = 'apiVersion: tether.dev/v1alpha1\nkind: GovernancePolicy\nmetadata: { name: g }\nspec: {}\n';
    assert.ok(problems(`${g}---\n${g}`).some((p) => /only one GovernancePolicy/.test(p)));
  });
});

describe('lint', () => {
  const lint = (text: string) =>
    lintParsed(parsePolicySources([{ name: 'x.yaml', text }]), 'x.yaml').problems.map((p) => p.code);
  test('autonomous agents need budgets and a breaker', () => {
    const codes = lint(
      `${header}metadata: { name: b }\nspec:\n  owner: { id: bob }\n  authorityClass: autonomous\n  identities: [{ kind: User, name: b }]\n  boundary: { namespaces: [x], rules: [{ apiGroups: [apps], resources: [deployments], verbs: [update] }] }\n`,
    );
    assert.ok(codes.includes('autonomous-needs-budget') && codes.includes('autonomous-needs-breaker'));
  });
  test('a coherent autonomous agent passes without errors', () => {
    const r = lintParsed(
      parsePolicySources([
        {
          name: 'x.yaml',
          text: `${header}metadata: { name: b }\nspec:\n  owner: { id: bob }\n  authorityClass: autonomous\n  identities: [{ kind: User, name: b }]\n  boundary: { namespaces: [x], rules: [{ apiGroups: [apps], resources: [deployments], verbs: [update] }], budgets: [{ window: 1h, maxMutations: 3 }] }\n  breaker: { maxViolations: 3 }\n`,
        },
      ]),
      'x.yaml',
    );
    assert.deepEqual(
      r.problems.filter((p) => p.severity === 'error'),
      [],
    );
  });
  test('unknown callees and self-tuning without limits are errors', () => {
    const codes = lint(
      `${header}metadata: { name: b }\nspec:\n  owner: { id: bob }\n  authorityClass: self-tuning\n  identities: [{ kind: User, name: b }]\n  boundary: { budgets: [{ window: 1h, maxMutations: 1 }], chain: { mayInvoke: [ghost] } }\n  breaker: {}\n`,
    );
    assert.ok(codes.includes('unknown-callee') && codes.includes('self-tuning-needs-limits'));
  });
});

test('the committed CRDs are generated from the current schema (run npm run gen:crds)', () => {
  for (const [kind, plural] of [
    ['Agent', 'agents'],
    ['GovernancePolicy', 'governancepolicies'],
  ] as const) {
    const committed = readFileSync(new URL(`../../deploy/crds/${plural}.tether.dev.yaml`, import.meta.url), 'utf8');
    assert.equal(committed, crdYaml(kind), `deploy/crds/${plural}.tether.dev.yaml is stale`);
  }
});
