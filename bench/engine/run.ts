// Decisions per second and latency of the pure engine for 100 agents and a realistic action
// mix, beside Cedar (@cedar-policy/cedar-wasm) evaluating an equivalent boundary policy.
// Single thread (one core). Prints a table, then one JSON line.
import { preparsePolicySet, statefulIsAuthorized } from '@cedar-policy/cedar-wasm';
import { stringify } from 'yaml';
import type { Action } from '../../src/engine/action.ts';
import { decide } from '../../src/engine/decide.ts';
import { MemoryState } from '../../src/engine/memory-state.ts';
import { EMPTY_STATE, type StateView } from '../../src/engine/state.ts';
import { compilePolicy } from '../../src/policy/compile.ts';
import { parsePolicySources } from '../../src/policy/load.ts';
import { percentile, round } from '../support/stats.ts';
import { containmentAction, containmentPolicy, containmentView } from './containment-mix.ts';

const AGENTS = 100;
const ACTIONS = 20_000;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);

function agentName(i: number) {
  return `agent-${i}`;
}
function ns(i: number) {
  return `team-${i % 20}`;
}

const docs = [
  {
    apiVersion: 'tether.dev/v1alpha1',
    kind: 'GovernancePolicy',
    metadata: { name: 'g' },
    spec: { agentSelectors: { serviceAccountNamespaces: ['agents'] }, requireIntent: true },
  },
  ...Array.from({ length: AGENTS }, (_, i) => ({
    apiVersion: 'tether.dev/v1alpha1',
    kind: 'Agent',
    metadata: { name: agentName(i) },
    spec: {
      owner: { id: `owner-${i}@example.com` },
      authorityClass: 'autonomous',
      identities: [{ kind: 'ServiceAccount', namespace: 'agents', name: agentName(i) }],
      boundary: {
        namespaces: [ns(i), ns(i + 1)],
        rules: [
          {
            apiGroups: ['apps'],
            resources: ['deployments', 'deployments/scale'],
            verbs: ['get', 'list', 'watch', 'update', 'patch'],
          },
          { apiGroups: [''], resources: ['pods', 'pods/log', 'configmaps'], verbs: ['get', 'list', 'watch'] },
        ],
        conditions: [
          {
            name: 'max-replicas',
            expression: 'object.spec.replicas <= 20',
            match: { resources: ['deployments'], verbs: ['update', 'patch'] },
          },
        ],
        budgets: [{ window: '1h', maxMutations: 1_000_000, maxDistinctObjects: 1_000_000 }],
      },
      breaker: { maxViolations: 1_000_000 },
    },
  })),
];
const parsed = parsePolicySources([{ name: 'bench.yaml', text: docs.map((d) => stringify(d)).join('---\n') }]);
const compiled = compilePolicy(parsed);
if (!compiled.policy) throw new Error(JSON.stringify(compiled.problems));
const policy = compiled.policy;

// Mix: 55 % reads (some outside the boundary), 35 % updates (some past the CEL limit), 10 % foreign-namespace writes.
function makeAction(k: number): Action {
  const i = (k * 7919) % AGENTS;
  const subject = {
    username: `system:serviceaccount:agents:${agentName(i)}`,
    groups: ['system:serviceaccounts', 'system:serviceaccounts:agents', 'system:authenticated'],
  };
  const r = k % 20;
  const namespace = r < 18 ? ns(i + (r % 2)) : ns(i + 7);
  if (r < 11) {
    const [group, resource, verb] =
      r < 4
        ? ['apps', 'deployments', 'get']
        : r < 8
          ? ['', 'pods', 'list']
          : r < 10
            ? ['', 'configmaps', 'get']
            : ['', 'secrets', 'get'];
    return {
      source: 'authorization',
      subject,
      verb: verb as string,
      target: {
        group: group as string,
        version: 'v1',
        resource: resource as string,
        namespace,
        name: r === 5 ? undefined : `obj-${k % 50}`,
      },
    };
  }
  const replicas = r === 17 ? 40 : (k % 19) + 1;
  const name = `web-${k % 30}`;
  return {
    source: 'admission',
    subject,
    verb: r % 2 ? 'patch' : 'update',
    target: { group: 'apps', version: 'v1', resource: 'deployments', namespace, name },
    object: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace, labels: { app: name } },
      spec: { replicas, selector: { matchLabels: { app: name } } },
    },
    oldObject: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace, labels: { app: name } },
      spec: { replicas: 3, selector: { matchLabels: { app: name } } },
    },
    intent: { summary: 'follow traffic' },
  };
}
const actions = Array.from({ length: ACTIONS }, (_, k) => makeAction(k));

// The same boundary in Cedar: one permit per agent (namespaces, resource rules, replicas condition).
const cedarPolicies = Array.from({ length: AGENTS }, (_, i) => {
  const nss = JSON.stringify([ns(i), ns(i + 1)]);
  return `permit(principal == Agent::"${agentName(i)}", action in [Action::"get", Action::"list", Action::"watch", Action::"update", Action::"patch"], resource)
  when { ${nss}.contains(context.namespace) && context.group == "apps" && ["deployments", "deployments/scale"].contains(context.resource) && (!context.hasReplicas || context.replicas <= 20) };
permit(principal == Agent::"${agentName(i)}", action in [Action::"get", Action::"list", Action::"watch"], resource)
  when { ${nss}.contains(context.namespace) && context.group == "" && ["pods", "pods/log", "configmaps"].contains(context.resource) };`;
}).join('\n');
const prep = preparsePolicySet('boundary', { staticPolicies: cedarPolicies });
if (prep.type !== 'success') throw new Error(`cedar policy does not parse: ${JSON.stringify(prep)}`);

