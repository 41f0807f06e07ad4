import type { AuthorityClass, Mode } from '../policy/schema.ts';

/** Stable rule ids: dashboards, alerts and tests key on these, so they never change meaning. */
export const RULES = {
  notAnAgent: 'accountability/not-an-agent',
  unregistered: 'accountability/unregistered-agent',
  ambiguous: 'accountability/ambiguous-identity',
  ownerInactive: 'accountability/owner-inactive',
  ownerAttestationExpired: 'accountability/owner-attestation-expired',
  killSwitch: 'breaker/kill-switch',
  breakerOpen: 'breaker/open',
  chainBreakerOpen: 'breaker/chain-open',
  breakerTrip: 'breaker/trip',
  rateLimit: 'breaker/rate',
  oscillation: 'breaker/oscillation',
  chainDepth: 'chain/depth',
  chainCycle: 'chain/cycle',
  chainCallee: 'chain/callee-not-allowed',
  chainFanOut: 'chain/fan-out',
  selfModification: 'authority/self-modification',
  selfTuningLimit: 'authority/self-tuning-limit',
  advisory: 'authority/advisory-proposal',
  supervised: 'authority/supervised-approval',
  namespace: 'boundary/namespace',
  rule: 'boundary/rule',
  condition: 'boundary/condition',
  freeze: 'boundary/freeze',
  changeWindow: 'boundary/change-window',
  protectedObject: 'boundary/protected-object',
  fields: 'boundary/fields',
  runAs: 'containment/run-as',
  grant: 'containment/grant',
  identity: 'containment/identity',
  budgetMutations: 'budget/mutations',
  budgetObjects: 'budget/distinct-objects',
  intentMissing: 'intent/missing',
  intentMismatch: 'intent/target-mismatch',
  reviewTrigger: 'review/trigger',
  approvalInvalid: 'approval/invalid',
  approvalUsed: 'approval/used',
  auditMode: 'mode/audit',
} as const;
export type RuleId = (typeof RULES)[keyof typeof RULES];

export interface Reason {
  readonly rule: RuleId;
  /** What was refused, which limit, and how to ask for more. */
  readonly message: string;
}

export interface AgentRef {
  readonly name: string;
  readonly owner: string;
  readonly authorityClass: AuthorityClass;
  readonly mode: Mode;
}

/** State changes a decision implies. The caller applies them to the store atomically with the ledger entry. */
export type Effect =
  | {
      readonly kind: 'budget.consume';
      readonly agent: string;
      readonly budgetId: string;
      readonly windowStart: number;
      readonly windowMs: number;
      readonly objectKey: string;
      readonly maxMutations?: number;
      readonly maxDistinctObjects?: number;
    }
  | { readonly kind: 'approval.consume'; readonly approvalId: string }
  | {
      readonly kind: 'proposal.record';
      readonly agent: string;
      readonly actionDigest: string;
      readonly rules: readonly RuleId[];
    }
  | { readonly kind: 'violation.record'; readonly agent: string; readonly rule: RuleId }
  | {
      readonly kind: 'breaker.trip';
      readonly scope: BreakerScope;
      readonly key: string;
      readonly reason: string;
      readonly rule: RuleId;
    }
  | { readonly kind: 'breaker.close'; readonly scope: BreakerScope; readonly key: string }
  | { readonly kind: 'mutation.record'; readonly agent: string }
  | {
      readonly kind: 'field.record';
      readonly objectKey: string;
      readonly field: string;
      readonly value: string;
      readonly actor: string;
    }
  | { readonly kind: 'chain.record'; readonly chainId: string; readonly parent: string; readonly callee: string };

export type BreakerScope = 'agent' | 'chain';

/** What a pending decision asks a human to approve: bound to the exact action digest. */
export interface ApprovalAsk {
  readonly agent: string;
  readonly actionDigest: string;
  readonly summary: string;
  readonly rules: readonly RuleId[];
  readonly approvers: readonly string[];
  readonly minApprovals: number;
  readonly ttlMs: number;
}

interface DecisionCommon {
  readonly policyVersion: string;
  /** Why: for deny and pending the refusals; for an allow, what was checked out of the ordinary. */
  readonly reasons: readonly Reason[];
  /** What audit mode let through, and flags such as an intent mismatch. */
  readonly warnings: readonly Reason[];
  readonly effects: readonly Effect[];
  readonly actionDigest?: string;
}

export type Decision =
  /** The subject is not an agent: Tether has no opinion. */
  | (DecisionCommon & { readonly outcome: 'allow'; readonly governed: false })
  | (DecisionCommon & { readonly outcome: 'allow'; readonly governed: true; readonly agent: AgentRef })
  | (DecisionCommon & {
      readonly outcome: 'deny';
      readonly governed: true;
      readonly agent?: AgentRef;
      readonly proposal: boolean;
    })
  | (DecisionCommon & {
      readonly outcome: 'pending';
      readonly governed: true;
      readonly agent: AgentRef;
      readonly approval: ApprovalAsk;
    });

export type Outcome = Decision['outcome'];
