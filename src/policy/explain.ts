// What an agent may do, in plain words: for owners, approvers and auditors.
import type { CompiledAgent, CompiledPolicy } from './compile.ts';
import { describeIdentity } from './compile.ts';
import { approversFor } from '../engine/approvers.ts';
import { RULE_FAMILIES } from '../engine/rules/families.ts';

const CLASS_MEANING = {
  advisory: 'may read and propose; every change it attempts is refused and recorded as a proposal',
  supervised: 'may change things only with a human approval for each action',
  autonomous: 'may change things inside its boundary without asking',
  'self-tuning': 'may change things inside its boundary and tune its own operating parameters within declared limits',
} as const;

export function explainAgent(agent: CompiledAgent, policy: CompiledPolicy): string {
  const s = agent.spec;
  const b = s.boundary ?? {};
  const lines: string[] = [];
  lines.push(`${agent.name}: ${s.description ?? 'no description'}`);
  lines.push(
    `Owner: ${s.owner.name ? `${s.owner.name} <${s.owner.id}>` : s.owner.id}${s.owner.active === false ? ' (INACTIVE: the agent may not act)' : ''}`,
  );
  lines.push(`Acts as: ${s.identities.map(describeIdentity).join('; ')}`);
  lines.push(`Authority: ${agent.authorityClass} — it ${CLASS_MEANING[agent.authorityClass]}.`);
  lines.push(`Mode: ${agent.mode === 'enforce' ? 'enforced' : 'audit only (refusals are recorded, not applied)'}`);
  const ns = b.namespaces ?? [];
  lines.push(
    `Where: ${ns.includes('*') ? 'every namespace' : ns.length ? `namespaces ${ns.join(', ')}` : 'no namespace'}`,
  );
  if (!b.rules?.length) lines.push('What: nothing (no rules).');
  for (const r of b.rules ?? []) {
    const groups = r.apiGroups.map((g) => (g === '' ? 'core' : g)).join(', ');
    lines.push(
      `  - may ${r.verbs.join(', ')} ${r.resources.join(', ')} (${groups})${r.resourceNames ? ` named ${r.resourceNames.join(', ')}` : ''}${r.clusterScope ? ', cluster-wide' : ''}`,
    );
  }
  for (const c of b.conditions ?? []) lines.push(`  - only when ${c.expression}${c.message ? ` (${c.message})` : ''}`);
  for (const bu of b.budgets ?? []) {
    const parts = [
      bu.maxMutations !== undefined ? `${bu.maxMutations} changes` : '',
      bu.maxDistinctObjects !== undefined ? `${bu.maxDistinctObjects} distinct objects` : '',
    ].filter(Boolean);
    lines.push(`Budget: at most ${parts.join(' and ')} per ${bu.window}`);
  }
  if (b.chain) {
    const c = b.chain;
    lines.push(
      `Chains: ${c.maxDepth !== undefined ? `at most ${c.maxDepth} hops deep` : 'no depth limit'}; ${c.maxFanOut !== undefined ? `at most ${c.maxFanOut} calls per step` : 'no fan-out limit'}; may invoke ${c.mayInvoke?.length ? c.mayInvoke.join(', ') : 'no other agent'}.`,
    );
  }
  for (const p of b.protected ?? [])
    lines.push(`Protected (propose-only): ${p.name ?? ''}${p.gitopsManaged ? ' objects managed by GitOps' : ''}`);
  for (const f of b.freezes ?? []) lines.push(`Frozen: ${f.from} → ${f.until}${f.reason ? ` (${f.reason})` : ''}`);
  for (const w of b.changeWindows ?? []) lines.push(`Changes only ${w.days.join('/')} ${w.start}-${w.end} UTC`);
  for (const t of s.reviewTriggers ?? []) {
    const when = [
      t.budgetAbove !== undefined ? `more than ${Math.round(t.budgetAbove * 100)}% of a budget is used` : '',
      t.match ? 'the action matches its selector' : '',
      t.expression ?? '',
    ]
      .filter(Boolean)
      .join(' and ');
    lines.push(`Asks a human when: ${when || 'always'} (${t.name})`);
  }
  if (s.breaker) {
    const br = s.breaker;
    const trips = [
      br.maxViolations ? `${br.maxViolations} refusals within ${br.window ?? '5m'}` : '',
      br.maxMutationsPerMinute ? `more than ${br.maxMutationsPerMinute} changes a minute` : '',
      br.oscillation
        ? `${br.oscillation.fields.join(', ')} flipping ${br.oscillation.maxFlips} times within ${br.oscillation.window}`
        : '',
      br.maxChainDepth !== undefined ? `chains deeper than ${br.maxChainDepth}` : '',
    ].filter(Boolean);
    lines.push(`Stops itself (circuit breaker) after: ${trips.join('; ') || 'no condition'}`);
  }
  for (const f of RULE_FAMILIES) {
    const said = f.id === 'accountability' ? undefined : f.explain?.(agent);
    if (said) lines.push(said);
  }
  lines.push(`Intent: ${agent.intentRequired ? 'must say why before every change' : 'not required'}`);
  const ap = approversFor(agent, policy);
  lines.push(
    `Approvers: ${ap.people.join(', ')}${ap.minApprovals > 1 ? ` (${ap.minApprovals} needed)` : ''}. It can never approve its own requests or widen its own boundary.`,
  );
  return lines.join('\n');
}
