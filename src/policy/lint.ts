// Governance before provisioning: problems a CI pipeline should catch in a GitOps repo.
import { namesBelowAMapKey, namesOnlyServerManaged } from '../kube/field-diff.ts';
import { RUNS_PODS } from '../kube/pod-template.ts';
import { RBAC_RESOURCES } from '../kube/rbac-match.ts';
import { type CompiledPolicy, compilePolicy } from './compile.ts';
import type { PolicyProblem } from './errors.ts';
import { type Located, type ParsedPolicy, parsePolicyDir } from './load.ts';
import type { AgentDocument } from './schema.ts';

const MUTATING_VERBS = ['create', 'update', 'patch', 'delete', 'deletecollection', '*'];

function agentFindings(loc: Located<AgentDocument>, known: ReadonlySet<string>): PolicyProblem[] {
  const { doc, file, document } = loc;
  const spec = doc.spec;
  const out: PolicyProblem[] = [];
  const add = (severity: 'error' | 'warning', code: string, path: string, message: string) =>
    out.push({ file, document, path, severity, code, message });
  const cls = spec.authorityClass;
  const b = spec.boundary;
  if (cls === 'autonomous' || cls === 'self-tuning') {
    if (!b?.budgets?.length)
      add(
        'error',
        'autonomous-needs-budget',
        'spec.boundary.budgets',
        `${cls} agents must have at least one budget: nothing else bounds how much they change alone`,
      );
    if (!spec.breaker)
      add('error', 'autonomous-needs-breaker', 'spec.breaker', `${cls} agents must declare a circuit breaker`);
  }
  if (cls === 'self-tuning' && !spec.selfTuning)
    add(
      'error',
      'self-tuning-needs-limits',
      'spec.selfTuning',
      'self-tuning agents must declare spec.selfTuning.limits for the parameters they may change',
    );
  if (cls !== 'self-tuning' && spec.selfTuning)
    add(
      'warning',
      'self-tuning-unused',
      'spec.selfTuning',
      `selfTuning limits have no effect for a ${cls ?? 'default-class'} agent`,
    );
  if (!b?.rules?.length)
    add('warning', 'empty-boundary', 'spec.boundary.rules', 'no rules: the agent may do nothing at all');
  if (b?.rules?.some((r) => !r.clusterScope) && !b.namespaces?.length)
    add(
      'warning',
      'no-namespaces',
      'spec.boundary.namespaces',
      'namespaced rules but no namespaces: they can never match',
    );
  if (cls === 'advisory' && b?.rules?.some((r) => r.verbs.some((v) => MUTATING_VERBS.includes(v)))) {
    add(
      'warning',
      'advisory-mutating-rules',
      'spec.boundary.rules',
      'an advisory agent never mutates; its mutating rules only shape what it may propose',
    );
  }
  (b?.chain?.mayInvoke ?? []).forEach((name, i) => {
    if (!known.has(name))
      add('error', 'unknown-callee', `spec.boundary.chain.mayInvoke[${i}]`, `no Agent named ${name}`);
  });
  out.push(...containmentFindings(loc));
  if (spec.owner.active === false)
    add('warning', 'owner-inactive', 'spec.owner.active', `owner ${spec.owner.id} is inactive: the agent may not act`);
  if (spec.mode === 'audit')
    add('warning', 'audit-mode', 'spec.mode', 'audit mode: refusals are only recorded, nothing is enforced');
  if (b?.budgets?.some((x) => x.maxMutations === undefined && x.maxDistinctObjects === undefined))
    add('error', 'empty-budget', 'spec.boundary.budgets', 'a budget needs maxMutations or maxDistinctObjects');
  return out;
}

const WRITE = ['create', 'update', 'patch', '*'];

