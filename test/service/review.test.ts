// The reviewer's service layer over a real store: the diff of what a pending action asks for,
// who it waits on, that a Secret's data is never kept for review, and a chain as a tree.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Action } from '../../src/engine/action.ts';
import type { LedgerLeaf } from '../../src/ledger/leaf.ts';
import { compilePolicy } from '../../src/policy/compile.ts';
import { parsePolicySources } from '../../src/policy/load.ts';
import { chainTree, chainView } from '../../src/service/chain-tree.ts';
import { clusterViewOf } from '../../src/kube/cluster-view.ts';
import { Governor } from '../../src/service/governor.ts';
import { approvalDetail, approvalQueue } from '../../src/service/review-approvals.ts';
import { openStore } from '../../src/store/open.ts';
import type { LedgerEntry, Store } from '../../src/store/store.ts';
import { BACKENDS } from '../store/backends.ts';

const POLICY = `
apiVersion: tether.dev/v1alpha1
kind: GovernancePolicy
metadata: { name: default }
spec:
  agentSelectors: { serviceAccountNamespaces: [agents] }
  approvals: { ttl: 1h, administrators: [admin@example.com] }
---
apiVersion: tether.dev/v1alpha1
kind: Agent
metadata: { name: releaser }
spec:
  owner: { id: dave@example.com }
  approvers: [erin@example.com]
  authorityClass: supervised
  identities: [{ kind: ServiceAccount, namespace: agents, name: releaser }]
  boundary:
    namespaces: [shop]
    runAs: [web]
    rules:
      - { apiGroups: [apps], resources: [deployments], verbs: [create, update] }
      - { apiGroups: [""], resources: [secrets], verbs: [update] }
`;

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
/** The service tests look at what the store holds; the API keys digests on the way out (review.test.ts in test/console). */
const same = <T>(a: T) => a;
const SECRET_VALUE = 'hunter2-do-not-keep';

function policy() {
  const parsed = parsePolicySources([{ name: 'test.yaml', text: POLICY }]);
  const { policy } = compilePolicy(parsed);
  assert.ok(policy);
  return policy;
}

const deployment = (replicas: number, image: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop', resourceVersion: '7', managedFields: [{ manager: 'kubectl' }] },
  spec: { replicas, template: { spec: { serviceAccountName: 'web', containers: [{ name: 'web', image }] } } },
  status: { readyReplicas: 1 },
});

const act = (extra: Partial<Action>): Action => ({
  source: 'admission',
  subject: { username: 'system:serviceaccount:agents:releaser', groups: [] },
  verb: 'update',
  target: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'shop', name: 'web' },
  intent: { summary: 'roll out v2' },
  ...extra,
});

