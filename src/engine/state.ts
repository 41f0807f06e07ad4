import type { BreakerScope } from './decision.ts';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerStatus {
  readonly state: BreakerState;
  readonly reason?: string;
  readonly since?: number;
}

export interface BudgetUsage {
  readonly mutations: number;
  readonly distinctObjects: number;
  readonly includesObject: boolean;
}

export type ApprovalStatus = 'pending' | 'approved' | 'denied';

export interface ApprovalRecord {
  readonly id: string;
  readonly agent: string;
  readonly actionDigest: string;
  readonly status: ApprovalStatus;
  readonly expiresAt: number;
  readonly usesLeft: number;
  readonly approvedBy: readonly string[];
}

export interface FieldChange {
  /** Canonical JSON of the field's value. */
  readonly value: string;
  readonly at: number;
  readonly actor: string;
}

/**
 * What the engine may know of runtime state, read synchronously. The server prefetches what
 * one action needs from the store; tests and the offline CLI use MemoryState.
 */
export interface StateView {
  killSwitch(): { readonly engaged: boolean; readonly reason?: string };
  breaker(scope: BreakerScope, key: string): BreakerStatus;
  budgetUsage(budgetId: string, windowStart: number, objectKey: string): BudgetUsage;
  approval(id: string): ApprovalRecord | undefined;
  /** An approved, unexpired approval for exactly this action, if a human gave one. */
  approvalFor(agent: string, actionDigest: string): ApprovalRecord | undefined;
  violationsSince(agent: string, since: number): number;
  mutationsSince(agent: string, since: number): number;
  fieldHistory(objectKey: string, field: string, since: number): readonly FieldChange[];
  chainCallees(chainId: string, parent: string): readonly string[];
}

export const EMPTY_STATE: StateView = {
  killSwitch: () => ({ engaged: false }),
  breaker: () => ({ state: 'closed' }),
  budgetUsage: () => ({ mutations: 0, distinctObjects: 0, includesObject: false }),
  approval: () => undefined,
  approvalFor: () => undefined,
  violationsSince: () => 0,
  mutationsSince: () => 0,
  fieldHistory: () => [],
  chainCallees: () => [],
};