/** runAs and fields: what containment needs to be stated, and field paths that can never match. */
function containmentFindings(loc: Located<AgentDocument>): PolicyProblem[] {
  const { doc, file, document } = loc;
  const b = doc.spec.boundary;
  const out: PolicyProblem[] = [];
  const add = (code: string, path: string, message: string) =>
    out.push({ file, document, path, severity: 'warning', code, message });
  const rules = b?.rules ?? [];
  // A rule whose fields keep updates away from the pod spec (spec.replicas) changes no workload identity.
  const podSpecReachable = (r: (typeof rules)[number]) =>
    r.verbs.some((v) => v === 'create' || v === '*') ||
    !r.fields ||
    r.fields.some((f) => f === 'spec' || /^spec\.(template|jobTemplate|containers|serviceAccount)/.test(f));
  const writes = (r: (typeof rules)[number], set: ReadonlySet<string>) =>
    r.verbs.some((v) => WRITE.includes(v)) &&
    r.resources.some((x) => x === '*' || set.has(x)) &&
    (set !== RUNS_PODS || podSpecReachable(r));
  if (doc.spec.authorityClass !== 'advisory' && !b?.runAs?.length) {
    const what = [
      rules.some((r) => writes(r, RUNS_PODS)) ? 'workloads' : '',
      rules.some((r) => writes(r, RBAC_RESOURCES)) ? 'roles or bindings' : '',
    ].filter(Boolean);
    if (what.length)
      add(
        'no-run-as',
        'spec.boundary.runAs',
        `the agent may create or change ${what.join(' and ')} but lists no runAs: every pod it runs (and every grant it writes) must hold nothing beyond its boundary, judged from the cluster view; list the service accounts its workloads may run as`,
      );
  }
  rules.forEach((r, i) => {
    (r.fields ?? []).forEach((f, j) => {
      const path = `spec.boundary.rules[${i}].fields[${j}]`;
      if (!r.verbs.some((v) => v === 'update' || v === 'patch' || v === '*'))
        add('fields-never-match', path, `${f}: fields scope updates, and this rule grants no update or patch`);
      else if (namesOnlyServerManaged(f))
        add(
          'fields-never-match',
          path,
          `${f}: the server manages this field and Tether ignores its changes, so the entry never matches`,
        );
      else if (namesBelowAMapKey(f))
        add(
          'fields-never-match',
          path,
          `${f}: a label or annotation key is one segment and a pattern splits at every dot, so a key with dots cannot be named and the entry never matches; use ${f.split('.').slice(0, 2).join('.')}.* (any key) instead`,
        );
      else if (r.resources.every((x) => x.endsWith('/scale')) && !f.startsWith('spec.replicas'))
        add('fields-never-match', path, `${f}: the scale subresource changes only spec.replicas`);
    });
  });
  return out;
}

export interface LintResult {
  readonly problems: readonly PolicyProblem[];
  readonly policy?: CompiledPolicy;
  readonly agents: number;
}

export function lintParsed(parsed: ParsedPolicy, where: string): LintResult {
  const problems: PolicyProblem[] = [...parsed.problems];
  const compiled = compilePolicy(parsed);
  problems.push(...compiled.problems);
  const names = new Set(parsed.agents.map((a) => a.doc.metadata.name));
  for (const a of parsed.agents) problems.push(...agentFindings(a, names));
  if (parsed.governance.length === 0) {
    problems.push({
      file: where,
      severity: 'warning',
      code: 'no-governance-policy',
      message: 'no GovernancePolicy: identities that behave as agents but have no Agent are not caught',
    });
  }
  if (parsed.agents.length === 0)
    problems.push({ file: where, severity: 'warning', code: 'no-agents', message: 'no Agent documents found' });
  const failed = problems.some((p) => p.severity === 'error');
  return { problems, policy: failed ? undefined : compiled.policy, agents: parsed.agents.length };
}

export function lintDir(dir: string): LintResult {
  return lintParsed(parsePolicyDir(dir), dir);
}

/** Loads a policy directory for enforcement: any error refuses the whole set (no partial policy). */
export function loadPolicyDir(
  dir: string,
):
  | { policy: CompiledPolicy; problems: readonly PolicyProblem[] }
  | { policy?: undefined; problems: readonly PolicyProblem[] } {
  const parsed = parsePolicyDir(dir);
  if (parsed.problems.some((p) => p.severity === 'error')) return { problems: parsed.problems };
  const compiled = compilePolicy(parsed);
  return compiled.policy ? { policy: compiled.policy, problems: compiled.problems } : { problems: compiled.problems };
}
