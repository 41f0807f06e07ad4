// The one normalized shape every enforcement point produces. Adapters build it; the engine
// reads it; nothing here knows which protocol it came from except `source`.

export type ActionSource = 'admission' | 'authorization' | 'audit' | 'mcp' | 'api';

/** Who is acting, as the enforcement point authenticated it. */
export interface Subject {
  /** Kubernetes username (e.g. system:serviceaccount:ns:name), or the caller's principal. */
  readonly username: string;
  readonly groups: readonly string[];
  readonly uid?: string;
  /** Set when the caller presented an OIDC token (Entra ID included). */
  readonly oidc?: { readonly issuer: string; readonly subject: string };
  /** Set when the caller reached Tether as an MCP client. */
  readonly mcpClientId?: string;
}

export interface Target {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly subresource?: string;
  /** Absent for cluster-scoped targets. */
  readonly namespace?: string;
  /** Absent for list/watch/create-with-generateName and collection verbs. */
  readonly name?: string;
}

/** A target as an intent declares it: every field that is present must match. */
export interface DeclaredTarget {
  readonly namespace?: string;
  readonly resource?: string;
  readonly name?: string;
}

/** The "why" of an action, declared by the agent at the moment it acts. */
export interface Intent {
  readonly summary: string;
  readonly goal?: string;
  /** What set the agent off: an alert, ticket or conversation id. */
  readonly trigger?: string;
  readonly targets?: readonly DeclaredTarget[];
  readonly planStep?: string;
  readonly model?: string;
}

/** Causal context across agent → tool → agent hops. */
export interface ChainContext {
  readonly id: string;
  /** 0 for an action an agent takes on its own; +1 for every hop. */
  readonly depth: number;
  /** Agents that came before this one, origin first. */
  readonly path: readonly string[];
  readonly parentActionId?: string;
}

export interface ToolCall {
  readonly server: string;
  readonly name: string;
  readonly argumentsDigest?: string;
}

export interface Action {
  readonly source: ActionSource;
  readonly subject: Subject;
  /** Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection, connect, … */
  readonly verb: string;
  readonly target: Target;
  readonly object?: unknown;
  readonly oldObject?: unknown;
  readonly tool?: ToolCall;
  readonly intent?: Intent;
  readonly chain?: ChainContext;
  readonly dryRun?: boolean;
  /** The approval the agent presents on a retry. */
  readonly approvalId?: string;
  /** Kubernetes audit ID or admission UID, for correlation. */
  readonly requestId?: string;
}

const READ_VERBS = new Set(['get', 'list', 'watch']);

export function isMutation(verb: string): boolean {
  return !READ_VERBS.has(verb);
}

export function targetKey(t: Target): string {
  const gr = t.group ? `${t.resource}.${t.group}` : t.resource;
  return `${gr}${t.subresource ? `/${t.subresource}` : ''}:${t.namespace ?? ''}/${t.name ?? ''}`;
}

/** The object an action touches, without the subresource: scaling a Deployment touches the Deployment. */
export function objectKey(t: Target): string {
  const gr = t.group ? `${t.resource}.${t.group}` : t.resource;
  return `${gr}:${t.namespace ?? ''}/${t.name ?? ''}`;
}