for (const backend of BACKENDS) {
  describe(`review service on ${backend.name}`, { skip: backend.skip }, () => {
    const stores: Store[] = [];
    after(async () => {
      for (const s of stores) await s.close();
      await backend.cleanup();
    });
    const setup = async () => {
      const store = await openStore(await backend.fresh());
      stores.push(store);
      const p = policy();
      // A cluster where the workloads' service account holds nothing: containment lets their updates through to review.
      return {
        store,
        policy: p,
        governor: new Governor({ policy: p, store, clock: () => T0, cluster: clusterViewOf([]) }),
      };
    };

    test('an update: the diff of what it changes, server bookkeeping left out; who may decide', async () => {
      const { store, policy, governor } = await setup();
      const g = await governor.decide(act({ object: deployment(4, 'web:v2'), oldObject: deployment(2, 'web:v1') }));
      assert.equal(g.decision.outcome, 'pending');
      const id = g.approvalId as string;
      const d = await approvalDetail(store, policy, id, 'erin@example.com', T0 + 60_000, same);
      assert.ok(d);
      assert.equal(d.diff.kind, 'update');
      assert.deepEqual(
        d.diff.changes.map((c) => [c.path, c.change, c.before, c.after]),
        [
          ['spec.replicas', 'changed', 2, 4],
          ['spec.template.spec.containers[name=web].image', 'changed', 'web:v1', 'web:v2'],
        ],
      );
      assert.equal(
        (d.diff.after as { status?: unknown }).status,
        undefined,
        'status is the server’s, not the agent’s ask',
      );
      assert.equal(d.request?.intent?.summary, 'roll out v2');
      assert.equal(d.request?.ledgerIndex, g.ledgerIndex);
      assert.deepEqual(d.agent, {
        name: 'releaser',
        owner: 'dave@example.com',
        authorityClass: 'supervised',
        mode: 'enforce',
      });
      assert.equal(d.ttlLeftMs, 3_600_000 - 60_000);
      assert.equal(d.you.mayDecide, true);
      const stranger = await approvalDetail(store, policy, id, 'mallory@example.com', T0, same);
      assert.equal(stranger?.you.mayDecide, false);
      assert.match(stranger?.you.why ?? '', /may not approve for releaser/);
      const agentItself = await approvalDetail(store, policy, id, 'system:serviceaccount:agents:releaser', T0, same);
      assert.equal(agentItself?.you.mayDecide, false, 'an agent identity never decides');

      const q = await approvalQueue(store, policy, 'erin@example.com', T0, same);
      assert.equal(q.waitingOnYou, 1);
      assert.equal((await approvalQueue(store, policy, 'mallory@example.com', T0, same)).waitingOnYou, 0);
      assert.equal(
        (await approvalQueue(store, policy, 'erin@example.com', T0 + 3_600_001, same)).approvals.length,
        0,
        'an expired request leaves the queue',
      );
      const approved = await governor.approve(id, 'erin@example.com', 'fine');
      assert.ok(approved.ok);
      assert.equal((await approvalQueue(store, policy, 'dave@example.com', T0, same)).waitingOnYou, 0);
      assert.equal(await approvalDetail(store, policy, 'apr_nope', 'erin@example.com', T0, same), undefined);
    });

    test('attacker: a change hidden in a tether.dev annotation the approval binds still shows; the unbound carriers do not', async () => {
      const { store, policy, governor } = await setup();
      const withAnn = (ann: Record<string, string>) => ({
        ...deployment(2, 'web:v1'),
        metadata: { ...deployment(2, 'web:v1').metadata, annotations: ann },
      });
      const g = await governor.decide(
        act({
          object: withAnn({
            'tether.dev/approval': 'apr_x',
            'tether.dev/chain': '{"id":"c","depth":0,"path":[]}',
            'tether.dev/rollout-gate': 'off',
          }),
          oldObject: withAnn({ 'tether.dev/rollout-gate': 'on' }),
        }),
      );
      const d = await approvalDetail(store, policy, g.approvalId as string, 'erin@example.com', T0, same);
      assert.deepEqual(
        d?.diff.changes.map((c) => [c.path, c.before, c.after]),
        [['metadata.annotations["tether.dev/rollout-gate"]', 'on', 'off']],
      );
    });

    test('a create: the fields that matter are highlighted', async () => {
      const { store, policy, governor } = await setup();
      const g = await governor.decide(act({ verb: 'create', object: deployment(3, 'web:v3') }));
      const d = await approvalDetail(store, policy, g.approvalId as string, 'erin@example.com', T0, same);
      assert.equal(d?.diff.kind, 'create');
      const paths = d?.diff.highlights.map((h) => h.path) ?? [];
      for (const p of [
        'spec.replicas',
        'spec.template.spec.serviceAccountName',
        'spec.template.spec.containers[0].image',
      ])
        assert.ok(paths.includes(p), `${p} in ${paths}`);
    });

    test('attacker: a pending write to a Secret keeps none of its data for review', async () => {
      const { store, policy, governor } = await setup();
      const secret = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db', namespace: 'shop' },
        data: { password: Buffer.from(SECRET_VALUE).toString('base64') },
        stringData: { raw: SECRET_VALUE },
      };
      const g = await governor.decide(
        act({
          target: { group: '', version: 'v1', resource: 'secrets', namespace: 'shop', name: 'db' },
          object: secret,
          oldObject: { ...secret, data: {} },
        }),
      );
      assert.equal(g.decision.outcome, 'pending');
      assert.equal(await store.requestedObjects(g.approvalId as string), undefined);
      const d = await approvalDetail(store, policy, g.approvalId as string, 'erin@example.com', T0, same);
      assert.equal(d?.diff.kind, 'unknown');
      const everything = JSON.stringify([d, await store.approvals(), await store.queryLedger({})]);
      assert.ok(
        !everything.includes(SECRET_VALUE) && !everything.includes(Buffer.from(SECRET_VALUE).toString('base64')),
        'the value is nowhere',
      );
    });

    test('a chain from the ledger: nodes by place in the chain, refused hops, breakers it caused', async () => {
      const { store } = await setup();
      const chain = (depth: number, path: string[]) => ({ id: 'trace-1', depth, path });
      const leaf = (extra: Partial<LedgerLeaf>): LedgerLeaf => ({
        v: 1,
        time: new Date(T0).toISOString(),
        kind: 'decision',
        ...extra,
      });
      await store.append(leaf({ agent: 'planner', chain: chain(0, []), decision: 'allow', verb: 'get' }));
      await store.append(
        leaf({ agent: 'fixer', chain: chain(1, ['planner']), decision: 'allow', verb: 'patch', source: 'mcp' }),
      );
      await store.append(
        leaf({
          kind: 'tool-result',
          agent: 'fixer',
          chain: chain(1, ['planner']),
          decision: 'allow',
          tool: { server: 'k8s', name: 'scale' },
          detail: { decisions: [1], latencyMs: 12.5, status: 'ok' },
        }),
      );
      await store.append(leaf({ agent: 'other', chain: { id: 'trace-2', depth: 0, path: [] } }));
      const denied = await store.append(
        leaf({
          agent: 'deleter',
          chain: chain(2, ['planner', 'fixer']),
          decision: 'deny',
          rules: ['chain/callee'],
          verb: 'delete',
        }),
      );
      await store.append(
        leaf({
          kind: 'breaker',
          agent: 'deleter',
          detail: { scope: 'agent', key: 'deleter', from: 'closed', to: 'open', cause: denied },
          rules: ['breaker/violations'],
        }),
      );
      await store.append(
        leaf({
          kind: 'breaker',
          agent: 'other',
          detail: { scope: 'agent', key: 'other', from: 'closed', to: 'open', cause: 3 },
        }),
      );

      const v = await chainView(store, 'trace-1');
      assert.ok(v);
      assert.equal(v.entries, 4);
      assert.equal(v.refused, 1);
      assert.equal(v.roots.length, 1);
      const planner = v.roots[0];
      assert.equal(planner?.agent, 'planner');
      const fixer = planner?.children[0];
      assert.equal(fixer?.agent, 'fixer');
      assert.equal(fixer?.hops.length, 1, 'the decision sits under its tool call');
      assert.equal(fixer?.hops[0]?.latencyMs, 12.5);
      assert.deepEqual(
        fixer?.hops[0]?.decisions.map((d) => d.index),
        [1],
      );
      const deleter = fixer?.children[0];
      assert.equal(deleter?.agent, 'deleter');
      assert.equal(deleter?.hops[0]?.refused, true);
      assert.deepEqual(
        v.breakers.map((b) => [b.key, b.to, b.cause]),
        [['deleter', 'open', denied]],
      );
      assert.equal(await chainView(store, 'trace-404'), undefined);
    });
  });
}

