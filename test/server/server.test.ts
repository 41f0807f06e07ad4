// `tether serve` over real HTTPS with real-format payloads, on SQLite and on PostgreSQL.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { admissionReview, deploymentObject } from '../support/admission.ts';
import { https } from '../support/https.ts';
import { BACKENDS } from '../store/backends.ts';
import { SA, startTestServer, testPolicy, TOKENS, writePolicy } from './start.ts';

type Server = Awaited<ReturnType<typeof startTestServer>>;
interface Review {
  response: {
    uid: string;
    allowed: boolean;
    status?: { code: number; message: string };
    warnings?: string[];
    auditAnnotations: Record<string, string>;
  };
}

const intent = (summary: string) => ({ 'tether.dev/intent': JSON.stringify({ summary }) });

for (const backend of BACKENDS) {
  describe(`tether serve on ${backend.name}`, { skip: backend.skip }, () => {
    let s: Server;
    const notices: unknown[] = [];
    const receiver = createServer((req, res) => {
      let b = '';
      req.on('data', (c) => (b += c));
      req.on('end', () => {
        notices.push(JSON.parse(b));
        res.end('ok');
      });
    });
    const post = <T>(path: string, body: unknown, token?: string) =>
      https<T>(`${s.url}${path}`, { ca: s.caPem, body, token });
    const get = <T>(path: string, token?: string) => https<T>(`${s.url}${path}`, { ca: s.caPem, token });
    const admit = (review: Record<string, unknown>) => post<Review>('/admission', review);

    before(async () => {
      await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
      const port = (receiver.address() as { port: number }).port;
      s = await startTestServer(await backend.fresh(), {
        notifications: [{ url: `http://127.0.0.1:${port}/hook`, format: 'json' }],
      });
    });
    after(async () => {
      await s?.close();
      receiver.close();
      await backend.cleanup();
    });

    test('admission: an autonomous agent inside its boundary is allowed, linked to its ledger entry', async () => {
      const review = admissionReview({
        username: SA('scaler'),
        resource: 'deployments',
        namespace: 'shop',
        name: 'web',
        object: deploymentObject('web', 3, intent('evening peak')),
        oldObject: deploymentObject('web', 2),
        patch: true,
      });
      const r = await admit(review);
      assert.equal(r.status, 200);
      assert.equal(r.body.response.uid, (review.request as { uid: string }).uid);
      assert.equal(r.body.response.allowed, true);
      const index = Number(r.body.response.auditAnnotations['ledger-index']);
      const [entry] = await s.store.entries(index, index + 1);
      assert.equal(entry?.leaf.agent, 'scaler');
      assert.equal(entry?.leaf.intent?.summary, 'evening peak');
      assert.equal(entry?.leaf.decision, 'allow');
    });

    test('admission: a refusal carries the reasons; audit mode allows with warnings; humans are not governed', async () => {
      const outside = await admit(
        admissionReview({
          username: SA('scaler'),
          resource: 'deployments',
          namespace: 'payments',
          name: 'x',
          object: deploymentObject('x', 1, intent('x'), 'payments'),
          oldObject: deploymentObject('x', 1, {}, 'payments'),
        }),
      );
      assert.equal(outside.body.response.allowed, false);
      assert.equal(outside.body.response.status?.code, 403);
      assert.match(
        outside.body.response.status?.message ?? '',
        /\[boundary\/namespace\] scaler may not .* namespace payments is outside its boundary/,
      );
      const trial = await admit(
        admissionReview({
          username: SA('trial'),
          resource: 'deployments',
          namespace: 'shop',
          name: 'web',
          object: deploymentObject('web', 5, intent('try')),
          oldObject: deploymentObject('web', 3),
        }),
      );
      assert.equal(trial.body.response.allowed, true);
      assert.ok(trial.body.response.warnings?.some((w) => /authority\/advisory-proposal/.test(w)));
      const human = await admit(
        admissionReview({
          username: 'alice@example.com',
          resource: 'deployments',
          namespace: 'payments',
          name: 'x',
          object: deploymentObject('x', 1),
        }),
      );
      assert.equal(human.body.response.allowed, true);
      assert.equal(human.body.response.auditAnnotations['ledger-index'], undefined);
    });

    test('approvals: pending → a human approves → only that exact action passes, once; agents never approve', async () => {
      const object = deploymentObject('api', 4, intent('roll out v2'));
      const review = () =>
        admissionReview({
          username: SA('release'),
          resource: 'deployments',
          namespace: 'shop',
          name: 'api',
          object,
          oldObject: deploymentObject('api', 2),
        });
      const pending = await admit(review());
      assert.equal(pending.body.response.allowed, false);
      const approvalId = pending.body.response.auditAnnotations.approval as string;
      assert.ok(approvalId);
      assert.match(pending.body.response.status?.message ?? '', /a human must approve this first/);

      const byAgent = await post(
        `/v1/approvals/${approvalId}/approve`,
        { reason: 'self-service' },
        TOKENS.releaseAgent,
      );
      assert.equal(byAgent.status, 403);
      const byStranger = await post<{ message: string }>(
        `/v1/approvals/${approvalId}/approve`,
        { reason: 'why not' },
        TOKENS.root,
      );
      assert.equal(byStranger.status, 200, 'administrators may approve');
      const again = await admit(review());
      assert.equal(again.body.response.allowed, true, JSON.stringify(again.body));
      const third = await admit(review());
      assert.equal(third.body.response.allowed, false, 'single use');

      const other = await admit(
        admissionReview({
          username: SA('release'),
          resource: 'deployments',
          namespace: 'shop',
          name: 'api',
          object: deploymentObject('api', 9, intent('roll out v2')),
          oldObject: deploymentObject('api', 2),
        }),
      );
      assert.equal(other.body.response.allowed, false, 'a different object is a different action');
      const noReason = await post(
        `/v1/approvals/${other.body.response.auditAnnotations.approval}/approve`,
        {},
        TOKENS.bob,
      );
      assert.equal(noReason.status, 400);
      const withAnnotation = deploymentObject('api', 9, {
        ...intent('roll out v2'),
        'tether.dev/approval': other.body.response.auditAnnotations.approval as string,
      });
      const ok = await post(
        `/v1/approvals/${other.body.response.auditAnnotations.approval}/approve`,
        { reason: 'looks right' },
        TOKENS.bob,
      );
      assert.equal(ok.status, 200);
      const retry = await admit(
        admissionReview({
          username: SA('release'),
          resource: 'deployments',
          namespace: 'shop',
          name: 'api',
          object: withAnnotation,
          oldObject: deploymentObject('api', 2),
        }),
      );
      assert.equal(retry.body.response.allowed, true, 'the retry carrying the approval annotation passes');
    });

    test("declared intent: a write that cannot carry the annotation uses the agent's standing intent; only agents declare", async () => {
      const review = () =>
        admissionReview({
          username: SA('release'),
          resource: 'deployments',
          namespace: 'shop',
          name: 'cart',
          object: deploymentObject('cart', 3),
          oldObject: deploymentObject('cart', 2),
        });
      const before = await admit(review());
      assert.match(before.body.response.status?.message ?? '', /\[intent\/missing\].*POST \/v1\/intents/);
      assert.equal((await post('/v1/intents', { intent: 'not mine' }, TOKENS.alice)).status, 403);
      assert.equal((await post('/v1/intents', { intent: { goal: 'no summary' } }, TOKENS.releaseAgent)).status, 400);
      const declared = await post<{ agent: string; ledgerIndex: number }>(
        '/v1/intents',
        { intent: { summary: 'roll out cart v3', trigger: 'ticket CHG-9' }, ttlSeconds: 60 },
        TOKENS.releaseAgent,
      );
      assert.equal(declared.status, 200, declared.text);
      assert.equal(declared.body.agent, 'release');
      const after = await admit(review());
      assert.doesNotMatch(after.body.response.status?.message ?? '', /intent\/missing/);
      const index = Number(after.body.response.auditAnnotations['ledger-index']);
      const [entry] = await s.store.entries(index, index + 1);
      assert.equal(entry?.leaf.intent?.summary, 'roll out cart v3');
    });

    test('decision API: an agent asks before acting, about itself only; intent may travel as a header (it overrides a standing one)', async () => {
      const ask = (headers: Record<string, string>, subject = 'system:serviceaccount:agents:scaler') =>
        https<{ outcome: string; agent?: { name: string }; reasons: { rule: string }[]; ledgerIndex?: number }>(
          `${s.url}/v1/decide`,
          {
            ca: s.caPem,
            token: TOKENS.releaseAgent,
            headers,
            body: {
              subject: { username: subject, groups: ['system:masters'], mcpClientId: 'someone-else' },
              verb: 'update',
              target: { group: 'apps', resource: 'deployments', namespace: 'shop', name: 'web' },
              object: deploymentObject('web', 2),
              oldObject: deploymentObject('web', 1),
            },
          },
        );
      const bare = await ask({});
      assert.equal(bare.status, 200);
      assert.equal(bare.body.agent?.name, 'release', 'decided as the token says, not as the scaler the body names');
      const withHeader = await ask({ 'x-tether-intent': JSON.stringify({ summary: 'warm up before the sale' }) });
      assert.equal(withHeader.body.outcome, 'pending', 'with a why, the supervised agent waits for a human');
      const [entry] = await s.store.entries(
        withHeader.body.ledgerIndex as number,
        (withHeader.body.ledgerIndex as number) + 1,
      );
      assert.equal(entry?.leaf.intent?.summary, 'warm up before the sale');
      assert.equal((await ask({ 'x-tether-intent': '{broken' })).status, 400);
    });

    test('breakers: repeated refusals trip; the owner resets with a reason; the kill switch stops every agent', async () => {
      const overBudget = () =>
        admit(
          admissionReview({
            username: SA('scaler'),
            resource: 'deployments',
            namespace: 'shop',
            name: `w${Math.random()}`,
            object: deploymentObject('w', 2, intent('grow')),
            oldObject: deploymentObject('w', 1),
          }),
        );
      let last: Awaited<ReturnType<typeof overBudget>> | undefined;
      for (let i = 0; i < 5; i++) last = await overBudget();
      assert.equal(last?.body.response.allowed, false);
      const breakers = await get<{ breakers: { key: string; state: string }[] }>('/v1/breakers', TOKENS.alice);
      assert.equal(breakers.body.breakers.find((b) => b.key === 'scaler')?.state, 'open');
      assert.equal(
        (await post('/v1/breakers/reset', { target: 'scaler', reason: 'x' }, TOKENS.releaseAgent)).status,
        403,
      );
      assert.equal(
        (await post('/v1/breakers/reset', { target: 'scaler', reason: 'x' }, TOKENS.bob)).status,
        403,
        'bob is not the owner',
      );
      const reset = await post<{ breaker: { state: string } }>(
        '/v1/breakers/reset',
        { target: 'scaler', reason: 'budget raised' },
        TOKENS.alice,
      );
      assert.equal(reset.status, 200);
      assert.equal(reset.body.breaker.state, 'half-open');

      assert.equal(
        (await post('/v1/killswitch', { engaged: true, reason: 'incident' }, TOKENS.alice)).status,
        403,
        'only administrators',
      );
      assert.equal((await post('/v1/killswitch', { engaged: true, reason: 'incident 7' }, TOKENS.root)).status, 200);
      const killed = await admit(
        admissionReview({
          username: SA('release'),
          resource: 'deployments',
          namespace: 'shop',
          name: 'z',
          object: deploymentObject('z', 1, intent('x')),
          oldObject: deploymentObject('z', 2),
        }),
      );
      assert.match(killed.body.response.status?.message ?? '', /kill switch/);
      assert.equal((await post('/v1/killswitch', { engaged: false, reason: 'over' }, TOKENS.root)).status, 200);
    });

    test('authorization webhook: governs agent reads, no opinion otherwise', async () => {
      const sar = (user: string, verb: string, resource: string, namespace: string) => ({
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user,
          groups: ['system:serviceaccounts', 'system:serviceaccounts:agents', 'system:authenticated'],
          resourceAttributes: { verb, group: '', version: 'v1', resource, namespace },
        },
      });
      type Sar = { status: { allowed: boolean; denied?: boolean; reason?: string } };
      const secret = await post<Sar>('/authorize', sar(SA('reader'), 'get', 'secrets', 'shop'));
      assert.deepEqual([secret.body.status.allowed, secret.body.status.denied], [false, true]);
      assert.match(secret.body.status.reason ?? '', /tether ledger #\d+: \[boundary\/rule\]/);
      const pods = await post<Sar>('/authorize', sar(SA('reader'), 'list', 'pods', 'shop'));
      assert.deepEqual(
        [pods.body.status.allowed, pods.body.status.denied],
        [false, undefined],
        'allowed by Tether = no opinion: RBAC still decides',
      );
      const human = await post<Sar>('/authorize', sar('alice@example.com', 'get', 'secrets', 'shop'));
      assert.equal(human.body.status.denied, undefined);
    });

    test('audit sink: events line up with decisions; agent changes without a decision are flagged', async () => {
      const allowed = await admit(
        admissionReview({
          username: SA('scaler'),
          resource: 'deployments',
          namespace: 'shop',
          name: 'web',
          object: deploymentObject('web', 2, intent('trim')),
          oldObject: deploymentObject('web', 3),
        }),
      );
      const index = allowed.body.response.auditAnnotations['ledger-index'];
      const event = (auditID: string, annotations: Record<string, string>, verb = 'patch') => ({
        level: 'Metadata',
        auditID,
        stage: 'ResponseComplete',
        requestURI: '/apis/apps/v1/namespaces/shop/deployments/web',
        verb,
        user: { username: SA('scaler'), groups: ['system:serviceaccounts'] },
        objectRef: { resource: 'deployments', namespace: 'shop', name: 'web', apiGroup: 'apps', apiVersion: 'v1' },
        responseStatus: { code: 200 },
        annotations,
        stageTimestamp: new Date().toISOString(),
      });
      const before = await s.store.ledgerSize();
      const r = await post<{ recorded: number; undecided: number }>('/audit', {
        apiVersion: 'audit.k8s.io/v1',
        kind: 'EventList',
        items: [
          event('a-1', { 'agents.tether.dev/ledger-index': String(index) }),
          event('a-2', {}),
          { ...event('a-3', {}), stage: 'RequestReceived' },
        ],
      });
      assert.deepEqual(r.body, { recorded: 2, undecided: 1 });
      const rows = await s.store.entries(before, before + 2);
      assert.deepEqual(
        rows.map((e) => [e.leaf.auditId, e.leaf.detail?.decisionIndex, e.leaf.detail?.undecided]),
        [
          ['a-1', Number(index), false],
          ['a-2', null, true],
        ],
      );
    });

    test('bad input: a precise 4xx, never a crash, never a ledger write', async () => {
      const size = await s.store.ledgerSize();
      const cases: [string, string | Buffer, RegExp][] = [
        ['/admission', '{"kind":', /not valid JSON/],
        [
          '/admission',
          JSON.stringify({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: {} }),
          /apiVersion: must be admission\.k8s\.io\/v1/,
        ],
        [
          '/admission',
          JSON.stringify({
            apiVersion: 'admission.k8s.io/v1',
            kind: 'AdmissionReview',
            request: { operation: 'CREATE' },
          }),
          /request\.uid: is required/,
        ],
        [
          '/admission',
          JSON.stringify({
            apiVersion: 'admission.k8s.io/v1',
            kind: 'AdmissionReview',
            request: { uid: 'u', operation: 'PATCH' },
          }),
          /request\.operation: must be one of/,
        ],
        [
          '/authorize',
          JSON.stringify({
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SubjectAccessReview',
            spec: { resourceAttributes: { verb: 'get' } },
          }),
          /spec\.user: is required/,
        ],
        [
          '/audit',
          JSON.stringify({
            apiVersion: 'audit.k8s.io/v1',
            kind: 'EventList',
            items: [{ auditID: 'x', stage: 'ResponseComplete', objectRef: { resource: 'pods' } }],
          }),
          /items\[0\]\.user/,
        ],
        ['/admission', Buffer.alloc(300 * 1024, 'a'), /too large|Request body is too large/i],
      ];
      for (const [path, raw, expected] of cases) {
        const r = await https<{ message: string }>(`${s.url}${path}`, { ca: s.caPem, raw });
        assert.ok(r.status >= 400 && r.status < 500, `${path}: ${r.status} ${r.text}`);
        assert.match(r.body.message, expected);
      }
      const unknownResource = await admit(
        admissionReview({
          username: SA('scaler'),
          group: 'widgets.example.com',
          resource: 'gizmos',
          namespace: 'shop',
          name: 'g',
          operation: 'CREATE',
          object: { metadata: { name: 'g', annotations: intent('make') } },
        }),
      );
      assert.equal(unknownResource.body.response.allowed, false, 'an unknown resource is simply outside the boundary');
      assert.equal(await s.store.ledgerSize(), size + 1, 'only the one valid review was recorded');
      assert.equal((await get('/healthz')).status, 200);
    });

    test('policy changes: narrowing applies at once, widening waits for an approval', async () => {
      const tighter = testPolicy({ scalerBudget: 1 });
      writePolicy(s.policyDir, tighter);
      await waitFor(async () => s.governor.policy.agents.get('scaler')?.budgets[0]?.maxMutations === 1);
      writePolicy(s.policyDir, testPolicy({ scalerBudget: 50 }));
      const pending = await waitFor(async () => {
        const r = await get<{ id: string; agent: string; summary: string }[]>(
          '/v1/expansions?status=pending',
          TOKENS.alice,
        );
        return r.body.find((x) => x.agent === 'scaler');
      });
      assert.match(pending.summary, /1 → 50 mutations/);
      assert.equal(
        s.governor.policy.agents.get('scaler')?.budgets[0]?.maxMutations,
        1,
        'the approved boundary stays enforced',
      );
      assert.equal(
        (await post(`/v1/expansions/${pending.id}/approve`, { reason: 'me' }, TOKENS.releaseAgent)).status,
        403,
      );
      const ok = await post(`/v1/expansions/${pending.id}/approve`, { reason: 'capacity review CR-42' }, TOKENS.bob);
      assert.equal(ok.status, 403, 'bob approves scaler actions only if listed; scaler lists no approvers');
      assert.equal(
        (await post(`/v1/expansions/${pending.id}/approve`, { reason: 'capacity review CR-42' }, TOKENS.root)).status,
        200,
      );
      await waitFor(async () => s.governor.policy.agents.get('scaler')?.budgets[0]?.maxMutations === 50);
    });

    test('metrics, notifications and the API need a token', async () => {
      const m = await get('/metrics');
      assert.match(
        m.text,
        /tether_decisions_total\{outcome="deny",rule="boundary\/namespace",class="autonomous",source="admission"\} \d+/,
      );
      assert.match(m.text, /tether_review_duration_seconds_count\{verdict="approved"\} [1-9]/);
      assert.match(m.text, /tether_pending_approvals \d+/);
      assert.match(m.text, /tether_store_duration_seconds_count\{op="commit"\} [1-9]/);
      assert.match(m.text, /tether_breaker_open\{scope="agent",key="scaler"\} (0\.5|0|1)/);
      assert.equal((await get('/v1/approvals')).status, 401);
      await waitFor(
        async () =>
          notices.some((n) => (n as { event: string }).event === 'approval.pending') &&
          notices.some((n) => (n as { event: string }).event === 'breaker.trip'),
      );
    });
  });
}

async function waitFor<T>(probe: () => Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
