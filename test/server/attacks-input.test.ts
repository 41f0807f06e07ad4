// Issue 12, items 6, 7 (sizes, paging, counts) and 12 (ttlSeconds), on SQLite and PostgreSQL:
// bad input gets a precise 4xx and loses nothing: no 5xx, no partial write.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RULES } from '../../src/engine/decision.ts';
import { admissionReview, deploymentObject } from '../support/admission.ts';
import { https } from '../support/https.ts';
import { BACKENDS } from '../store/backends.ts';
import { agent, SA, startTestServer, testPolicy, TOKENS } from './start.ts';

/** The test policy, with an oscillation breaker watching spec.replicas (so audit events feed field history). */
const policy = () => [
  ...testPolicy(),
  agent('hpa-watcher', {
    authorityClass: 'autonomous',
    boundary: { namespaces: ['shop'], rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['update'] }] },
    breaker: { maxViolations: 5, window: '5m', oscillation: { fields: ['spec.replicas'], maxFlips: 3, window: '10m' } },
  }),
];

/** `depth` nested arrays around a value: the shape that overflows recursive walkers. */
const nested = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

const auditEvent = (auditID: string, stageTimestamp: string) => ({
  auditID,
  stage: 'ResponseComplete',
  verb: 'update',
  user: { username: SA('scaler') },
  objectRef: { resource: 'deployments', apiGroup: 'apps', apiVersion: 'v1', namespace: 'shop', name: 'web' },
  responseStatus: { code: 200 },
  responseObject: deploymentObject('web', 4),
  stageTimestamp,
});

