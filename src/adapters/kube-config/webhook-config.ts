// The cluster-side configuration that points the API server at Tether: admission webhook,
// authorization webhook and audit webhook. Only agent identities are ever sent to Tether
// (matchConditions built from registered identities and the policy's agent selectors), so a
// Tether outage refuses agents and never blocks humans or controllers.
import { stringify } from 'yaml';
import type { CompiledPolicy } from '../../policy/compile.ts';

export interface WebhookEndpoints {
  /** Base URL the API server reaches Tether at, e.g. https://tether.tether-system.svc:8443 */
  readonly baseUrl: string;
  readonly caPem: string;
  readonly timeoutSeconds?: number;
  /** The client certificate the API server presents to Tether (see webhookClientAuth in the server config). */
  readonly client?: { readonly cert: string; readonly key: string };
}

const celString = (s: string) => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
const celList = (xs: Iterable<string>) => `[${[...xs].map(celString).join(', ')}]`;

export interface AgentSelectorSets {
  readonly usernames: readonly string[];
  readonly prefixes: readonly string[];
  readonly groups: readonly string[];
}

/** Every way an identity can be recognised as an agent, flattened for CEL. */
export function agentSelectorSets(policy: CompiledPolicy): AgentSelectorSets {
  const usernames = new Set<string>();
  const groups = new Set<string>();
  const prefixes = new Set<string>(policy.governance.spec.agentSelectors?.usernamePrefixes ?? []);
  for (const a of policy.agents.values()) {
    for (const u of a.usernames) usernames.add(u);
    for (const g of a.groups) groups.add(g);
  }
  for (const u of policy.governance.spec.agentSelectors?.usernames ?? []) usernames.add(u);
  for (const g of policy.governance.spec.agentSelectors?.groups ?? []) groups.add(g);
  for (const ns of policy.governance.spec.agentSelectors?.serviceAccountNamespaces ?? [])
    prefixes.add(`system:serviceaccount:${ns}:`);
  return { usernames: [...usernames].sort(), prefixes: [...prefixes].sort(), groups: [...groups].sort() };
}

/** CEL over a username and a groups list, true for agents only. */
export function agentMatchExpression(sets: AgentSelectorSets, user: string, groups: string): string {
  const parts: string[] = [];
  if (sets.usernames.length) parts.push(`${user} in ${celList(sets.usernames)}`);
  for (const p of sets.prefixes) parts.push(`${user}.startsWith(${celString(p)})`);
  if (sets.groups.length) parts.push(`${groups}.exists(g, g in ${celList(sets.groups)})`);
  return parts.length ? parts.join(' || ') : 'false';
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

export function validatingWebhookConfiguration(policy: CompiledPolicy, ep: WebhookEndpoints): Record<string, unknown> {
  const sets = agentSelectorSets(policy);
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: {
      name: 'tether',
      labels: { 'app.kubernetes.io/name': 'tether' },
      annotations: { 'tether.dev/policy-version': policy.version },
    },
    webhooks: [
      {
        name: 'agents.tether.dev',
        admissionReviewVersions: ['v1'],
        sideEffects: 'NoneOnDryRun',
        failurePolicy: 'Fail',
        timeoutSeconds: ep.timeoutSeconds ?? 5,
        matchPolicy: 'Equivalent',
        clientConfig: { url: `${ep.baseUrl}/admission`, caBundle: b64(ep.caPem) },
        rules: [
          {
            apiGroups: ['*'],
            apiVersions: ['*'],
            operations: ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'],
            resources: ['*/*'],
            scope: '*',
          },
        ],
        matchConditions: [
          {
            name: 'agents-only',
            expression: agentMatchExpression(sets, 'request.userInfo.username', 'request.userInfo.groups'),
          },
        ],
      },
    ],
  };
}

function clientUser(client: WebhookEndpoints['client']): Record<string, string> {
  return client ? { 'client-certificate-data': b64(client.cert), 'client-key-data': b64(client.key) } : {};
}

export function webhookKubeconfig(
  name: string,
  url: string,
  caPem: string,
  client?: WebhookEndpoints['client'],
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: url, 'certificate-authority-data': b64(caPem) } }],
    users: [{ name: 'kube-apiserver', user: clientUser(client) }],
    contexts: [{ name, context: { cluster: name, user: 'kube-apiserver' } }],
    'current-context': name,
  };
}

/** How the API server authenticates to admission webhooks: a kubeconfig whose user `*` matches every webhook host. */
export function admissionConfiguration(kubeconfigPath: string): Record<string, unknown> {
  const plugin = (name: string) => ({
    name,
    configuration: {
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'WebhookAdmissionConfiguration',
      kubeConfigFile: kubeconfigPath,
    },
  });
  return {
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'AdmissionConfiguration',
    plugins: [plugin('ValidatingAdmissionWebhook'), plugin('MutatingAdmissionWebhook')],
  };
}

