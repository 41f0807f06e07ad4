// Turns validated documents into the indexed, precompiled snapshot the engine decides against.
import { digestOf } from '../common/digest.ts';
import { parseDuration } from '../common/duration.ts';
import { parseServiceAccountUsername, serviceAccountUsername } from '../kube/rbac-match.ts';
import { type CelProgram, compileCel } from './cel.ts';
import type { PolicyProblem } from './errors.ts';
import type { Located, PolicyDocuments } from './load.ts';
import type { OwnershipView } from '../engine/rules/accountability.ts';
import type {
  AgentDocument,
  AgentSpec,
  AuthorityClass,
  Budget,
  Condition,
  GovernancePolicySpec,
  Identity,
  Mode,
  ResourceMatch,
  ReviewTrigger,
} from './schema.ts';

export interface CompiledCondition {
  readonly name: string;
  readonly expression: string;
  readonly message?: string;
  readonly match?: ResourceMatch;
  readonly program: CelProgram;
}

export interface CompiledTrigger extends Omit<ReviewTrigger, 'expression'> {
  readonly expression?: string;
  readonly program?: CelProgram;
}

export interface CompiledBudget extends Budget {
  /** Stable id of the counter: agent + window. */
  readonly id: string;
  readonly windowMs: number;
}

export interface CompiledAgent {
  readonly name: string;
  readonly spec: AgentSpec;
  readonly authorityClass: AuthorityClass;
  readonly mode: Mode;
  readonly conditions: readonly CompiledCondition[];
  readonly reviewTriggers: readonly CompiledTrigger[];
  readonly budgets: readonly CompiledBudget[];
  readonly intentRequired: boolean;
  /** Usernames this agent is known by (service accounts rendered as system:serviceaccount:…). */
  readonly usernames: ReadonlySet<string>;
  readonly groups: ReadonlySet<string>;
  readonly serviceAccounts: readonly { namespace: string; name: string }[];
  readonly breakerWindowMs: number;
  readonly oscillationWindowMs?: number;
}

export interface CompiledGovernance {
  readonly spec: GovernancePolicySpec;
  readonly requireIntent: boolean;
  readonly defaultMode: Mode;
  readonly approvalTtlMs: number;
}

export interface CompiledPolicy {
  /** Digest over every document: goes into every ledger entry. */
  readonly version: string;
  readonly agents: ReadonlyMap<string, CompiledAgent>;
  readonly governance: CompiledGovernance;
  /** Specific identities (user, service account, OIDC, MCP client) → agents. */
  readonly bySpecificIdentity: ReadonlyMap<string, readonly CompiledAgent[]>;
  readonly byGroup: ReadonlyMap<string, readonly CompiledAgent[]>;
  /** Directory (SCIM) standing and stored attestations, attached by the service layer; absent: YAML fields only. */
  readonly ownership?: OwnershipView;
}

export function identityKeys(id: Identity): { specific?: string[]; group?: string } {
  switch (id.kind) {
    case 'ServiceAccount':
      return { specific: [`user:${serviceAccountUsername(id.namespace, id.name)}`] };
    case 'User':
      return { specific: [`user:${id.name}`] };
    case 'Group':
      return { group: id.name };
    case 'OIDC':
      // Through the API server an OIDC subject arrives as a (prefixed) username; through the
      // gateway it arrives as a verified issuer + subject pair.
      return { specific: [`oidc:${id.issuer}\n${id.subject}`, `user:${id.usernamePrefix ?? ''}${id.subject}`] };
    case 'MCPClient':
      return { specific: [`mcp:${id.clientId}`] };
  }
}

export function describeIdentity(id: Identity): string {
  switch (id.kind) {
    case 'ServiceAccount':
      return `ServiceAccount ${id.namespace}/${id.name}`;
    case 'OIDC':
      return `OIDC ${id.issuer} ${id.subject}`;
    case 'MCPClient':
      return `MCPClient ${id.clientId}`;
    default:
      return `${id.kind} ${id.name}`;
  }
}

const DEFAULT_APPROVAL_TTL = '1h';
const DEFAULT_BREAKER_WINDOW = '5m';