test('a chain whose parent hop is missing from the ledger still shows every hop, as another root', () => {
  const e = (index: number, agent: string, path: string[]): LedgerEntry => ({
    index,
    data: '',
    leafHash: Buffer.alloc(32),
    leaf: {
      v: 1,
      time: new Date(T0 + index).toISOString(),
      kind: 'decision',
      agent,
      chain: { id: 'x', depth: path.length, path },
    },
  });
  const roots = chainTree([e(0, 'a', []), e(1, 'c', ['a', 'b'])]);
  assert.deepEqual(
    roots.map((r) => r.agent),
    ['a', 'c'],
  );
});

test('an expansion: what it adds in words and as a graph; its reach only with a cluster view, else says "no cluster view"', async () => {
  const { readFileSync } = await import('node:fs');
  const { readObjectDump } = await import('../../src/kube/object-dump.ts');
  const { clusterViewFrom, expansionDetail } = await import('../../src/service/review-expansion.ts');
  const shop = new URL('../analysis/access/fixtures/shop/', import.meta.url);
  const parsed = parsePolicySources([
    { name: 'agents.yaml', text: readFileSync(new URL('agents.yaml', shop), 'utf8') },
  ]);
  const { policy } = compilePolicy(parsed);
  assert.ok(policy);
  const store = await openStore(`sqlite:${(await import('../store/backends.ts')).tempDir()}/tether.db`);
  try {
    const triage = policy.agents.get('triage');
    assert.ok(triage);
    const wider = {
      ...triage.spec,
      boundary: {
        ...triage.spec.boundary,
        namespaces: ['shop', 'payments'],
        rules: [...(triage.spec.boundary?.rules ?? []), { apiGroups: [''], resources: ['pods'], verbs: ['create'] }],
      },
    };
    const { id } = await store.requestExpansion(
      { agent: 'triage', requestedSpec: wider, diffDigest: 'sha256:d', by: 'directory:test' },
      T0,
    );

    const blind = await expansionDetail(store, policy, id);
    assert.ok(blind);
    assert.deepEqual(blind.widening, ['new namespace payments', 'new rule create on pods (core)']);
    assert.equal(blind.reach.clusterView, false);
    assert.match(blind.reach.clusterView ? '' : blind.reach.message, /^no cluster view/);
    const added = blind.graph.nodes.filter((n) => n.added).map((n) => n.label);
    assert.deepEqual(added, ['payments', 'create pods (core)']);
    assert.ok(
      blind.graph.edges.some((e) => e.from === 'ns1'),
      'the new namespace reaches the capabilities',
    );

    const objects = readObjectDump([new URL('cluster.yaml', shop).pathname]).objects.map((o) => o.object);
    const seeing = await expansionDetail(
      store,
      policy,
      id,
      clusterViewFrom(
        () => objects,
        () => policy,
      ),
    );
    assert.ok(seeing?.reach.clusterView);
    // The same sentences `tether expansion-review` prints for the same objects and enforced spec.
    const { inputsFromObjects } = await import('../../src/analysis/access/load.ts');
    const { buildAccessModel } = await import('../../src/analysis/access/model.ts');
    const { reviewBoundaryExpansion } = await import('../../src/analysis/access/what-if.ts');
    const cli = reviewBoundaryExpansion(
      buildAccessModel(
        inputsFromObjects(
          objects.map((object) => ({ object, source: { origin: 'dump' } })),
          {
            agents: [...policy.agents.values()].map((a) => ({
              name: a.name,
              spec: a.spec,
              source: { origin: 'policy' },
            })),
          },
        ),
      ),
      'triage',
      wider,
    );
    assert.deepEqual(seeing.reach.lines, cli.lines);
    assert.ok(
      seeing.reach.lines.some((l) => /payments/.test(l)),
      seeing.reach.lines.join('\n'),
    );
    // A view still listing says so rather than answering from half a picture.
    const listing = await expansionDetail(
      store,
      policy,
      id,
      clusterViewFrom(
        () => undefined,
        () => policy,
      ),
    );
    assert.equal(listing?.reach.clusterView, false);
  } finally {
    await store.close();
  }
});

