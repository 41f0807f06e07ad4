// Owners over real HTTPS on both backends: "who is answerable for this change?" with the whole
// chain proven against a signed checkpoint (and a tampered entry caught), re-attestation as the
// owner's own ledgered act, orphans, and the owner report; the CLI as a client of the same API.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { leafHash } from '../../src/ledger/hash.ts';
import { leafData } from '../../src/ledger/leaf.ts';
import { verifyInclusion } from '../../src/ledger/proof.ts';
import type { OwnerReport } from '../../src/service/owner-report.ts';
import type { WhyAnswer } from '../../src/service/why.ts';
import { admissionReview, deploymentObject } from '../support/admission.ts';
import { https } from '../support/https.ts';
import { BACKENDS, behindTethersBack } from '../store/backends.ts';
import { SA, startTestServer, testPolicy, TOKENS } from './start.ts';

const run = promisify(execFile);
const CLI = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const intent = (summary: string) => ({ 'tether.dev/intent': JSON.stringify({ summary }) });
interface Review {
  response: { allowed: boolean; auditAnnotations: Record<string, string> };
}

const lapsedAgent = {
  apiVersion: 'tether.dev/v1alpha1',
  kind: 'Agent',
  metadata: { name: 'lapsed' },
  spec: {
    owner: { id: 'bob@example.com', attestedUntil: '2025-01-01T00:00:00Z' },
    authorityClass: 'autonomous',
    identities: [{ kind: 'ServiceAccount', namespace: 'agents', name: 'lapsed' }],
    boundary: {
      namespaces: ['shop'],
      rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'patch'] }],
    },
  },
};

const dueSoonAgent = {
  ...lapsedAgent,
  metadata: { name: 'due-soon' },
  spec: {
    ...lapsedAgent.spec,
    owner: { id: 'alice@example.com', attestedUntil: new Date(Date.now() + 3 * 86_400_000).toISOString() },
    identities: [{ kind: 'ServiceAccount', namespace: 'agents', name: 'due-soon' }],
  },
};