export function admissionWebhookKubeconfig(client: NonNullable<WebhookEndpoints['client']>): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Config', users: [{ name: '*', user: clientUser(client) }] };
}

/** Structured authorization: Tether first (agents only, fail closed), then RBAC. */
export function authorizationConfiguration(policy: CompiledPolicy, kubeconfigPath: string): Record<string, unknown> {
  const sets = agentSelectorSets(policy);
  return {
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'AuthorizationConfiguration',
    authorizers: [
      {
        type: 'Webhook',
        name: 'tether',
        webhook: {
          timeout: '3s',
          authorizedTTL: '1s',
          unauthorizedTTL: '1s',
          subjectAccessReviewVersion: 'v1',
          matchConditionSubjectAccessReviewVersion: 'v1',
          failurePolicy: 'Deny',
          connectionInfo: { type: 'KubeConfigFile', kubeConfigFile: kubeconfigPath },
          matchConditions: [{ expression: agentMatchExpression(sets, 'request.user', 'request.groups') }],
        },
      },
      { type: 'Node', name: 'node' },
      { type: 'RBAC', name: 'rbac' },
    ],
  };
}

/** Agents in detail, workload writes with bodies (to see controllers flip fields), Secrets never with bodies. */
export function auditPolicy(policy: CompiledPolicy): Record<string, unknown> {
  const sets = agentSelectorSets(policy);
  return {
    apiVersion: 'audit.k8s.io/v1',
    kind: 'Policy',
    omitStages: ['RequestReceived'],
    rules: [
      {
        level: 'Metadata',
        resources: [
          { group: '', resources: ['secrets', 'serviceaccounts/token'] },
          { group: 'authentication.k8s.io', resources: ['tokenreviews'] },
        ],
      },
      {
        level: 'RequestResponse',
        verbs: ['update', 'patch'],
        resources: [
          {
            group: 'apps',
            resources: [
              'deployments',
              'deployments/scale',
              'statefulsets',
              'statefulsets/scale',
              'replicasets',
              'replicasets/scale',
            ],
          },
          { group: 'autoscaling' },
        ],
      },
      ...(sets.usernames.length ? [{ level: 'Metadata', users: sets.usernames }] : []),
      ...(sets.groups.length ? [{ level: 'Metadata', userGroups: sets.groups }] : []),
      ...(sets.prefixes.some((p) => p.startsWith('system:serviceaccount:'))
        ? [
            {
              level: 'Metadata',
              userGroups: sets.prefixes
                .filter((p) => p.startsWith('system:serviceaccount:'))
                .map((p) => `system:serviceaccounts:${p.split(':')[2]}`),
            },
          ]
        : []),
      { level: 'None' },
    ],
  };
}

export interface WebhookConfigFiles {
  readonly 'validating-webhook.yaml': string;
  readonly 'authorization-config.yaml': string;
  readonly 'authorization-webhook.kubeconfig': string;
  readonly 'audit-policy.yaml': string;
  readonly 'audit-webhook.kubeconfig': string;
  /** With a client certificate: pass to kube-apiserver as --admission-control-config-file. */
  readonly 'admission-config.yaml'?: string;
  readonly 'admission-webhook.kubeconfig'?: string;
}

/** Every file, ready to write into a directory the API server reads (`configDir` is that directory as the API server sees it). */
export function webhookConfigFiles(
  policy: CompiledPolicy,
  ep: WebhookEndpoints,
  configDir: string,
): WebhookConfigFiles {
  const y = (o: unknown) => stringify(o, { lineWidth: 0 });
  return {
    'validating-webhook.yaml': y(validatingWebhookConfiguration(policy, ep)),
    'authorization-config.yaml': y(authorizationConfiguration(policy, `${configDir}/authorization-webhook.kubeconfig`)),
    'authorization-webhook.kubeconfig': y(
      webhookKubeconfig('tether-authorize', `${ep.baseUrl}/authorize`, ep.caPem, ep.client),
    ),
    'audit-policy.yaml': y(auditPolicy(policy)),
    'audit-webhook.kubeconfig': y(webhookKubeconfig('tether-audit', `${ep.baseUrl}/audit`, ep.caPem, ep.client)),
    ...(ep.client
      ? {
          'admission-config.yaml': y(admissionConfiguration(`${configDir}/admission-webhook.kubeconfig`)),
          'admission-webhook.kubeconfig': y(admissionWebhookKubeconfig(ep.client)),
        }
      : {}),
  };
}