test('the live feed: a snapshot at once, then only what changed; nothing when nothing did; stops with its last subscriber', async () => {
  const { ReviewFeed } = await import('../../src/service/review-feed.ts');
  const store = await openStore(`sqlite:${(await import('../store/backends.ts')).tempDir()}/tether.db`);
  const p = policy();
  const governor = new Governor({ policy: p, store, clock: () => T0, cluster: clusterViewOf([]) });
  const feed = new ReviewFeed({ store, policy: () => p, present: same, pollMs: 20, clock: () => T0 });
  const got: string[] = [];
  const settle = () => new Promise((r) => setTimeout(r, 150));
  try {
    const stop = await feed.subscribe('erin@example.com', (event, data) =>
      got.push(`${event}:${event === 'approvals' ? (data as { waitingOnYou: number }).waitingOnYou : ''}`),
    );
    assert.deepEqual(got, ['approvals:0', 'breakers:']);
    await store.append({ v: 1, time: new Date(T0).toISOString(), kind: 'audit' });
    await settle();
    assert.deepEqual(got, ['approvals:0', 'breakers:'], 'a ledger append that changes neither sends nothing');
    await governor.decide(act({ object: deployment(4, 'web:v2'), oldObject: deployment(2, 'web:v1') }));
    await settle();
    assert.deepEqual(got, ['approvals:0', 'breakers:', 'approvals:1']);
    stop();
    assert.equal(feed.subscribers, 0);
  } finally {
    feed.stop();
    await store.close();
  }
});
