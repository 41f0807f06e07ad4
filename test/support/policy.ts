import { stringify } from 'yaml';
import type { Action, Subject } from '../../src/engine/action.ts';
import { type CompiledPolicy, compilePolicy } from '../../src/policy/compile.ts';
import { formatProblem } from '../../src/policy/errors.ts';
import { parsePolicySources } from '../../src/policy/load.ts';
import type { AgentSpec, GovernancePolicySpec } from '../../src/policy/schema.ts';

export function agentDoc(name: string, spec: Partial<AgentSpec> = {}): Record<string, unknown> {
  return {
    apiVersion: 'tether.dev/v1alpha1',
    kind: 'Agent',
    metadata: { name },
    spec: {
      owner: { id: 'alice@example.com' },
      authorityClass: 'autonomous',
      identities: [{ kind: 'ServiceAccount', namespace: 'agents', name }],
      boundary: {
        namespaces: ['shop'],
        rules: [
          {
            apiGroups: ['apps'],
            resources: ['deployments', 'deployments/scale'],
            verbs: ['get', 'list', 'watch', 'update', 'patch'],
          },
        ],
      },
      ...spec,
    },
  };
}

export function governanceDoc(spec: GovernancePolicySpec = {}): Record<string, unknown> {
  return {
    apiVersion: 'tether.dev/v1alpha1',
    kind: 'GovernancePolicy',
    metadata: { name: 'default' },
    spec: { agentSelectors: { serviceAccountNamespaces: ['agents'] }, requireIntent: false, ...spec },
  };
}

/** Compiles documents into a policy; throws with the formatted problems when they do not compile. */
export function policyOf(...docs: Record<string, unknown>[]): CompiledPolicy {
  const parsed = parsePolicySources([{ name: 'test.yaml', text: docs.map((d) => stringify(d)).join('---\n') }]);
  if (parsed.problems.length) throw new Error(parsed.problems.map(formatProblem).join('\n'));
  const c = compilePolicy(parsed);
  if (!c.policy) throw new Error(c.problems.map(formatProblem).join('\n'));
  return c.policy;
}

export function sa(name: string, namespace = 'agents'): Subject {
  return {
    username: `system:serviceaccount:${namespace}:${name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
  };
}

export function deployment(
  name: string,
  replicas: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'shop', ...extra },
    spec: { replicas, template: { spec: { containers: [{ name: 'app', image: 'app:1' }] } } },
  };
}

export function scaleAction(agent: string, name: string, replicas: number, over: Partial<Action> = {}): Action {
  return {
    source: 'admission',
    subject: sa(agent),
    verb: 'update',
    target: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'shop', name },
    object: deployment(name, replicas),
    oldObject: deployment(name, 1),
    intent: { summary: 'scale for traffic' },
    ...over,
  };
}

export const NOW = Date.parse('2026-11-25T12:00:00Z');
