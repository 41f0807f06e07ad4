import type { DecisionContext } from '../context.ts';
import { RULES } from '../decision.ts';

/** Depth, cycles, who may invoke whom, and fan-out from one parent action. */
export function checkChain(ctx: DecisionContext): void {
  const chain = ctx.action.chain;
  if (!chain) return;
  const { agent, policy } = ctx;
  const chainBreaker = ctx.state.breaker('chain', chain.id);
  if (chainBreaker.state === 'open') {
    ctx.deny(
      RULES.chainBreakerOpen,
      `chain ${chain.id} was stopped by its circuit breaker (${chainBreaker.reason ?? 'tripped'}); a human must reset it with: tether breakers reset chain:${chain.id} --reason …`,
    );
  }
  const limits = agent.spec.boundary?.chain;
  if (limits?.maxDepth !== undefined && chain.depth > limits.maxDepth) {
    ctx.deny(
      RULES.chainDepth,
      `${agent.name} was reached at chain depth ${chain.depth} (via ${chain.path.join(' → ')}), deeper than its limit of ${limits.maxDepth}. Shorten the chain or raise spec.boundary.chain.maxDepth (needs approval).`,
    );
  }
  const tripDepth = agent.spec.breaker?.maxChainDepth;
  if (tripDepth !== undefined && chain.depth > tripDepth) {
    ctx.deny(
      RULES.breakerTrip,
      `chain ${chain.id} reached depth ${chain.depth}, past the breaker limit of ${tripDepth}: the chain is stopped.`,
    );
    ctx.effects.push({
      kind: 'breaker.trip',
      scope: 'chain',
      key: chain.id,
      rule: RULES.chainDepth,
      reason: `runaway chain: depth ${chain.depth} > ${tripDepth} at ${agent.name}`,
    });
  }
  if (chain.path.includes(agent.name)) {
    ctx.deny(
      RULES.chainCycle,
      `${agent.name} already appears in this chain (${[...chain.path, agent.name].join(' → ')}): a loop between agents is refused.`,
    );
  }
  const callerName = chain.path[chain.path.length - 1];
  if (callerName === undefined) return;
  const caller = policy.agents.get(callerName);
  if (!caller) {
    ctx.deny(
      RULES.chainCallee,
      `the chain names ${callerName} as the calling agent, but no Agent ${callerName} is registered; calls from unknown agents are refused.`,
    );
    return;
  }
  if (callerName !== agent.name && !(caller.spec.boundary?.chain?.mayInvoke ?? []).includes(agent.name)) {
    ctx.deny(
      RULES.chainCallee,
      `${callerName} may not invoke ${agent.name}: it is not in ${callerName}'s spec.boundary.chain.mayInvoke. Add it there (needs approval).`,
    );
  }
  const parent = chain.parentActionId;
  if (parent !== undefined) {
    const maxFanOut = caller.spec.boundary?.chain?.maxFanOut;
    const callees = ctx.state.chainCallees(chain.id, parent);
    if (maxFanOut !== undefined && callees.length >= maxFanOut) {
      ctx.deny(
        RULES.chainFanOut,
        `${callerName} already made ${callees.length} calls from one step (limit ${maxFanOut}); ${agent.name} is refused as call ${callees.length + 1}.`,
      );
    }
    ctx.effects.push({ kind: 'chain.record', chainId: chain.id, parent, callee: agent.name });
  }
}
