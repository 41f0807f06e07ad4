import type { Action } from '../../engine/action.ts';
import type { Decision } from '../../engine/decision.ts';

/** What every enforcement point needs: decide one action and record it. (The Governor implements it.) */
export interface Decider {
  decide(
    action: Action,
  ): Promise<{ readonly decision: Decision; readonly ledgerIndex?: number; readonly approvalId?: string }>;
}
