// Who is behind a username or a field manager name. Usernames come from authenticated evidence
// (audit events), field manager names are chosen by the client; the confidence reflects that.
import { resolveAgent } from '../../engine/rules/accountability.ts';
import { parseServiceAccountUsername } from '../../kube/rbac-match.ts';
import type { CompiledPolicy } from '../../policy/compile.ts';
import type { AuthorityClass } from '../../policy/schema.ts';
import type { ActorClass } from './model.ts';

export interface AgentIdentity {
  readonly name: string;
  readonly owner?: string;
  readonly authorityClass?: AuthorityClass;
}

/** Maps identities to Tether agents. */
export interface AgentDirectory {
  agentForUser(username: string, groups: readonly string[]): AgentIdentity | undefined;
  /** For agents told to write with their own `--field-manager`. */
  agentForManager?(manager: string): AgentIdentity | undefined;
}

/** The directory of a compiled policy: identities resolve exactly as the engine resolves them. */
export function agentDirectoryFromPolicy(policy: CompiledPolicy): AgentDirectory {
  const fromAgent = (a: {
    name: string;
    spec: { owner: { id: string } };
    authorityClass: AuthorityClass;
  }): AgentIdentity => ({
    name: a.name,
    owner: a.spec.owner.id,
    authorityClass: a.authorityClass,
  });
  return {
    agentForUser(username, groups) {
      const r = resolveAgent({ username, groups }, policy);
      return r.kind === 'agent' ? fromAgent(r.agent) : undefined;
    },
    agentForManager(manager) {
      const a = policy.agents.get(manager);
      return a ? fromAgent(a) : undefined;
    },
  };
}

// Managers of the control plane and of common autoscalers. The HPA writes through the scale
// subresource as kube-controller-manager; some distributions name it after the controller.
const CONTROLLER_MANAGERS = new Set([
  'kube-controller-manager',
  'kube-scheduler',
  'kubelet',
  'kube-apiserver',
  'horizontal-pod-autoscaler',
  'cluster-autoscaler',
  'vpa-updater',
  'vpa-recommender',
  'vpa-admission-controller',
  'keda-operator',
  'manager',
]);

/** Field managers GitOps tools apply with. */
export const GITOPS_APPLIERS: readonly string[] = [
  'argocd-controller',
  'argocd-application-controller',
  'kustomize-controller',
  'helm-controller',
  'flux-client-side-apply',
];

// Interactive and scripted clients: a person or an agent is at the keyboard.
const CLIENT_TOOL = /^(kubectl($|-)|k9s|lens|openlens|headlamp|kubernetes-dashboard|mozilla|rancher)/i;

export interface ManagerGuess {
  readonly class: ActorClass;
  readonly why: string;
  readonly clientTool: boolean;
}

/** What a field manager name alone suggests (never better than medium confidence). */
export function guessFromManager(manager: string): ManagerGuess {
  if (CONTROLLER_MANAGERS.has(manager) || /(-controller|-operator|controller-manager)$/.test(manager)) {
    return { class: 'controller', why: `field manager ${manager} is a controller`, clientTool: false };
  }
  if (CLIENT_TOOL.test(manager))
    return { class: 'human', why: `field manager ${manager} is an interactive client tool`, clientTool: true };
  return { class: 'unknown', why: `field manager ${manager} is not a known tool or controller`, clientTool: false };
}

/** Class of an authenticated username when no agent claims it. */
export function classifyUsername(username: string): { class: ActorClass; why: string } {
  if (parseServiceAccountUsername(username))
    return { class: 'controller', why: `${username} is a service account (a workload), claimed by no agent` };
  if (username.startsWith('system:')) return { class: 'controller', why: `${username} is a system component` };
  return { class: 'human', why: `${username} is a user account claimed by no agent` };
}

/** The field manager Kubernetes derives from a User-Agent when the client names none. */
export function managerFromUserAgent(userAgent: string | undefined): string | undefined {
  if (!userAgent) return undefined;
  const slash = userAgent.indexOf('/');
  return slash < 0 ? userAgent : userAgent.slice(0, slash);
}
