import type { CompiledAgent, CompiledPolicy } from '../policy/compile.ts';
import { type Action, isMutation } from './action.ts';
import { approversFor } from './approvers.ts';
import { DecisionContext } from './context.ts';
import { type AgentRef, type Decision, type Reason, RULES } from './decision.ts';
import { ownerProblem, resolveAgent } from './rules/accountability.ts';
import type { ClusterView } from './cluster-view.ts';
import { breakerAfterRefusal } from './rules/breaker.ts';
import { budgetEffects } from './rules/budget.ts';
import { isAccompanyingCheck } from './rules/containment.ts';
import { RULE_FAMILIES } from './rules/families.ts';
import type { StateView } from './state.ts';

const NO_REASONS: readonly Reason[] = [];

function agentRef(a: CompiledAgent): AgentRef {
  return { name: a.name, owner: a.spec.owner.id, authorityClass: a.authorityClass, mode: a.mode };
}

/**
 * The decision point. Pure and synchronous: everything it knows comes in as arguments (time and
 * the cluster view included), and everything it wants changed goes out as `effects`.
 */
export function decide(
  action: Action,
  policy: CompiledPolicy,
  state: StateView,
  now: number,
  cluster?: ClusterView,
): Decision {
  // bind/escalate checks accompany a role write that admission sees (with intent, budgets, authority).
  const mutation = isMutation(action.verb) && !isAccompanyingCheck(action);
  const base = { policyVersion: policy.version, warnings: NO_REASONS, effects: [] as never[] };
  const resolution = resolveAgent(action.subject, policy);
  if (resolution.kind === 'not-an-agent') return { ...base, outcome: 'allow', governed: false, reasons: NO_REASONS };

  const kill =
    policy.governance.spec.killSwitch === true
      ? { engaged: true, reason: 'GovernancePolicy spec.killSwitch' }
      : state.killSwitch();
  const killReason: Reason | undefined =
    mutation && kill.engaged
      ? {
          rule: RULES.killSwitch,
          message: `the global kill switch is engaged${kill.reason ? ` (${kill.reason})` : ''}: every agent mutation is refused until an administrator releases it.`,
        }
      : undefined;

  if (resolution.kind !== 'agent') {
    const reason: Reason =
      resolution.kind === 'unregistered'
        ? {
            rule: RULES.unregistered,
            message: `${action.subject.username} counts as an agent (${resolution.why}) but no Agent claims it: no owner, no access. Register an Agent with this identity and an accountable owner.`,
          }
        : {
            rule: RULES.ambiguous,
            message: `${action.subject.username} is claimed by several agents (${resolution.agents.map((a) => a.name).join(', ')}); an identity must belong to exactly one Agent.`,
          };
    const reasons = killReason ? [killReason, reason] : [reason];
    if (policy.governance.defaultMode === 'audit' && !killReason) {
      return {
        ...base,
        outcome: 'allow',
        governed: false,
        reasons: [{ rule: RULES.auditMode, message: 'audit mode: allowed, would have been refused' }],
        warnings: reasons,
      };
    }
    return { ...base, outcome: 'deny', governed: true, proposal: false, reasons };
  }

  const agent = resolution.agent;
  const ref = agentRef(agent);
  const owner = ownerProblem(agent, policy, now);
  if (owner || killReason) {
    const reasons = [killReason, owner].filter((r): r is Reason => r !== undefined);
    if (!killReason && agent.mode === 'audit') {
      return {
        ...base,
        outcome: 'allow',
        governed: true,
        agent: ref,
        reasons: [{ rule: RULES.auditMode, message: 'audit mode: allowed, would have been refused' }],
        warnings: reasons,
      };
    }
    return { ...base, outcome: 'deny', governed: true, agent: ref, proposal: false, reasons };
  }

  const ctx = new DecisionContext(action, policy, state, now, agent, mutation, cluster);
  for (const family of RULE_FAMILIES) family.check?.(ctx);
  return conclude(ctx, ref);
}