function compileAgent(
  loc: Located<AgentDocument>,
  gov: GovernancePolicySpec,
  problems: PolicyProblem[],
): CompiledAgent {
  const { doc, file, document } = loc;
  const spec = doc.spec;
  const err = (path: string, message: string, code: string) =>
    problems.push({ file, document, path, message, severity: 'error', code });
  const conditions: CompiledCondition[] = [];
  (spec.boundary?.conditions ?? []).forEach((c: Condition, i) => {
    const r = compileCel(c.expression);
    if ('error' in r) err(`spec.boundary.conditions[${i}].expression`, r.error, 'cel');
    else conditions.push({ ...c, program: r.program });
  });
  const reviewTriggers: CompiledTrigger[] = [];
  (spec.reviewTriggers ?? []).forEach((t, i) => {
    if (t.expression === undefined) {
      reviewTriggers.push(t);
      return;
    }
    const r = compileCel(t.expression);
    if ('error' in r) err(`spec.reviewTriggers[${i}].expression`, r.error, 'cel');
    else reviewTriggers.push({ ...t, program: r.program });
  });
  const usernames = new Set<string>();
  const groups = new Set<string>();
  const serviceAccounts: { namespace: string; name: string }[] = [];
  for (const id of spec.identities) {
    if (id.kind === 'ServiceAccount') {
      serviceAccounts.push({ namespace: id.namespace, name: id.name });
      usernames.add(serviceAccountUsername(id.namespace, id.name));
    } else if (id.kind === 'User') {
      usernames.add(id.name);
      const sa = parseServiceAccountUsername(id.name);
      if (sa) serviceAccounts.push(sa);
    } else if (id.kind === 'OIDC') usernames.add(`${id.usernamePrefix ?? ''}${id.subject}`);
    else if (id.kind === 'Group') groups.add(id.name);
  }
  return {
    name: doc.metadata.name,
    spec,
    authorityClass: spec.authorityClass ?? gov.defaultClass ?? 'advisory',
    mode: spec.mode ?? gov.defaultMode ?? 'enforce',
    conditions,
    reviewTriggers,
    budgets: (spec.boundary?.budgets ?? []).map((b) => ({
      ...b,
      id: `${doc.metadata.name}/${b.window}`,
      windowMs: parseDuration(b.window),
    })),
    intentRequired: spec.intent?.required ?? gov.requireIntent ?? true,
    usernames,
    groups,
    serviceAccounts,
    breakerWindowMs: parseDuration(spec.breaker?.window ?? DEFAULT_BREAKER_WINDOW),
    oscillationWindowMs: spec.breaker?.oscillation ? parseDuration(spec.breaker.oscillation.window) : undefined,
  };
}

/** Compiles documents into a policy; every semantic problem (bad CEL, shared identity, two policies) is reported. */
export function compilePolicy(docs: PolicyDocuments): { policy?: CompiledPolicy; problems: PolicyProblem[] } {
  const problems: PolicyProblem[] = [];
  if (docs.governance.length > 1) {
    for (const g of docs.governance.slice(1)) {
      problems.push({
        file: g.file,
        document: g.document,
        severity: 'error',
        code: 'single-governance-policy',
        message: `only one GovernancePolicy may be in force; ${docs.governance[0]?.file}#${docs.governance[0]?.document} already is`,
      });
    }
  }
  const govSpec: GovernancePolicySpec = docs.governance[0]?.doc.spec ?? {};
  const agents = new Map<string, CompiledAgent>();
  const seenNames = new Map<string, Located<AgentDocument>>();
  const specificOwners = new Map<string, { agent: string; loc: Located<AgentDocument> }>();
  const bySpecific = new Map<string, CompiledAgent[]>();
  const byGroup = new Map<string, CompiledAgent[]>();
  for (const loc of docs.agents) {
    const name = loc.doc.metadata.name;
    const prev = seenNames.get(name);
    if (prev) {
      problems.push({
        file: loc.file,
        document: loc.document,
        path: 'metadata.name',
        severity: 'error',
        code: 'duplicate-agent',
        message: `agent ${name} is already defined in ${prev.file}#${prev.document}`,
      });
      continue;
    }
    seenNames.set(name, loc);
    const agent = compileAgent(loc, govSpec, problems);
    agents.set(name, agent);
    const claimed = (i: number, message: string) =>
      problems.push({
        file: loc.file,
        document: loc.document,
        path: `spec.identities[${i}]`,
        severity: 'error',
        code: 'duplicate-identity',
        message: `${message}; an identity belongs to one agent`,
      });
    loc.doc.spec.identities.forEach((id, i) => {
      const keys = identityKeys(id);
      for (const key of keys.specific ?? []) {
        const owner = specificOwners.get(key);
        if (owner && owner.agent !== name) {
          claimed(
            i,
            `${describeIdentity(id)} is already claimed by agent ${owner.agent} (${owner.loc.file}#${owner.loc.document})`,
          );
          continue;
        }
        specificOwners.set(key, { agent: name, loc });
        const list = bySpecific.get(key) ?? [];
        if (!list.includes(agent)) list.push(agent);
        bySpecific.set(key, list);
      }
      if (keys.group) {
        const list = byGroup.get(keys.group) ?? [];
        if (list.length > 0 && !list.includes(agent)) {
          claimed(i, `Group ${keys.group} is already claimed by agent ${list[0]?.name}`);
          return;
        }
        list.push(agent);
        byGroup.set(keys.group, list);
      }
    });
  }
  if (problems.some((p) => p.severity === 'error')) return { problems };
  const version = digestOf({
    governance: docs.governance.map((g) => g.doc.spec),
    agents: [...docs.agents]
      .map((a) => ({ name: a.doc.metadata.name, spec: a.doc.spec }))
      .sort((x, y) => (x.name < y.name ? -1 : 1)),
  });
  return {
    problems,
    policy: {
      version,
      agents,
      governance: {
        spec: govSpec,
        requireIntent: govSpec.requireIntent ?? true,
        defaultMode: govSpec.defaultMode ?? 'enforce',
        approvalTtlMs: parseDuration(govSpec.approvals?.ttl ?? DEFAULT_APPROVAL_TTL),
      },
      bySpecificIdentity: bySpecific,
      byGroup,
    },
  };
}