for (const backend of BACKENDS) {
  describe(`bad input on ${backend.name}`, { skip: backend.skip }, () => {
    let s: Awaited<ReturnType<typeof startTestServer>>;
    const req = <T>(path: string, opts: { body?: unknown; raw?: string; token?: string } = {}) =>
      https<T>(`${s.url}${path}`, { ca: s.caPem, ...opts });
    before(async () => {
      s = await startTestServer(await backend.fresh(), { policy: policy() });
    });
    after(async () => {
      await s?.close();
      await backend.cleanup();
    });

    test('attacker: an EventList with one good item and one bad time is refused whole, and a retry records nothing either', async () => {
      const size = await s.store.ledgerSize();
      const list = {
        apiVersion: 'audit.k8s.io/v1',
        kind: 'EventList',
        items: [auditEvent('good-1', new Date().toISOString()), auditEvent('bad-2', 'yesterday-ish')],
      };
      for (const attempt of [1, 2]) {
        const r = await req<{ message: string }>('/audit', { body: list });
        assert.equal(r.status, 400, `attempt ${attempt}: ${r.text}`);
        assert.match(r.body.message, /items\[1\]\.stageTimestamp/);
        assert.equal(await s.store.ledgerSize(), size, `attempt ${attempt}: nothing recorded`);
      }
      const fixed = await req<{ recorded: number }>('/audit', { body: { ...list, items: [list.items[0]] } });
      assert.equal(fixed.status, 200);
      assert.equal(fixed.body.recorded, 1);
    });

    test('attacker: nesting 9,000 deep in /admission and /v1/decide is a 400, not a 500', async () => {
      const size = await s.store.ledgerSize();
      const review = admissionReview({
        username: SA('scaler'),
        resource: 'deployments',
        namespace: 'shop',
        name: 'web',
        object: deploymentObject('web', 2),
      });
      const deepReview = JSON.stringify(review).replace('"spec":{', `"deep":${nested(9000)},"spec":{`);
      const a = await req<{ message: string }>('/admission', { raw: deepReview });
      assert.equal(a.status, 400, a.text);
      assert.match(a.body.message, /nests deeper than/);
      const question = {
        verb: 'update',
        target: { group: 'apps', resource: 'deployments', namespace: 'shop', name: 'web' },
        intent: 'x',
      };
      const deepQuestion = JSON.stringify(question).replace('"intent"', `"object":{"spec":${nested(9000)}},"intent"`);
      assert.equal((await req('/v1/decide', { raw: deepQuestion, token: TOKENS.releaseAgent })).status, 400);
      assert.equal(await s.store.ledgerSize(), size);
      // A Kubernetes-deep object is fine.
      const ok = await req('/v1/decide', {
        raw: JSON.stringify(question).replace('"intent"', `"object":{"spec":${nested(40)}},"intent"`),
        token: TOKENS.releaseAgent,
      });
      assert.equal(ok.status, 200, ok.text);
    });

    test('attacker: fractional, negative and repeated query values get precise 400s', async () => {
      const cases: [string, RegExp][] = [
        ['/v1/ledger?limit=1.5', /limit: must be a whole number/],
        ['/v1/ledger?limit=-1', /limit: must be a whole number from 1 to 1000/],
        ['/v1/ledger?limit=100000', /limit/],
        ['/v1/approvals?status=a&status=b', /status: may be given once/],
        ['/v1/approvals?status=maybe', /status: must be one of pending, approved, denied/],
        ['/v1/ledger?since=yesterday', /since: must be a time/],
        ['/v1/ledger?kind=secret', /kind: must be one of/],
        ['/v1/ledger?cursor=not-a-cursor', /cursor/],
        ['/v1/why?object=a&object=b', /object: may be given once/],
        [`/v1/report?owner=a&owner=b&since=${new Date().toISOString()}`, /owner: may be given once/],
      ];
      for (const [path, message] of cases) {
        const r = await req<{ message: string }>(path, { token: TOKENS.alice });
        assert.equal(r.status, 400, `${path}: ${r.text}`);
        assert.match(r.body.message, message, path);
      }
    });

    test(`attacker: a NUL in a name is a 400 on ${backend.name}, wherever it is written`, async () => {
      const size = await s.store.ledgerSize();
      const paths = [
        '/v1/approvals/ap%00x',
        '/v1/ledger?agent=re%00lease',
        '/v1/approvals?agent=re%00lease',
        '/v1/expansions?agent=x%00',
      ];
      paths.push(
        '/v1/why?object=deployments.apps/shop/w%00eb',
        `/v1/report?owner=a%00b&since=${new Date().toISOString()}`,
      );
      for (const path of paths) {
        const r = await req(path, { token: TOKENS.alice });
        assert.equal(r.status, 400, `${path}: ${r.text}`);
      }
      const review = admissionReview({
        username: SA('scaler'),
        resource: 'deployments',
        namespace: 'shop',
        name: 'we\u0000b',
        object: deploymentObject('we\u0000b', 2),
      });
      assert.equal((await req('/admission', { body: review })).status, 400);
      const question = {
        verb: 'update',
        target: { group: 'apps', resource: 'deployments', namespace: 'shop', name: 'a\u0000b' },
        intent: 'x',
      };
      assert.equal((await req('/v1/decide', { body: question, token: TOKENS.releaseAgent })).status, 400);
      const event = {
        ...auditEvent('nul', new Date().toISOString()),
        objectRef: { resource: 'deployments', namespace: 'shop', name: 'a\u0000b' },
      };
      assert.equal(
        (await req('/audit', { body: { apiVersion: 'audit.k8s.io/v1', kind: 'EventList', items: [event] } })).status,
        400,
      );
      assert.equal(await s.store.ledgerSize(), size);
    });

    test('attacker: ttlSeconds that is not a whole number of seconds in range is refused', async () => {
      for (const ttlSeconds of ['60', [5], true, 0.0001, 0, -5, 86_401, null]) {
        const r = await req<{ message: string }>('/v1/intents', {
          body: { intent: 'rotate', ttlSeconds },
          token: TOKENS.releaseAgent,
        });
        assert.equal(r.status, 400, `${JSON.stringify(ttlSeconds)}: ${r.text}`);
        assert.match(r.body.message, /ttlSeconds/);
      }
      assert.equal(
        (await req('/v1/intents', { body: { intent: 'rotate', ttlSeconds: 60 }, token: TOKENS.releaseAgent })).status,
        200,
      );
    });

    test('attacker: intents and reasons are capped; 20 large intents do not reach the store', async () => {
      const big = 'x'.repeat(100_000);
      const size = await s.store.ledgerSize();
      for (let i = 0; i < 20; i++) {
        const r = await req<{ message: string }>('/v1/intents', {
          body: { intent: { summary: big } },
          token: TOKENS.releaseAgent,
        });
        assert.equal(r.status, 400);
        assert.match(r.body.message, /at most 2000 characters/);
      }
      const goal = await req('/v1/intents', {
        body: { intent: { summary: 'ok', goal: big } },
        token: TOKENS.releaseAgent,
      });
      assert.equal(goal.status, 400);
      const question = {
        verb: 'update',
        target: { group: 'apps', resource: 'deployments', namespace: 'shop', name: 'web' },
        intent: big,
      };
      assert.equal((await req('/v1/decide', { body: question, token: TOKENS.releaseAgent })).status, 400);
      assert.equal(
        (await req('/v1/breakers/reset', { body: { target: 'scaler', reason: big }, token: TOKENS.root })).status,
        400,
      );
      assert.equal(await s.store.ledgerSize(), size);
    });

    test('lists are paged: the whole ledger comes back once across pages, never in one answer', async () => {
      for (let i = 0; i < 30; i++)
        await s.store.append({
          v: 1,
          time: new Date().toISOString(),
          kind: 'intent',
          agent: 'release',
          message: `filler ${i}`,
        });
      const total = await s.store.ledgerSize();
      const first = await req<unknown[]>('/v1/ledger', { token: TOKENS.alice });
      assert.ok(first.body.length <= 100);
      const seen: number[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const r = await https<{ index: number }[]>(`${s.url}/v1/ledger?limit=7${cursor ? `&cursor=${cursor}` : ''}`, {
          ca: s.caPem,
          token: TOKENS.alice,
        });
        assert.equal(r.status, 200);
        assert.ok(r.body.length <= 7);
        seen.push(...r.body.map((e) => e.index));
        cursor = r.headers['x-next-cursor'] as string | undefined;
        pages++;
      } while (cursor && pages < 100);
      assert.deepEqual(
        seen,
        Array.from({ length: total }, (_, i) => i),
      );
    });

    test('breakers are paged: tripped chains cannot make one answer unbounded', async () => {
      const now = Date.now();
      const leaf = {
        v: 1,
        time: new Date(now).toISOString(),
        kind: 'decision',
        agent: 'scaler',
        decision: 'deny',
      } as const;
      for (let i = 0; i < 5; i++) {
        const trip = {
          kind: 'breaker.trip',
          scope: 'chain',
          key: `chain-${i}`,
          reason: 'depth',
          rule: RULES.chainDepth,
        } as const;
        await s.store.commit(leaf, [trip], now);
      }
      const keys: string[] = [];
      let cursor: string | undefined;
      do {
        const r = await req<{ breakers: { scope: string; key: string }[] }>(
          `/v1/breakers?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
          { token: TOKENS.alice },
        );
        assert.ok(r.body.breakers.length <= 2);
        keys.push(...r.body.breakers.map((b) => `${b.scope}:${b.key}`));
        cursor = r.headers['x-next-cursor'] as string | undefined;
      } while (cursor);
      assert.deepEqual(
        keys.filter((k) => k.startsWith('chain:')),
        ['chain:chain-0', 'chain:chain-1', 'chain:chain-2', 'chain:chain-3', 'chain:chain-4'],
      );
      assert.equal(new Set(keys).size, keys.length, 'each breaker once');
      const agentView = await req<{ breakers: { scope: string }[] }>('/v1/breakers', { token: TOKENS.releaseAgent });
      assert.ok(agentView.body.breakers.every((b) => b.scope === 'agent'));
    });

    test('the agents list is paged too, with its true count', async () => {
      const names: string[] = [];
      let cursor: string | undefined;
      do {
        const r = await req<{ name: string }[]>(`/v1/agents?limit=2${cursor ? `&cursor=${cursor}` : ''}`, {
          token: TOKENS.alice,
        });
        assert.ok(r.body.length <= 2);
        assert.equal(r.headers['x-total-count'], '5');
        names.push(...r.body.map((a) => a.name));
        cursor = r.headers['x-next-cursor'] as string | undefined;
      } while (cursor);
      assert.deepEqual(names, ['hpa-watcher', 'reader', 'release', 'scaler', 'trial'], 'each agent once, by name');
    });
  });
}
