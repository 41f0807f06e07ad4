// Governance before provisioning: problems a CI pipeline should catch in a GitOps repo.
import { type CompiledPolicy, compilePolicy } from './compile.ts';
import type { PolicyProblem } from './errors.ts';
import { type Located, type ParsedPolicy, parsePolicyDir } from './load.ts';
import type { AgentDocument } from './schema.ts';

const MUTATING_VERBS = ['create', 'update', 'patch', 'delete', 'deletecollection', '*'];

function agentFindings(loc: Located<AgentDocument>, known: ReadonlySet<string>): PolicyProblem[] {
  const { doc, file, document } = loc;
  const spec = doc.spec;
  const out: PolicyProblem[] = [];
  const add = (severity: 'error' | 'warning', code: string, path: string, message: string) => out.push({ file, document, path, severity, code, message });
  const cls = spec.authorityClass;
  const b = spec.boundary;
  if (cls === 'autonomous' || cls === 'self-tuning') {
    if (!b?.budgets?.length)
      add('error', 'autonomous-needs-budget', 'spec.boundary.budgets', `${cls} agents must have at least one budget: nothing else bounds how much they change alone`);
    if (!spec.breaker) add('error', 'autonomous-needs-breaker', 'spec.breaker', `${cls} agents must declare a circuit breaker`);
  }
  if (cls === 'self-tuning' && !spec.selfTuning)
    add('error', 'self-tuning-needs-limits', 'spec.selfTuning', 'self-tuning agents must declare spec.selfTuning.limits for the parameters they may change');
  if (cls !== 'self-tuning' && spec.selfTuning) add('warning', 'self-tuning-unused', 'spec.selfTuning', `selfTuning limits have no effect for a ${cls ?? 'default-class'} agent`);
  if (!b?.rules?.length) add('warning', 'empty-boundary', 'spec.boundary.rules', 'no rules: the agent may do nothing at all');
  if (b?.rules?.some((r) => !r.clusterScope) && !b.namespaces?.length)
    add('warning', 'no-namespaces', 'spec.boundary.namespaces', 'namespaced rules but no namespaces: they can never match');
  if (cls === 'advisory' && b?.rules?.some((r) => r.verbs.some((v) => MUTATING_VERBS.includes(v)))) {
    add('warning', 'advisory-mutating-rules', 'spec.boundary.rules', 'an advisory agent never mutates; its mutating rules only shape what it may propose');
  }
  (b?.chain?.mayInvoke ?? []).forEach((name, i) => {
    if (!known.has(name)) add('error', 'unknown-callee', `spec.boundary.chain.mayInvoke[${i}]`, `no Agent named ${name}`);
  });
  if (spec.owner.active === false) add('warning', 'owner-inactive', 'spec.owner.active', `owner ${spec.owner.id} is inactive: the agent may not act`);
  if (spec.mode === 'audit') add('warning', 'audit-mode', 'spec.mode', 'audit mode: refusals are only recorded, nothing is enforced');
  if (b?.budgets?.some((x) => x.maxMutations === undefined && x.maxDistinctObjects === undefined))
    add('error', 'empty-budget', 'spec.boundary.budgets', 'a budget needs maxMutations or maxDistinctObjects');
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
  if (parsed.agents.length === 0) problems.push({ file: where, severity: 'warning', code: 'no-agents', message: 'no Agent documents found' });
  const failed = problems.some((p) => p.severity === 'error');
  return { problems, policy: failed ? undefined : compiled.policy, agents: parsed.agents.length };
}

export function lintDir(dir: string): LintResult {
  return lintParsed(parsePolicyDir(dir), dir);
}

/** Loads a policy directory for enforcement: any error refuses the whole set (no partial policy). */
export function loadPolicyDir(dir: string): { policy: CompiledPolicy; problems: readonly PolicyProblem[] } | { policy?: undefined; problems: readonly PolicyProblem[] } {
  const parsed = parsePolicyDir(dir);
  if (parsed.problems.some((p) => p.severity === 'error')) return { problems: parsed.problems };
  const compiled = compilePolicy(parsed);
  return compiled.policy ? { policy: compiled.policy, problems: compiled.problems } : { problems: compiled.problems };
}