for (const backend of BACKENDS) {
  describe(`owners, why and reports on ${backend.name}`, { skip: backend.skip }, () => {
    let s: Awaited<ReturnType<typeof startTestServer>>;
    let storeUrl: string;
    let caFile: string;
    const post = <T>(path: string, body: unknown, token: string = TOKENS.root) =>
      https<T>(`${s.url}${path}`, { ca: s.caPem, body, token });
    const get = <T>(path: string, token: string = TOKENS.root) => https<T>(`${s.url}${path}`, { ca: s.caPem, token });
    const admit = (review: Record<string, unknown>) =>
      https<Review>(`${s.url}/admission`, { ca: s.caPem, body: review });
    const cliAs = (token: string, ...args: string[]) =>
      run(process.execPath, [CLI, ...args, '--server', s.url, '--ca', caFile, '--token', token], {
        encoding: 'utf8',
      }).catch((e: { stdout: string; code: number }) => e);
    const cli = (...args: string[]) => cliAs(TOKENS.root, ...args);
    const notices: { event: string; detail: Record<string, unknown> }[] = [];
    const receiver = createServer((req, res) => {
      let b = '';
      req.on('data', (c) => (b += c));
      req.on('end', () => {
        notices.push(JSON.parse(b));
        res.end();
      });
    });
    let approvedUid = '';
    const started = new Date().toISOString();

    before(async () => {
      storeUrl = await backend.fresh();
      await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
      const port = (receiver.address() as { port: number }).port;
      s = await startTestServer(storeUrl, {
        policy: [...testPolicy(), lapsedAgent, dueSoonAgent],
        notifications: [{ url: `http://127.0.0.1:${port}/hook`, format: 'json' }],
      });
      caFile = join(s.dataDir, 'ca-for-cli.crt');
      writeFileSync(caFile, s.caPem);
      // An approved change to shop/api by the supervised agent, its audit event and a drift finding after it.
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
      assert.equal(
        (await post(`/v1/approvals/${approvalId}/approve`, { reason: 'release window open' }, TOKENS.bob)).status,
        200,
      );
      const retry = review();
      approvedUid = (retry.request as { uid: string }).uid;
      assert.equal((await admit(retry)).body.response.allowed, true);
      await post('/audit', {
        apiVersion: 'audit.k8s.io/v1',
        kind: 'EventList',
        items: [
          {
            level: 'Metadata',
            auditID: approvedUid,
            stage: 'ResponseComplete',
            requestURI: '/apis/apps/v1/namespaces/shop/deployments/api',
            verb: 'update',
            user: { username: SA('release'), groups: ['system:serviceaccounts'] },
            objectRef: { resource: 'deployments', namespace: 'shop', name: 'api', apiGroup: 'apps', apiVersion: 'v1' },
            responseStatus: { code: 200 },
            stageTimestamp: new Date().toISOString(),
          },
        ],
      });
      await s.store.append({
        v: 1,
        time: new Date().toISOString(),
        kind: 'drift',
        agent: 'release',
        owner: 'alice@example.com',
        source: 'drift-detector',
        target: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'shop', name: 'api' },
        message: 'deployments.apps shop/api differs from Git at spec.replicas',
      });
    });
    after(async () => {
      await s?.close();
      receiver.close();
      await backend.cleanup();
    });

    test('why: the approved change with agent, owner, class, intent, approver, policy, audit event and drift, every entry proven', async () => {
      const r = await get<WhyAnswer>(`/v1/why?object=${encodeURIComponent('deployment/shop/api')}`);
      assert.equal(r.status, 200, r.text);
      const w = r.body;
      assert.equal(w.object, 'deployments.apps:shop/api');
      assert.equal(w.checkpoint?.signatureValid, true);
      assert.equal(w.changes.length, 1);
      const c = w.changes[0];
      assert.ok(c);
      assert.deepEqual(
        [c.agent, c.owner, c.authorityClass, c.verb],
        ['release', 'alice@example.com', 'supervised', 'update'],
      );
      assert.equal((c.intent as { summary: string }).summary, 'roll out v2');
      assert.equal(c.policyVersion, s.governor.policy.version);
      assert.equal(c.approvals[0]?.verdicts[0]?.leaf.actor, 'bob@example.com');
      assert.equal(c.approvals[0]?.request?.leaf.decision, 'pending');
      assert.equal(c.audit[0]?.leaf.auditId, approvedUid);
      assert.match(c.drift[0]?.leaf.message ?? '', /spec\.replicas/);
      const proofs = [c.change, c.approvals[0]?.request, ...(c.approvals[0]?.verdicts ?? []), ...c.audit, ...c.drift];
      assert.equal(proofs.length, 5);
      for (const p of proofs) assert.equal(p?.proof.verified, true, JSON.stringify(p?.proof));
      // Anyone can walk the returned paths to the signed root themselves.
      const root = Buffer.from(w.checkpoint?.root ?? '', 'hex');
      for (const p of proofs) {
        assert.ok(p);
        const text = leafData(p.index, p.leaf);
        assert.ok(
          verifyInclusion(
            p.index,
            p.proof.treeSize,
            leafHash(text),
            p.proof.path.map((h) => Buffer.from(h, 'hex')),
            root,
          ),
          `entry ${p.index} walks to the signed root`,
        );
      }
      assert.equal(w.attempts.length, 1, 'the first, pending attempt is listed as not done');
      const again = await get<WhyAnswer>(
        `/v1/why?object=${encodeURIComponent('deployments.apps/shop/api')}&at=${encodeURIComponent(started)}`,
      );
      assert.equal(again.body.changes.length, 0, 'nothing had changed yet at the start');
    });

    test('why: bad object references and times are 400s', async () => {
      for (const q of ['object=', 'object=web', 'object=a/b/c/d', `object=deployment/shop/api&at=yesterday-ish`]) {
        const r = await get<{ message: string }>(`/v1/why?${q}`);
        assert.equal(r.status, 400, `${q}: ${r.text}`);
      }
    });

    test('tether why prints the chain and exits 0 when every proof holds', async () => {
      const r = (await cli('why', 'deployment/shop/api')) as { stdout: string; code?: number };
      assert.equal(r.code ?? 0, 0, r.stdout);
      assert.match(r.stdout, /update by agent release \(supervised\), owner alice@example\.com/);
      assert.match(r.stdout, /approved by bob@example\.com: release window open \[#\d+ ✓\]/);
      assert.match(r.stdout, new RegExp(`audit event ${approvedUid}`));
    });

    test('owners: list and orphans; only the owner attests, with a reason and a future date; attestation is ledgered and restores the agent', async () => {
      const listed = (await cli('owners', 'orphans')) as { stdout: string; code?: number };
      assert.equal(listed.code, 1, 'orphans exits 1 while there are any');
      assert.match(listed.stdout, /lapsed\s+bob@example\.com\s+attestation-lapsed/);
      const orphans = await get<{ agent: string; status: string }[]>('/v1/owners/orphans');
      assert.deepEqual(
        orphans.body.map((o) => [o.agent, o.status]),
        [['lapsed', 'attestation-lapsed']],
      );
      const act = () =>
        post<{ outcome: string; reasons: { rule: string }[] }>('/v1/decide', {
          subject: { username: SA('lapsed'), groups: [] },
          verb: 'patch',
          target: { group: 'apps', resource: 'deployments', namespace: 'shop', name: 'web' },
          intent: { summary: 'canary step' },
        });
      assert.equal((await act()).body.reasons[0]?.rule, 'accountability/owner-attestation-expired');
      const until = new Date(Date.now() + 30 * 86_400_000).toISOString();
      const body = { agent: 'lapsed', until, reason: 'still running the canary analysis' };
      assert.equal((await post('/v1/owners/attest', body, TOKENS.alice)).status, 403, 'not the owner');
      assert.equal((await post('/v1/owners/attest', body, TOKENS.releaseAgent)).status, 403, 'an agent token');
      assert.equal((await post('/v1/owners/attest', { ...body, reason: ' ' }, TOKENS.bob)).status, 400);
      assert.equal((await post('/v1/owners/attest', { ...body, until: '2020-01-01' }, TOKENS.bob)).status, 400);
      assert.equal((await post('/v1/owners/attest', { ...body, until: 'soon' }, TOKENS.bob)).status, 400);
      assert.equal((await post('/v1/owners/attest', { ...body, agent: 'nope' }, TOKENS.bob)).status, 404);
      const ok = await post<{ ledgerIndex: number }>('/v1/owners/attest', body, TOKENS.bob);
      assert.equal(ok.status, 200, ok.text);
      const [entry] = await s.store.entries(ok.body.ledgerIndex, ok.body.ledgerIndex + 1);
      assert.deepEqual(
        [entry?.leaf.kind, entry?.leaf.actor, entry?.leaf.detail?.event],
        ['owner', 'bob@example.com', 'attested'],
      );
      const listedOwnerEntries = await get<{ index: number }[]>('/v1/ledger?kind=owner');
      assert.ok(
        listedOwnerEntries.body.some((e) => e.index === ok.body.ledgerIndex),
        'the ledger API filters by kind owner',
      );
      assert.equal((await act()).body.outcome, 'allow');
      assert.deepEqual((await get<unknown[]>('/v1/owners/orphans')).body, []);
      const clean = (await cli('owners', 'orphans')) as { stdout: string; code?: number };
      assert.equal(clean.code ?? 0, 0, clean.stdout);
      const viaCli = (await cliAs(
        TOKENS.bob,
        'owners',
        'attest',
        'lapsed',
        '--until',
        until,
        '--reason',
        'renewed from the CLI',
      )) as { stdout: string; code?: number };
      assert.match(viaCli.stdout, /lapsed: ownership attested until .* \(ledger #\d+\)/);
      const notMine = (await cliAs(TOKENS.alice, 'owners', 'attest', 'lapsed', '--until', until, '--reason', 'x')) as {
        stderr: string;
        code?: number;
      };
      assert.equal(notMine.code, 1);
      assert.match(notMine.stderr, /403 only the owner \(bob@example\.com\) attests/);
      const list = await get<{ owner: string; agents: { agent: string; attestedUntil?: string }[] }[]>('/v1/owners');
      const bob = list.body.find((o) => o.owner === 'bob@example.com');
      assert.equal(bob?.agents.find((a) => a.agent === 'lapsed')?.attestedUntil, until);
    });

    test('an attestation that lapses within the reminder window is announced to the owner, once', async () => {
      for (let i = 0; i < 100 && !notices.some((n) => n.event === 'owner.attestation-due'); i++)
        await new Promise((r) => setTimeout(r, 50));
      const due = notices.filter((n) => n.event === 'owner.attestation-due');
      assert.deepEqual(
        due.map((n) => [n.detail.agent, n.detail.owner]),
        [['due-soon', 'alice@example.com']],
      );
    });

    test('report: the owner’s agents and what they did, verifiable; Markdown and JSON; bad input 400', async () => {
      const r = await get<OwnerReport>(`/v1/report?owner=alice@example.com&since=${encodeURIComponent(started)}`);
      assert.equal(r.status, 200, r.text);
      const release = r.body.agents.find((a) => a.agent === 'release');
      assert.deepEqual([release?.actions.allowed, release?.actions.pending], [1, 1]);
      assert.equal(release?.approvals[0]?.by, 'bob@example.com');
      assert.equal(r.body.checkpoint?.signatureValid, true);
      assert.ok(!r.body.agents.some((a) => a.agent === 'lapsed'), "bob's agent is not in alice's report");
      const md = await https(
        `${s.url}/v1/report?owner=alice@example.com&since=${encodeURIComponent(started)}&format=markdown`,
        { ca: s.caPem, token: TOKENS.root },
      );
      assert.match(md.text, /^# Agents owned by alice@example\.com/);
      assert.match(md.text, /approval .*: approved by bob@example\.com/);
      assert.match(md.text, /Verifiable against signed checkpoint: size \d+/);
      for (const q of [
        'since=2026-01-01',
        'owner=alice@example.com',
        'owner=alice@example.com&since=never',
        'owner=a&since=2026-02-01&until=2026-01-01',
      ])
        assert.equal((await get(`/v1/report?${q}`)).status, 400, q);
    });

    test('attacker: an agent token reads no owners, orphans, why or report (they span every agent)', async () => {
      for (const path of [
        '/v1/owners',
        '/v1/owners/orphans',
        `/v1/why?object=${encodeURIComponent('deployment/shop/api')}`,
        `/v1/report?owner=alice@example.com&since=${encodeURIComponent(started)}`,
      ]) {
        const r = await get<{ error: string }>(path, TOKENS.releaseAgent);
        assert.equal(r.status, 403, path);
        assert.equal(r.body.error, 'forbidden');
      }
    });

    test('attacker: a verdict rewritten in the database (text and hash) is reported unproven', async () => {
      const w = (await get<WhyAnswer>(`/v1/why?object=${encodeURIComponent('deployment/shop/api')}`)).body;
      const verdict = w.changes[0]?.approvals[0]?.verdicts[0];
      assert.ok(verdict);
      const forged = leafData(verdict.index, { ...verdict.leaf, actor: 'mallory@example.com' });
      await behindTethersBack(storeUrl, 'UPDATE ledger SET data = ?, leaf_hash = ? WHERE idx = ?', [
        forged,
        leafHash(forged),
        verdict.index,
      ]);
      const after = (await get<WhyAnswer>(`/v1/why?object=${encodeURIComponent('deployment/shop/api')}`)).body;
      const v = after.changes[0]?.approvals[0]?.verdicts[0];
      assert.equal(v?.leaf.actor, 'mallory@example.com');
      assert.equal(v?.proof.verified, false);
      assert.equal(after.changes[0]?.change.proof.verified, true, 'the untouched entries still prove');
      const r = (await cli('why', 'deployment/shop/api')) as { stdout: string; code?: number };
      assert.equal(r.code, 1, 'the CLI exits non-zero when a proof fails');
    });
  });
}
