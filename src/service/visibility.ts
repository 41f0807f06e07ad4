// Who may see what through the HTTP API. One rule, asked by every read route (and by any new
// one): a human sees everything; an agent token sees only the Agent its username belongs to,
// that agent's approvals, proposals, expansions, breaker and ledger entries. Signing and
// verifying the ledger, and every verdict, are for humans.
import { resolveAgent } from '../engine/rules/accountability.ts';
import type { CompiledPolicy } from '../policy/compile.ts';

/** The authenticated caller (src/server/auth.ts builds it from a bearer token). */
export type Viewer =
  | { readonly kind: 'human'; readonly id: string }
  | { readonly kind: 'agent'; readonly username: string };

/** `all` for humans; otherwise the one agent the caller may see (undefined: its identity belongs to no Agent, so nothing). */
export type Visibility = { readonly all: true } | { readonly all: false; readonly agent: string | undefined };

export function visibilityOf(viewer: Viewer, policy: CompiledPolicy): Visibility {
  if (viewer.kind === 'human') return { all: true };
  const r = resolveAgent({ username: viewer.username, groups: [] }, policy);
  return { all: false, agent: r.kind === 'agent' ? r.agent.name : undefined };
}

/** Whether a record that belongs to `agent` is visible. */
export function sees(v: Visibility, agent: string | undefined): boolean {
  return v.all || (v.agent !== undefined && agent === v.agent);
}

/**
 * The agent filter a list runs with: whatever a human asked for; for an agent token, its own
 * agent, and `null` (an empty list) when it asked for another one or belongs to none.
 */
export function agentFilter(v: Visibility, requested: string | undefined): string | undefined | null {
  if (v.all) return requested;
  if (v.agent === undefined || (requested !== undefined && requested !== v.agent)) return null;
  return v.agent;
}
