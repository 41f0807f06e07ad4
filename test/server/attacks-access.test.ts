// Issue 12, items 10 and 11, over real HTTPS: an agent token reads only its own agent, approvals
// and decisions, cannot sign or verify the ledger, and cannot dress a decision up as a webhook's.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { admissionReview, deploymentObject } from '../support/admission.ts';
import { https } from '../support/https.ts';
import { tempDir } from '../store/backends.ts';
import { agent, SA, startTestServer, testPolicy, TOKENS } from './start.ts';

interface Review {
  response: { allowed: boolean; auditAnnotations: Record<string, string> };
}

const intent = (summary: string) => ({ 'tether.dev/intent': JSON.stringify({ summary }) });

/** The test policy plus `deployer`, a second supervised agent whose approvals `release` must not see. */
const policy = () => [
  ...testPolicy(),
  agent('deployer', {
    authorityClass: 'supervised',
    approvers: ['bob@example.com'],
    boundary: { namespaces: ['shop'], rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['update'] }] },
  }),
];

let s: Awaited<ReturnType<typeof startTestServer>>;
const post = <T>(path: string, body: unknown, token?: string) =>
  https<T>(`${s.url}${path}`, { ca: s.caPem, body, token });
const get = <T>(path: string, token?: string) => https<T>(`${s.url}${path}`, { ca: s.caPem, token });
const pendingFor = async (name: string, deployment: string) => {
  const r = await post<Review>(
    '/admission',
    admissionReview({
      username: SA(name),
      resource: 'deployments',
      namespace: 'shop',
      name: deployment,
      object: deploymentObject(deployment, 5, intent(`update ${deployment}`)),
      oldObject: deploymentObject(deployment, 1),
    }),
  );
  assert.equal(r.body.response.allowed, false);
  return r.body.response.auditAnnotations.approval as string;
};

let mine: string;
let theirs: string;
before(async () => {
  s = await startTestServer(`sqlite:${join(tempDir(), 't.db')}`, { policy: policy() });
  mine = await pendingFor('release', 'api');
  theirs = await pendingFor('deployer', 'web');
});
after(async () => s?.close());

describe('item 10: what an agent token may read', () => {
  test('attacker: an agent token lists only its own agent; other specs are not found', async () => {
    const agents = await get<{ name: string }[]>('/v1/agents', TOKENS.releaseAgent);
    assert.deepEqual(
      agents.body.map((a) => a.name),
      ['release'],
    );
    assert.equal((await get('/v1/agents/deployer', TOKENS.releaseAgent)).status, 404);
    assert.equal((await get('/v1/agents/release', TOKENS.releaseAgent)).status, 200);
    assert.ok((await get<{ name: string }[]>('/v1/agents', TOKENS.alice)).body.length >= 5, 'humans see every agent');
  });

  test("attacker: an agent token sees its own approvals, never another agent's", async () => {
    const listed = await get<{ id: string; agent: string }[]>('/v1/approvals', TOKENS.releaseAgent);
    assert.ok(listed.body.some((a) => a.id === mine));
    assert.ok(listed.body.every((a) => a.agent === 'release'));
    assert.deepEqual((await get<unknown[]>('/v1/approvals?agent=deployer', TOKENS.releaseAgent)).body, []);
    assert.equal((await get(`/v1/approvals/${theirs}`, TOKENS.releaseAgent)).status, 404);
    assert.equal((await get(`/v1/approvals/${theirs}`, TOKENS.alice)).status, 200, 'humans see all');
  });

  test("attacker: an agent token reads only its own agent's ledger entries", async () => {
    const own = await get<{ leaf: { agent?: string } }[]>('/v1/ledger?limit=1000', TOKENS.releaseAgent);
    assert.ok(own.body.length > 0);
    assert.ok(own.body.every((e) => e.leaf.agent === 'release'));
    assert.deepEqual((await get<unknown[]>('/v1/ledger?agent=deployer', TOKENS.releaseAgent)).body, []);
    const all = await get<{ leaf: { agent?: string } }[]>('/v1/ledger?limit=1000', TOKENS.alice);
    assert.ok(
      all.body.some((e) => e.leaf.agent === 'deployer'),
      'humans read the whole ledger',
    );
    const breakers = await get<{ breakers: { key: string }[] }>('/v1/breakers', TOKENS.releaseAgent);
    assert.ok(breakers.body.breakers.every((b) => b.key === 'release'));
  });

  test('attacker: an agent token cannot read owners, "why" or owner reports (they span every agent); a human can', async () => {
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const paths = [
      '/v1/owners',
      '/v1/owners/orphans',
      '/v1/why?object=deployments.apps/shop/web',
      `/v1/report?owner=alice@example.com&since=${since}`,
    ];
    for (const path of paths) {
      const r = await get(path, TOKENS.releaseAgent);
      assert.equal(r.status, 403, `${path}: ${r.text}`);
      assert.equal((await get(path, TOKENS.alice)).status, 200, `${path} for a human`);
    }
  });

  test('attacker: an agent token cannot sign a checkpoint or run verify; a human can', async () => {
    const size = (await s.store.checkpoints()).length;
    assert.equal((await post('/v1/ledger/checkpoint', {}, TOKENS.releaseAgent)).status, 403);
    assert.equal((await get('/v1/ledger/verify', TOKENS.releaseAgent)).status, 403);
    assert.equal((await s.store.checkpoints()).length, size, 'nothing was signed');
    assert.equal((await post('/v1/ledger/checkpoint', {}, TOKENS.alice)).status, 200);
    assert.equal((await get('/v1/ledger/verify', TOKENS.alice)).status, 200);
  });
});

describe('item 11: the source of a decision is the route it arrived on', () => {
  const question = (extra: Record<string, unknown>) => ({
    verb: 'update',
    target: { group: 'apps', resource: 'deployments', namespace: 'shop', name: 'api' },
    intent: 'check',
    ...extra,
  });

  test('attacker: an agent token cannot make a decide entry look like a webhook entry', async () => {
    const size = await s.store.ledgerSize();
    const spoofed = await post<{ message: string }>(
      '/v1/decide',
      question({ source: 'admission', requestId: 'c0ffee-audit-id' }),
      TOKENS.releaseAgent,
    );
    assert.equal(spoofed.status, 400);
    assert.match(spoofed.body.message, /source/);
    assert.equal(
      (await post('/v1/decide', question({ requestId: 'c0ffee-audit-id' }), TOKENS.releaseAgent)).status,
      400,
    );
    assert.equal(
      (await post('/v1/decide', question({ source: 'audit' }), TOKENS.alice)).status,
      400,
      'nor can a human',
    );
    assert.equal(await s.store.ledgerSize(), size, 'nothing was recorded');

    const honest = await post<{ ledgerIndex: number }>('/v1/decide', question({}), TOKENS.releaseAgent);
    assert.equal(honest.status, 200, honest.text);
    const [entry] = await s.store.entries(honest.body.ledgerIndex, honest.body.ledgerIndex + 1);
    assert.equal(entry?.leaf.source, 'api');
    assert.equal(entry?.leaf.auditId, undefined);
  });
});
