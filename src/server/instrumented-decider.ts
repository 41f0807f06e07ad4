// Wraps the Governor for the enforcement points: metrics and notifications around each decision.
import type { Action } from '../engine/action.ts';
import { RULES } from '../engine/decision.ts';
import type { Decider } from '../adapters/shared/decider.ts';
import type { GatewayGovernor } from '../adapters/mcp-gateway/call-governance.ts';
import { traceDecision, traceDecisions } from '../common/tracing.ts';
import type { Governor } from '../service/governor.ts';
import type { Metrics } from './metrics.ts';
import type { Notifier } from './notify.ts';

export function instrumentedDecider(governor: Governor, metrics: Metrics, notifier: Notifier): Decider {
  return {
    async decide(action: Action) {
      const end = metrics.decisionSeconds.startTimer({ source: action.source });
      const r = await traceDecision(action, () => governor.decide(action));
      end();
      const d = r.decision;
      const cls = d.governed && 'agent' in d && d.agent ? d.agent.authorityClass : 'none';
      metrics.decisions.inc({ outcome: d.outcome, rule: d.reasons[0]?.rule ?? '', class: cls, source: action.source });
      if (d.outcome === 'pending') {
        notifier.send({
          event: 'approval.pending',
          text: `${d.approval.summary} — approve with: tether approvals approve ${r.approvalId} --reason "…"`,
          detail: {
            approvalId: r.approvalId,
            agent: d.agent.name,
            approvers: d.approval.approvers,
            rules: d.approval.rules,
          },
        });
      }
      if (d.reasons.some((x) => x.rule === RULES.unregistered)) {
        notifier.send({
          event: 'agent.unregistered',
          text: `${action.subject.username} acts like an agent but no Agent claims it`,
          detail: { username: action.subject.username, verb: action.verb, target: action.target },
        });
      }
      for (const e of d.effects) {
        if (e.kind !== 'breaker.trip') continue;
        notifier.send({
          event: 'breaker.trip',
          text: `circuit breaker of ${e.scope} ${e.key} tripped: ${e.reason}`,
          detail: { scope: e.scope, key: e.key, rule: e.rule, reason: e.reason },
        });
      }
      return r;
    },
  };
}

/** The Governor as the gateway sees it, with a span for each decision (under the tool call's span). */
export function tracedGovernor(governor: Governor): GatewayGovernor {
  return {
    get policy() {
      return governor.policy;
    },
    store: governor.store,
    decide: (action) => traceDecision(action, () => governor.decide(action)),
    decideAll: (actions) => traceDecisions(actions, () => governor.decideAll(actions)),
  };
}