function conclude(ctx: DecisionContext, ref: AgentRef): Decision {
  const { agent, policy } = ctx;
  const audit = agent.mode === 'audit';
  const reasons: Reason[] = [];
  let pending = false;

  if (ctx.denials.length === 0 && ctx.reviews.length > 0) {
    const used = findApproval(ctx);
    const acts = !ctx.action.dryRun && ctx.action.source !== 'api';
    if (used && acts) {
      ctx.effects.push({ kind: 'approval.consume', approvalId: used });
      reasons.push({ rule: RULES.approvalUsed, message: `approved by a human (approval ${used})` });
    } else if (used) {
      // A dry run or a decision-API question changes nothing, so it spends nothing: the approval stays for the real write.
      reasons.push({
        rule: RULES.approvalUsed,
        message: `would be allowed by approval ${used} (${ctx.action.dryRun ? 'a dry run' : 'a question'} uses nothing)`,
      });
    } else {
      pending = true;
    }
  }

  if (ctx.denials.length > 0) {
    if (ctx.proposals.length > 0)
      ctx.effects.push({ kind: 'proposal.record', agent: agent.name, actionDigest: ctx.digest, rules: ctx.proposals });
    if (!audit) {
      // Proposals and refusals the agent could not have avoided (the API server's own checks) are no strike.
      const strike = ctx.denials.find((d) => !ctx.proposals.includes(d.rule) && !ctx.unavoidable.has(d));
      if (strike) breakerAfterRefusal(ctx, strike.rule);
      const effects = ctx.effects.filter((e) => e.kind !== 'field.record' && e.kind !== 'chain.record');
      return {
        policyVersion: policy.version,
        outcome: 'deny',
        governed: true,
        agent: ref,
        proposal: ctx.proposals.length > 0,
        reasons: ctx.denials,
        warnings: ctx.warnings,
        effects,
        actionDigest: ctx.hasDigest ? ctx.digest : undefined,
      };
    }
  }

  if (pending && !audit) {
    const approvers = approversFor(agent, policy);
    const effects = ctx.effects.filter((e) => e.kind === 'chain.record');
    return {
      policyVersion: policy.version,
      outcome: 'pending',
      governed: true,
      agent: ref,
      reasons: ctx.reviews,
      warnings: ctx.warnings,
      effects,
      actionDigest: ctx.digest,
      approval: {
        agent: agent.name,
        actionDigest: ctx.digest,
        summary: `${agent.name} asks to ${ctx.describe()}${ctx.action.intent ? `: ${ctx.action.intent.summary}` : ''}`,
        rules: ctx.reviews.map((r) => r.rule),
        approvers: approvers.people,
        minApprovals: approvers.minApprovals,
        ttlMs: policy.governance.approvalTtlMs,
      },
    };
  }

  const warnings = [...ctx.warnings];
  if (audit && (ctx.denials.length > 0 || pending)) {
    warnings.push(...ctx.denials, ...(pending ? ctx.reviews : []));
    reasons.push({
      rule: RULES.auditMode,
      message: `audit mode: allowed; enforce mode would have ${ctx.denials.length > 0 ? 'refused' : 'asked a human about'} it`,
    });
    for (let i = ctx.effects.length - 1; i >= 0; i--)
      if (ctx.effects[i]?.kind === 'breaker.trip') ctx.effects.splice(i, 1);
  }
  if (ctx.mutation) {
    budgetEffects(ctx);
    if (!ctx.action.dryRun) ctx.effects.push({ kind: 'mutation.record', agent: agent.name });
    if (ctx.state.breaker('agent', agent.name).state === 'half-open')
      ctx.effects.push({ kind: 'breaker.close', scope: 'agent', key: agent.name });
  }
  return {
    policyVersion: policy.version,
    outcome: 'allow',
    governed: true,
    agent: ref,
    reasons,
    warnings,
    effects: ctx.effects,
    actionDigest: ctx.hasDigest ? ctx.digest : undefined,
  };
}

/** An approval lifts the reviews only if a human approved exactly this action, for this agent, and it is still valid. */
function findApproval(ctx: DecisionContext): string | undefined {
  const id = ctx.action.approvalId;
  if (id !== undefined) {
    const a = ctx.state.approval(id);
    const why = !a
      ? 'no such approval'
      : a.agent !== ctx.agent.name
        ? `it was given to ${a.agent}`
        : a.actionDigest !== ctx.digest
          ? 'it approves a different action (the object or target changed)'
          : a.status !== 'approved'
            ? `it is ${a.status}`
            : a.expiresAt <= ctx.now
              ? 'it expired'
              : a.usesLeft <= 0
                ? 'it was already used'
                : undefined;
    if (!why) return id;
    ctx.reviews.push({ rule: RULES.approvalInvalid, message: `approval ${id} does not apply: ${why}.` });
    return undefined;
  }
  const found = ctx.state.approvalFor(ctx.agent.name, ctx.digest);
  return found && found.expiresAt > ctx.now && found.usesLeft > 0 ? found.id : undefined;
}
