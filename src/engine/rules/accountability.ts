import type { CompiledAgent, CompiledPolicy } from '../../policy/compile.ts';
import { parseServiceAccountUsername } from '../../kube/rbac-match.ts';
import type { Subject } from '../action.ts';
import { RULES, type Reason } from '../decision.ts';

export type Resolution =
  | { readonly kind: 'agent'; readonly agent: CompiledAgent }
  | { readonly kind: 'ambiguous'; readonly agents: readonly CompiledAgent[] }
  | { readonly kind: 'unregistered'; readonly why: string }
  | { readonly kind: 'not-an-agent' };

function union(into: CompiledAgent[], from: readonly CompiledAgent[] | undefined): void {
  if (!from) return;
  for (const a of from) if (!into.includes(a)) into.push(a);
}

/** Which Agent is acting. Specific identities (user, service account, OIDC, MCP client) win over group claims. */
export function resolveAgent(subject: Subject, policy: CompiledPolicy): Resolution {
  const byUser = policy.bySpecificIdentity.get(`user:${subject.username}`);
  // The usual case (one agent claims the username, no other identity): no list to build.
  if (byUser?.length === 1 && !subject.oidc && subject.mcpClientId === undefined)
    return { kind: 'agent', agent: byUser[0] as CompiledAgent };
  const specific: CompiledAgent[] = [];
  union(specific, byUser);
  if (subject.oidc)
    union(specific, policy.bySpecificIdentity.get(`oidc:${subject.oidc.issuer}\n${subject.oidc.subject}`));
  if (subject.mcpClientId !== undefined) union(specific, policy.bySpecificIdentity.get(`mcp:${subject.mcpClientId}`));
  if (specific.length === 1) return { kind: 'agent', agent: specific[0] as CompiledAgent };
  if (specific.length > 1) return { kind: 'ambiguous', agents: specific };
  const byGroup: CompiledAgent[] = [];
  for (const g of subject.groups) union(byGroup, policy.byGroup.get(g));
  if (byGroup.length === 1) return { kind: 'agent', agent: byGroup[0] as CompiledAgent };
  if (byGroup.length > 1) return { kind: 'ambiguous', agents: byGroup };
  const why = selectorMatch(subject, policy);
  return why ? { kind: 'unregistered', why } : { kind: 'not-an-agent' };
}

/** Says why the governance policy counts this subject as an agent, or undefined when it does not. */
export function selectorMatch(subject: Subject, policy: CompiledPolicy): string | undefined {
  const sel = policy.governance.spec.agentSelectors;
  if (subject.mcpClientId !== undefined && sel?.mcpClients !== false) return 'it calls tools as an MCP client';
  if (!sel) return undefined;
  if (sel.usernames?.includes(subject.username)) return `username ${subject.username} is listed as an agent`;
  const prefix = sel.usernamePrefixes?.find((p) => subject.username.startsWith(p));
  if (prefix !== undefined) return `username starts with ${prefix}`;
  const group = sel.groups?.find((g) => subject.groups.includes(g));
  if (group !== undefined) return `it is in group ${group}`;
  const sa = parseServiceAccountUsername(subject.username);
  if (sa && sel.serviceAccountNamespaces?.includes(sa.namespace))
    return `it is a service account in namespace ${sa.namespace}`;
  return undefined;
}

/** What the directory says of one name (an owner, approver or administrator id). */
export type DirectoryStanding =
  | { readonly kind: 'user'; readonly id: string; readonly userName: string; readonly active: boolean }
  | { readonly kind: 'group'; readonly id: string; readonly displayName: string; readonly activeMembers: number }
  | { readonly kind: 'ambiguous'; readonly ids: readonly string[] };

/**
 * Facts about people that come from outside the policy: the directory an identity provider keeps
 * in sync over SCIM, and attestations owners recorded. A read-only view, kept current by the
 * service layer (src/service/directory.ts) and attached to the compiled policy; the engine only reads it.
 */
export interface OwnershipView {
  /** Absent when no directory is configured: then only the YAML fields count. */
  readonly directory?: {
    /** By userName, email or externalId (users) or displayName or externalId (groups), case-insensitively. */
    standing(name: string): DirectoryStanding | undefined;
  };
  /** The latest attestation recorded for this agent. */
  attestation(agent: string): { readonly owner: string; readonly until: number } | undefined;
}

/** Why the directory does not count `name` as a live person or group, or undefined when it does (or no directory is configured). */
export function directoryProblem(name: string, ownership: OwnershipView | undefined): string | undefined {
  const dir = ownership?.directory;
  if (!dir) return undefined;
  const s = dir.standing(name);
  if (!s) return `${name} is not in the directory`;
  if (s.kind === 'ambiguous') return `${name} matches several directory entries (${s.ids.join(', ')})`;
  if (s.kind === 'user') return s.active ? undefined : `${name} is deactivated in the directory`;
  return s.activeMembers > 0 ? undefined : `group ${s.displayName} has no active member`;
}

/** True when the directory knows `person` and says they are gone: they may not approve or reset. Unknown names are not refused here. */
export function personDeactivated(person: string, policy: CompiledPolicy): boolean {
  const s = policy.ownership?.directory?.standing(person);
  return s !== undefined && s.kind === 'user' && !s.active;
}

/** When ownership must next be re-attested: the later of the YAML field and the latest attestation by the current owner. */
export function attestationDue(agent: CompiledAgent, policy: CompiledPolicy): number | undefined {
  const owner = agent.spec.owner;
  const yaml = owner.attestedUntil === undefined ? undefined : Date.parse(owner.attestedUntil);
  const stored = policy.ownership?.attestation(agent.name);
  const recorded = stored && stored.owner === owner.id ? stored.until : undefined;
  if (yaml === undefined) return recorded;
  return recorded === undefined ? yaml : Math.max(yaml, recorded);
}

/**
 * "No owner, no access": an owner who left (YAML, or deactivated or deleted in the directory), a
 * group owner with no active member, or a lapsed attestation disables the agent.
 */
export function ownerProblem(agent: CompiledAgent, policy: CompiledPolicy, now: number): Reason | undefined {
  const owner = agent.spec.owner;
  const how = `Name a live owner in spec.owner of Agent ${agent.name}.`;
  if (owner.active === false || policy.governance.spec.inactiveOwners?.includes(owner.id)) {
    return {
      rule: RULES.ownerInactive,
      message: `agent ${agent.name} has no live owner: ${owner.id} is inactive. ${how}`,
    };
  }
  const gone = directoryProblem(owner.id, policy.ownership);
  if (gone) return { rule: RULES.ownerInactive, message: `agent ${agent.name} has no live owner: ${gone}. ${how}` };
  const due = attestationDue(agent, policy);
  if (due !== undefined && due <= now) {
    const until = new Date(due).toISOString();
    return {
      rule: RULES.ownerAttestationExpired,
      message: `agent ${agent.name}: ownership by ${owner.id} was attested until ${until} and has lapsed. ${owner.id} must re-attest (tether owners attest ${agent.name} --until <date> --reason "…").`,
    };
  }
  return undefined;
}