function cedarCall(a: Action) {
  const replicas = (a.object as { spec?: { replicas?: number } } | undefined)?.spec?.replicas;
  const agent = a.subject.username.split(':').pop() as string;
  return {
    principal: { type: 'Agent', id: agent },
    action: { type: 'Action', id: a.verb },
    resource: { type: 'Object', id: `${a.target.namespace}/${a.target.name ?? ''}` },
    context: {
      namespace: a.target.namespace ?? '',
      group: a.target.group,
      resource: a.target.subresource ? `${a.target.resource}/${a.target.subresource}` : a.target.resource,
      hasReplicas: replicas !== undefined,
      replicas: replicas ?? 0,
    },
    preparsedPolicySetId: 'boundary',
    entities: [],
  };
}

interface Figures {
  decisionsPerSecond: number;
  p50us: number;
  p99us: number;
}

function measure(name: string, fn: (a: Action) => unknown, set: readonly Action[] = actions): Figures {
  const ACTIONS = set.length;
  const actions = set;
  for (let k = 0; k < 5000; k++) fn(actions[k % ACTIONS] as Action);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < SECONDS * 1000) {
    for (let k = 0; k < 1000; k++) fn(actions[(n + k) % ACTIONS] as Action);
    n += 1000;
  }
  const elapsed = (performance.now() - t0) / 1000;
  const samples = new Float64Array(Math.min(n, 200_000));
  for (let k = 0; k < samples.length; k++) {
    const a = actions[k % ACTIONS] as Action;
    const s = process.hrtime.bigint();
    fn(a);
    samples[k] = Number(process.hrtime.bigint() - s) / 1000;
  }
  samples.sort();
  const f = {
    decisionsPerSecond: Math.round(n / elapsed),
    p50us: round(percentile(samples, 50)),
    p99us: round(percentile(samples, 99)),
  };
  console.log(
    `${name.padEnd(44)} ${String(f.decisionsPerSecond).padStart(10)} /s   p50 ${f.p50us.toFixed(2).padStart(7)} µs   p99 ${f.p99us.toFixed(2).padStart(7)} µs`,
  );
  return f;
}

// Outcome agreement on the boundary: a check that both sides evaluate the same policy.
let agree = 0;
for (const a of actions.slice(0, 2000)) {
  const t = decide(a, policy, EMPTY_STATE, Date.now()).outcome === 'allow';
  const c = statefulIsAuthorized(cedarCall(a));
  if (c.type === 'success' && (c.response.decision === 'allow') === t) agree++;
}

const now = Date.now();
const stateful = new MemoryState();
const stateView: StateView = stateful;
console.log(
  `engine bench: ${AGENTS} agents, ${ACTIONS} distinct actions (55% reads, 35% writes, 10% out of bounds), ${SECONDS}s per run, one thread`,
);
console.log(`boundary outcomes agreeing with Cedar on 2000 actions: ${agree}/2000`);
const tether = measure('tether decide (boundary, no state)', (a) => decide(a, policy, EMPTY_STATE, now));
const tetherFull = measure('tether decide (+ budgets, breaker state)', (a) => decide(a, policy, stateView, now));
const cedar = measure('cedar-wasm statefulIsAuthorized (boundary)', (a) => statefulIsAuthorized(cedarCall(a)));
const ratio = round(tether.decisionsPerSecond / cedar.decisionsPerSecond, 2);
console.log(`tether / cedar throughput ratio: ${ratio}x`);
// Containment: workloads, bindings and field diffs judged against the boundary with a cluster view (floor: p99 under 10 µs).
const cPolicy = containmentPolicy();
const cView = containmentView();
const cActions = Array.from({ length: ACTIONS }, (_, k) => containmentAction(k));
const refusedShare =
  cActions.slice(0, 3000).filter((a) => decide(a, cPolicy, EMPTY_STATE, now, cView).outcome === 'deny').length / 3000;
console.log(
  `containment mix: 40% pod creates, 30% deployment updates (field diffs), 30% role bindings; ${Math.round(refusedShare * 100)}% refused`,
);
const containment = measure(
  'tether decide (containment mix, cluster view)',
  (a) => decide(a, cPolicy, EMPTY_STATE, now, cView),
  cActions,
);
console.log(
  `containment p99 ${containment.p99us} µs per decision (floor 10 µs)${containment.p99us < 10 ? '' : '  ABOVE THE FLOOR'}; the machine is shared with other work: figures are indicative`,
);
console.log(
  JSON.stringify({
    bench: 'engine',
    agents: AGENTS,
    tether,
    tetherWithState: tetherFull,
    cedar,
    ratio,
    agreement: agree / 2000,
    containment,
    containmentRefused: refusedShare,
  }),
);
