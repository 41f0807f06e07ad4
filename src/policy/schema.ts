// The one source of truth for Tether's kinds: TS types (Static<>), runtime validation
// (TypeCompiler) and the CRD openAPIV3Schema (src/policy/crd.ts) all derive from here.
import { type Static, type TLiteral, type TUnion, Type } from '@sinclair/typebox';

export const API_GROUP = 'tether.dev';
export const API_VERSION = 'v1alpha1';
export const GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;

type Literals<T extends readonly string[]> = { -readonly [K in keyof T]: TLiteral<T[K]> };

function StringEnum<const T extends readonly string[]>(
  values: T,
  description?: string,
): TUnion<Literals<T> & TLiteral[]> {
  const literals = values.map((v) => Type.Literal(v)) as unknown as Literals<T> & TLiteral[];
  return Type.Union(literals, description ? { description } : {}) as TUnion<Literals<T> & TLiteral[]>;
}

const strict = { additionalProperties: false } as const;
const Name = Type.String({ minLength: 1, maxLength: 253 });
export const Duration = Type.String({
  pattern: '^[0-9]+(s|m|h|d)$',
  description: 'A duration such as 30s, 10m, 1h or 7d.',
});

export const AUTHORITY_CLASSES = ['advisory', 'supervised', 'autonomous', 'self-tuning'] as const;
export const AuthorityClass = StringEnum(
  AUTHORITY_CLASSES,
  'How much the agent may decide alone, in increasing order.',
);
export type AuthorityClass = Static<typeof AuthorityClass>;

export const Mode = StringEnum(
  ['enforce', 'audit'] as const,
  'enforce refuses; audit records what would have been refused and allows.',
);
export type Mode = Static<typeof Mode>;

export const Identity = Type.Union([
  Type.Object({ kind: Type.Literal('ServiceAccount'), namespace: Name, name: Name }, strict),
  Type.Object({ kind: Type.Literal('User'), name: Name }, strict),
  Type.Object({ kind: Type.Literal('Group'), name: Name }, strict),
  Type.Object(
    {
      kind: Type.Literal('OIDC'),
      issuer: Type.String({ minLength: 1 }),
      subject: Name,
      usernamePrefix: Type.Optional(
        Type.String({
          description: "How the API server prefixes this subject in usernames (e.g. 'oidc:'); empty by default.",
        }),
      ),
    },
    strict,
  ),
  Type.Object({ kind: Type.Literal('MCPClient'), clientId: Name }, strict),
]);
export type Identity = Static<typeof Identity>;

export const Owner = Type.Object(
  {
    id: Name,
    name: Type.Optional(Type.String()),
    contact: Type.Optional(Type.String()),
    active: Type.Optional(
      Type.Boolean({ description: 'false once the owner left or handed over; the agent then may not act.' }),
    ),
    attestedUntil: Type.Optional(
      Type.String({ format: 'date-time', description: 'Ownership must be re-attested before this time.' }),
    ),
  },
  strict,
);
export type Owner = Static<typeof Owner>;

const StringList = Type.Array(Type.String({ minLength: 1 }));
/** Dotted segments; `[*]` after a segment walks every list item, a final `*` any key. */
export const FIELD_PATH_PATTERN = '^[A-Za-z0-9_$/-]+(\\[\\*\\])?(\\.([A-Za-z0-9_$/-]+(\\[\\*\\])?|\\*))*$';
/** The core API group is the empty string. */
const ApiGroupList = Type.Array(Type.String());

export const ResourceRule = Type.Object(
  {
    apiGroups: ApiGroupList,
    resources: StringList,
    verbs: StringList,
    resourceNames: Type.Optional(StringList),
    clusterScope: Type.Optional(
      Type.Boolean({
        description: 'true: the rule matches cluster-scoped targets; otherwise only targets in the namespaces.',
      }),
    ),
    fields: Type.Optional(
      Type.Array(Type.String({ minLength: 1, pattern: FIELD_PATH_PATTERN }), {
        description:
          'Object paths an update through this rule may change, e.g. spec.replicas, spec.template.spec.containers[*].image, metadata.labels.*; absent: any field. Server-managed fields (status, resourceVersion, managedFields, tether.dev/* annotations) are ignored. A path splits at every dot: a label or annotation key with dots is named by metadata.labels.* (or annotations.*).',
      }),
    ),
  },
  strict,
);
export type ResourceRule = Static<typeof ResourceRule>;

export const ResourceMatch = Type.Object(
  {
    apiGroups: Type.Optional(ApiGroupList),
    resources: Type.Optional(StringList),
    verbs: Type.Optional(StringList),
    namespaces: Type.Optional(StringList),
    names: Type.Optional(StringList),
  },
  strict,
);
export type ResourceMatch = Static<typeof ResourceMatch>;

export const Condition = Type.Object(
  {
    name: Name,
    expression: Type.String({
      minLength: 1,
      description: 'CEL over object, oldObject and request; true means allowed.',
    }),
    message: Type.Optional(Type.String()),
    match: Type.Optional(ResourceMatch),
  },
  strict,
);
export type Condition = Static<typeof Condition>;

export const Budget = Type.Object(
  {
    window: Duration,
    maxMutations: Type.Optional(Type.Integer({ minimum: 0 })),
    maxDistinctObjects: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Blast radius: distinct objects touched.' }),
    ),
  },
  strict,
);
export type Budget = Static<typeof Budget>;

export const ChainLimits = Type.Object(
  {
    maxDepth: Type.Optional(Type.Integer({ minimum: 0 })),
    maxFanOut: Type.Optional(Type.Integer({ minimum: 0 })),
    mayInvoke: Type.Optional(Type.Array(Name, { description: 'Agents this agent may call; absent means none.' })),
  },
  strict,
);
export type ChainLimits = Static<typeof ChainLimits>;

export const ProtectedObjects = Type.Object(
  {
    name: Type.Optional(Type.String()),
    match: Type.Optional(ResourceMatch),
    labels: Type.Optional(
      Type.Record(Type.String(), Type.String(), { description: 'All these labels must be present.' }),
    ),
    gitopsManaged: Type.Optional(
      Type.Boolean({ description: 'Objects carrying Argo CD or Flux ownership labels/annotations.' }),
    ),
  },
  strict,
);
export type ProtectedObjects = Static<typeof ProtectedObjects>;

export const Freeze = Type.Object(
  {
    from: Type.String({ format: 'date-time' }),
    until: Type.String({ format: 'date-time' }),
    reason: Type.Optional(Type.String()),
  },
  strict,
);
export type Freeze = Static<typeof Freeze>;

const Weekday = StringEnum(['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const);
const ClockTime = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' });
export const ChangeWindow = Type.Object(
  { days: Type.Array(Weekday, { minItems: 1 }), start: ClockTime, end: ClockTime },
  strict,
);
export type ChangeWindow = Static<typeof ChangeWindow>;

export const Boundary = Type.Object(
  {
    namespaces: Type.Optional(Type.Array(Name, { description: "Namespaces the agent may act in; '*' for all." })),
    rules: Type.Optional(Type.Array(ResourceRule)),
    conditions: Type.Optional(Type.Array(Condition)),
    budgets: Type.Optional(Type.Array(Budget)),
    chain: Type.Optional(ChainLimits),
    protected: Type.Optional(Type.Array(ProtectedObjects)),
    freezes: Type.Optional(Type.Array(Freeze)),
    changeWindows: Type.Optional(Type.Array(ChangeWindow, { description: 'Mutations only inside these UTC windows.' })),
    runAs: Type.Optional(
      Type.Array(Type.String({ minLength: 1, pattern: '^([a-z0-9.-]+/)?[a-z0-9.-]+$' }), {
        description:
          "Service accounts the pods this agent creates or changes may run as ('name' in the target namespace, or 'namespace/name'), whatever they may do. Any other account must hold nothing beyond this boundary.",
      }),
    ),
  },
  strict,
);
export type Boundary = Static<typeof Boundary>;

export const ReviewTrigger = Type.Object(
  {
    name: Name,
    budgetAbove: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1, description: 'Fraction of any budget already used.' }),
    ),
    match: Type.Optional(ResourceMatch),
    expression: Type.Optional(Type.String({ minLength: 1 })),
    message: Type.Optional(Type.String()),
  },
  strict,
);
export type ReviewTrigger = Static<typeof ReviewTrigger>;

export const Oscillation = Type.Object(
  {
    fields: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      description: 'Dotted field paths, e.g. spec.replicas.',
    }),
    maxFlips: Type.Integer({ minimum: 1 }),
    window: Duration,
  },
  strict,
);
export type Oscillation = Static<typeof Oscillation>;

export const Breaker = Type.Object(
  {
    maxViolations: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Refusals within window that trip the breaker.' }),
    ),
    window: Type.Optional(Duration),
    maxMutationsPerMinute: Type.Optional(Type.Integer({ minimum: 1 })),
    maxChainDepth: Type.Optional(
      Type.Integer({ minimum: 0, description: 'A chain deeper than this trips the chain breaker.' }),
    ),
    oscillation: Type.Optional(Oscillation),
    resetBy: Type.Optional(Type.Array(Name, { description: 'Humans who may reset it, besides the owner.' })),
  },
  strict,
);
export type Breaker = Static<typeof Breaker>;

const ParameterLimit = Type.Object(
  {
    min: Type.Optional(Type.Number()),
    max: Type.Optional(Type.Number()),
    values: Type.Optional(Type.Array(Type.Union([Type.String(), Type.Number(), Type.Boolean()]))),
  },
  strict,
);
export const SelfTuning = Type.Object(
  { limits: Type.Record(Type.String({ minLength: 1 }), ParameterLimit) },
  { ...strict, description: 'Which operating parameters a self-tuning agent may change on itself, and within what.' },
);
export type SelfTuning = Static<typeof SelfTuning>;

export const WorkloadRef = Type.Object({ namespace: Name, resource: Name, name: Name }, strict);
export type WorkloadRef = Static<typeof WorkloadRef>;

export const AgentSpec = Type.Object(
  {
    description: Type.Optional(Type.String()),
    owner: Owner,
    sponsors: Type.Optional(Type.Array(Name)),
    approvers: Type.Optional(Type.Array(Name)),
    authorityClass: Type.Optional(AuthorityClass),
    mode: Type.Optional(Mode),
    identities: Type.Array(Identity, { minItems: 1 }),
    workloads: Type.Optional(
      Type.Array(WorkloadRef, { description: 'Where the agent itself runs (self-modification).' }),
    ),
    boundary: Type.Optional(Boundary),
    reviewTriggers: Type.Optional(Type.Array(ReviewTrigger)),
    breaker: Type.Optional(Breaker),
    intent: Type.Optional(Type.Object({ required: Type.Optional(Type.Boolean()) }, strict)),
    operatingParameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    selfTuning: Type.Optional(SelfTuning),
  },
  strict,
);
export type AgentSpec = Static<typeof AgentSpec>;

const ObjectMeta = Type.Object(
  {
    name: Name,
    namespace: Type.Optional(Type.String()),
    labels: Type.Optional(Type.Record(Type.String(), Type.String())),
    annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { additionalProperties: true },
);

export const AgentSelectors = Type.Object(
  {
    usernames: Type.Optional(StringList),
    usernamePrefixes: Type.Optional(StringList),
    groups: Type.Optional(StringList),
    serviceAccountNamespaces: Type.Optional(StringList),
    mcpClients: Type.Optional(Type.Boolean({ description: 'Every MCP client counts as an agent (default true).' })),
  },
  strict,
);
export type AgentSelectors = Static<typeof AgentSelectors>;

export const ApprovalRule = Type.Object(
  {
    name: Name,
    agents: Type.Optional(Type.Array(Name)),
    classes: Type.Optional(Type.Array(AuthorityClass)),
    approvers: Type.Array(Name, { minItems: 1 }),
    minApprovals: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  strict,
);
export type ApprovalRule = Static<typeof ApprovalRule>;

export const GovernancePolicySpec = Type.Object(
  {
    agentSelectors: Type.Optional(AgentSelectors),
    defaultClass: Type.Optional(AuthorityClass),
    defaultMode: Type.Optional(Mode),
    requireIntent: Type.Optional(Type.Boolean({ description: 'Mutations without intent are refused (default true).' })),
    intentMismatch: Type.Optional(StringEnum(['warn', 'review', 'deny'] as const)),
    killSwitch: Type.Optional(Type.Boolean({ description: 'Refuse every agent mutation at once.' })),
    workloadKinds: Type.Optional(
      Type.Array(
        Type.Object(
          {
            apiGroup: Type.String(),
            resource: Name,
            podSpecPath: Type.String({
              minLength: 1,
              pattern: '^[A-Za-z0-9_]+(\\.[A-Za-z0-9_]+)*$',
              description: 'Dotted path of the pod spec, e.g. spec.template.spec.',
            }),
          },
          strict,
        ),
        {
          description: 'Custom kinds that run pods: where their pod spec is, so workload identity (runAs) covers them.',
        },
      ),
    ),
    inactiveOwners: Type.Optional(Type.Array(Name, { description: 'People who left: their agents may not act.' })),
    approvals: Type.Optional(
      Type.Object(
        {
          ttl: Type.Optional(Duration),
          rules: Type.Optional(Type.Array(ApprovalRule)),
          administrators: Type.Optional(
            Type.Array(Name, { description: 'May approve boundary expansions and reset any breaker.' }),
          ),
        },
        strict,
      ),
    ),
  },
  strict,
);
export type GovernancePolicySpec = Static<typeof GovernancePolicySpec>;

export const AgentDocument = Type.Object(
  { apiVersion: Type.Literal(GROUP_VERSION), kind: Type.Literal('Agent'), metadata: ObjectMeta, spec: AgentSpec },
  { additionalProperties: true },
);
export type AgentDocument = Static<typeof AgentDocument>;

export const GovernancePolicyDocument = Type.Object(
  {
    apiVersion: Type.Literal(GROUP_VERSION),
    kind: Type.Literal('GovernancePolicy'),
    metadata: ObjectMeta,
    spec: GovernancePolicySpec,
  },
  { additionalProperties: true },
);
export type GovernancePolicyDocument = Static<typeof GovernancePolicyDocument>;

export const KINDS = {
  Agent: { plural: 'agents', shortNames: ['ag'], spec: AgentSpec, document: AgentDocument },
  GovernancePolicy: {
    plural: 'governancepolicies',
    shortNames: ['gp'],
    spec: GovernancePolicySpec,
    document: GovernancePolicyDocument,
  },
} as const;
export type KindName = keyof typeof KINDS;
