// The reviewer's console against a real `tether serve` (HTTPS, SQLite) with real data: admission
// reviews, decision API calls, the drift detector's findings, a policy widening. First the API a
// person and an agent may use, then a real Chromium: approve from the diff and see the retry pass,
// follow a chain of three hops, verify a proof in the page and see a tampered one fail, watch the
// queue and breakers change without a reload, at laptop and phone widths. The screenshots in
// docs/console/ come from here (UPDATE_SCREENSHOTS=1 writes them there; otherwise to a temp folder).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { agentDirectoryFromPolicy } from '../../src/analysis/drift/actors.ts';
import { driftCommand } from '../../src/cli/commands/drift.ts';
import { objectKey } from '../../src/engine/action.ts';
import { admissionReview, deploymentObject } from '../support/admission.ts';
import { https } from '../support/https.ts';
import { SA, startTestServer, TOKENS, testPolicy, writePolicy } from '../server/start.ts';
import { tempDir } from '../store/backends.ts';

const CHROMIUM = '/usr/bin/chromium';
const NO_CHROMIUM = `${CHROMIUM} is missing: the browser half of the review console tests is SKIPPED (apt-get install chromium)`;
const SHOTS = process.env.UPDATE_SCREENSHOTS
  ? fileURLToPath(new URL('../../docs/console/', import.meta.url))
  : tempDir('tether-console-shots-');
const APPROVAL_CHAIN = 'trace-rollout-7f3a';
const THREE_HOPS = '4bf92f3577b34da6a3ce929d0e0e4736';

type Server = Awaited<ReturnType<typeof startTestServer>>;
interface Review {
  response: { allowed: boolean; status?: { message?: string }; auditAnnotations: Record<string, string> };
}

const annotations = (summary: string, chain?: unknown, approval?: string): Record<string, string> => ({
  'tether.dev/intent': JSON.stringify({
    summary,
    goal: 'checkout p99 under 300 ms',
    trigger: 'alert:CheckoutLatencyHigh',
  }),
  ...(chain ? { 'tether.dev/chain': JSON.stringify(chain) } : {}),
  ...(approval ? { 'tether.dev/approval': approval } : {}),
});

function rollout(replicas: number, image: string, ann: Record<string, string>) {
  const o = deploymentObject('api', replicas, ann) as {
    spec: { template: { spec: { containers: { image: string }[] } } };
  };
  (o.spec.template.spec.containers[0] as { image: string }).image = image;
  return o;
}

describe('review console', () => {
  let s: Server;
  const admit = (body: unknown) => https<Review>(`${s.url}/admission`, { ca: s.caPem, body });
  const get = <T>(path: string, token: string) => https<T>(`${s.url}${path}`, { ca: s.caPem, token });
  const post = <T>(path: string, body: unknown, token: string) =>
    https<T>(`${s.url}${path}`, { ca: s.caPem, body, token });
  const decide = (agent: string, verb: string, resource: string, chain: unknown, group = 'apps') =>
    post<{ outcome: string }>(
      '/v1/decide',
      {
        subject: { username: SA(agent), groups: ['system:serviceaccounts'] },
        verb,
        target: { group, version: 'v1', resource, namespace: 'shop', name: resource === 'pods' ? 'api-0' : 'web' },
        intent: { summary: 'investigate checkout latency' },
        chain,
      },
      TOKENS.root,
    );
  const rolloutReview = (ann: Record<string, string>, replicas = 4) =>
    admissionReview({
      username: SA('release'),
      resource: 'deployments',
      namespace: 'shop',
      name: 'api',
      object: rollout(replicas, 'api:v2', ann),
      oldObject: deploymentObject('api', 2),
    });
  let approvalId: string;

  before(async () => {
    s = await startTestServer(`sqlite:${join(tempDir(), 'tether.db')}`);
    mkdirSync(SHOTS, { recursive: true });
    // A pending rollout in a chain of its own: release is supervised, so it waits for bob.
    const pending = await admit(
      rolloutReview(annotations('roll out api v2', { id: APPROVAL_CHAIN, depth: 0, path: [] })),
    );
    assert.equal(pending.body.response.allowed, false);
    approvalId = pending.body.response.auditAnnotations.approval as string;
    assert.ok(approvalId);

    // A chain of three hops: scaler (allowed read, then two refused deletes that trip its breaker)
    // → release (refused: scaler may not invoke it) → reader (refused: release may not invoke it).
    assert.equal(
      (await decide('scaler', 'get', 'deployments', { id: THREE_HOPS, depth: 0, path: [] })).body.outcome,
      'allow',
    );
    for (let i = 0; i < 2; i++)
      assert.equal(
        (await decide('scaler', 'delete', 'deployments', { id: THREE_HOPS, depth: 0, path: [] })).body.outcome,
        'deny',
      );
    const hop2 = await admit(
      admissionReview({
        username: SA('release'),
        resource: 'deployments',
        namespace: 'shop',
        name: 'web',
        object: deploymentObject('web', 3, annotations('scale web', { id: THREE_HOPS, depth: 1, path: ['scaler'] })),
        oldObject: deploymentObject('web', 2),
      }),
    );
    assert.equal(hop2.body.response.allowed, false);
    assert.equal(
      (await decide('reader', 'get', 'pods', { id: THREE_HOPS, depth: 2, path: ['scaler', 'release'] }, '')).body
        .outcome,
      'deny',
    );

    // Drift, found by the real detector: Git says api runs 2 replicas, the cluster runs 4.
    const repo = tempDir('tether-gitops-');
    const desired = deploymentObject('api', 2) as { metadata: Record<string, unknown>; status?: unknown };
    desired.metadata = { name: 'api', namespace: 'shop' };
    delete desired.status;
    writeFileSync(join(repo, 'api.yaml'), stringify(desired));
    const live = join(tempDir(), 'live.yaml');
    const liveObj = deploymentObject('api', 4) as { metadata: Record<string, unknown> };
    liveObj.metadata.managedFields = [
      {
        manager: 'kubectl',
        operation: 'Update',
        apiVersion: 'apps/v1',
        time: new Date().toISOString(),
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:spec': { 'f:replicas': {} } },
      },
    ];
    writeFileSync(live, stringify({ apiVersion: 'v1', kind: 'List', items: [liveObj] }));
    await driftCommand(
      { repo, live, namespace: 'shop', output: 'json' },
      {
        agents: agentDirectoryFromPolicy(s.governor.policy),
        ledger: {
          decisionsFor: async (t) =>
            (await s.store.queryLedger({ object: objectKey({ ...t, version: '' }) })).map((e) => e.leaf),
        },
        recordLeaves: async (leaves) => void (await Promise.all(leaves.map((l) => s.store.append(l)))),
        write: () => undefined,
      },
    );

    // A boundary expansion: the policy now asks for another namespace for scaler.
    const wider = testPolicy().map((d) =>
      (d.metadata as { name: string }).name === 'scaler' && d.kind === 'Agent'
        ? {
            ...d,
            spec: {
              ...(d.spec as object),
              boundary: { ...(d.spec as { boundary: object }).boundary, namespaces: ['shop', 'payments'] },
            },
          }
        : d,
    );
    writePolicy(s.policyDir, wider);
    for (let i = 0; i < 100 && (await s.store.expansions({ status: 'pending' })).length === 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.equal((await s.store.expansions({ status: 'pending' })).length, 1, 'the widening waits for a human');
  });
  after(async () => {
    await s?.close();
  });

  test('API: an approval as a reviewer sees it: the diff, the intent, its chain, who may decide', async () => {
    const d = await get<{
      diff: { kind: string; changes: { path: string; before: unknown; after: unknown }[] };
      request: { intent: { summary: string }; chain: { id: string }; rules: string[] };
      agent: { name: string; owner: string; authorityClass: string };
      you: { mayDecide: boolean };
    }>(`/v1/review/approvals/${approvalId}`, TOKENS.bob);
    assert.equal(d.status, 200, d.text);
    assert.equal(d.body.diff.kind, 'update');
    assert.deepEqual(
      d.body.diff.changes.map((c) => [c.path, c.before, c.after]),
      [
        ['spec.replicas', 2, 4],
        ['spec.template.spec.containers[name=server].image', 'api:v1', 'api:v2'],
        // Bound by the approval, so shown; the chain carrier is not bound and sits above the diff.
        [
          'metadata.annotations["tether.dev/intent"]',
          undefined,
          JSON.stringify({
            summary: 'roll out api v2',
            goal: 'checkout p99 under 300 ms',
            trigger: 'alert:CheckoutLatencyHigh',
          }),
        ],
      ],
    );
    assert.equal(d.body.request.intent.summary, 'roll out api v2');
    assert.equal(d.body.request.chain.id, APPROVAL_CHAIN);
    assert.deepEqual(d.body.agent, {
      name: 'release',
      owner: 'alice@example.com',
      authorityClass: 'supervised',
      mode: 'enforce',
    });
    assert.equal(d.body.you.mayDecide, true);
    const queue = await get<{ waitingOnYou: number; approvals: { id: string; actionDigest: string }[] }>(
      '/v1/review/approvals',
      TOKENS.bob,
    );
    assert.equal(queue.body.waitingOnYou, 1);
    // Attacker: the binding digest leaves keyed, as everywhere else in the API; never the store's plain one.
    const plain = (await s.store.approval(approvalId))?.actionDigest;
    const served = (await get<{ actionDigest: string }>(`/v1/approvals/${approvalId}`, TOKENS.bob)).body.actionDigest;
    assert.match(served, /^hmac-sha256:/);
    assert.equal((d.body as unknown as { approval: { actionDigest: string } }).approval.actionDigest, served);
    assert.equal(queue.body.approvals.find((a) => a.id === approvalId)?.actionDigest, served);
    assert.ok(plain && !JSON.stringify([d.body, queue.body]).includes(plain.replace(/^sha256:/, '')));
  });

  test('API: bad input gets a precise 4xx; unknown things a 404', async () => {
    for (const [path, status] of [
      ['/v1/review/proof/-1', 400],
      ['/v1/review/proof/abc', 400],
      ['/v1/review/proof/1e3', 400],
      ['/v1/review/proof/99999999', 404],
      [`/v1/review/chains/${'x'.repeat(300)}`, 414],
      ['/v1/review/chains/no-such-chain', 404],
      ['/v1/review/approvals/apr_nope', 404],
      ['/v1/review/expansions/exp_nope', 404],
      ['/v1/review/approvals/..%2f..%2fv1%2fagents', 404],
      ['/v1/review/chains/%27%20OR%20%271%27%3D%271', 404],
    ] as const) {
      const r = await get<{ error: string; message: string }>(path, TOKENS.bob);
      assert.equal(r.status, status, `${path}: ${r.text}`);
      assert.ok(r.body.message, path);
    }
    // An escaped index is the same index: the router decodes before the handler reads it.
    assert.equal((await get<{ index: number }>('/v1/review/proof/%30', TOKENS.bob)).body.index, 0);
  });

  test('API, attacker: drift findings carry no value digests (a weak Secret value is a guess away from its digest)', async () => {
    const r = await get<{ object: string; leaf: { detail: { fields: Record<string, unknown>[] } } }[]>(
      '/v1/review/drift',
      TOKENS.bob,
    );
    const api = r.body.find((f) => f.object === 'deployments.apps:shop/api');
    assert.ok(api?.leaf.detail.fields.length);
    const stored = (await s.store.queryLedger({ kind: 'drift' })).map((e) => JSON.stringify(e.leaf)).join();
    assert.match(stored, /desiredDigest/, 'the ledger keeps them');
    assert.doesNotMatch(r.text, /Digest"/);
  });

  test('API, attacker: an agent token reads none of the review views, nor the live feed', async () => {
    const paths = [
      '/v1/review/approvals',
      `/v1/review/approvals/${approvalId}`,
      `/v1/review/chains/${THREE_HOPS}`,
      '/v1/review/drift',
      '/v1/review/proof/0',
      `/v1/review/expansions/${(await s.store.expansions())[0]?.id}`,
      '/v1/review/events',
    ];
    for (const path of paths) {
      const r = await get<{ error: string }>(path, TOKENS.releaseAgent);
      assert.equal(r.status, 403, `${path}: ${r.text}`);
      assert.equal(r.body.error, 'forbidden');
      assert.doesNotMatch(r.text, /roll out api v2|api:v2/, 'nothing of the request leaks in the refusal');
      assert.equal((await get(path, 'not-a-token')).status, 401, path);
    }
  });

  test('CLI: the same views in a terminal; `review proof` verifies here and refuses a key it was not signed with', async () => {
    const { execFile } = await import('node:child_process');
    const { generateKeyPairSync } = await import('node:crypto');
    const dir = tempDir('tether-review-cli-');
    writeFileSync(join(dir, 'ca.crt'), s.caPem);
    const tether = (...args: string[]) =>
      new Promise<{ code: number; out: string }>((resolve) =>
        execFile(
          process.execPath,
          [
            fileURLToPath(new URL('../../bin/tether.js', import.meta.url)),
            ...args,
            '--server',
            s.url,
            '--ca',
            join(dir, 'ca.crt'),
            '--token',
            TOKENS.root,
          ],
          { encoding: 'utf8' },
          (e, stdout, stderr) => resolve({ code: e ? Number(e.code ?? 1) : 0, out: stdout + stderr }),
        ),
      );
    const approval = await tether('review', 'approval', approvalId);
    assert.equal(approval.code, 0, approval.out);
    assert.match(approval.out, /changed\s+spec\.replicas: 2 → 4/);
    const chain = await tether('review', 'chain', THREE_HOPS);
    assert.match(chain.out, /scaler \(depth 0\)[\s\S]*release \(depth 1\)[\s\S]*reader \(depth 2\)[\s\S]*REFUSED/);
    await post('/v1/ledger/checkpoint', {}, TOKENS.root);
    const pem = (await get<{ pem: string }>('/v1/ledger/pubkey', TOKENS.root)).body.pem;
    writeFileSync(join(dir, 'ledger.pem'), pem);
    const ok = await tether('review', 'proof', '3', '--key', join(dir, 'ledger.pem'));
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /^OK: entry 3 verified against checkpoint \d+, signed by key [0-9a-f]{16} \(your key\)/);
    writeFileSync(
      join(dir, 'other.pem'),
      generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }),
    );
    const wrong = await tether('review', 'proof', '3', '--key', join(dir, 'other.pem'));
    assert.equal(wrong.code, 1, wrong.out);
    assert.match(wrong.out, /^FAILED: entry 3 checkpoint \d+ is not signed by key/);
  });

  test('API: the live feed is server-sent events behind the bearer token; a new request arrives without asking', async () => {
    const { request } = await import('node:https');
    const events: { event: string; data: { waitingOnYou?: number } }[] = [];
    let buffer = '';
    const req = request(`${s.url}/v1/review/events`, {
      ca: s.caPem,
      headers: { authorization: `Bearer ${TOKENS.bob}` },
    });
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) =>
      req.on('response', resolve).on('error', reject).end(),
    );
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/event-stream/);
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      for (let i = buffer.indexOf('\n\n'); i >= 0; i = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
      }
    });
    const waitFor = async (pred: () => boolean) => {
      for (let i = 0; i < 300 && !pred(); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(pred(), JSON.stringify(events));
    };
    await waitFor(() => events.some((e) => e.event === 'approvals') && events.some((e) => e.event === 'breakers'));
    const before = events.filter((e) => e.event === 'approvals').at(-1)?.data.waitingOnYou ?? 0;
    const other = await admit(rolloutReview(annotations('scale api to 6 for the sale'), 6));
    const otherId = other.body.response.auditAnnotations.approval as string;
    await waitFor(() => events.filter((e) => e.event === 'approvals').at(-1)?.data.waitingOnYou === before + 1);
    const plain = (await s.store.approval(otherId))?.actionDigest as string;
    assert.ok(!JSON.stringify(events).includes(plain.replace(/^sha256:/, '')), 'the feed serves keyed digests only');
    assert.match(JSON.stringify(events), /hmac-sha256:/);
    req.destroy();
    // Not left waiting on bob for the browser test.
    assert.equal(
      (await post(`/v1/approvals/${otherId}/deny`, { reason: 'not during the freeze' }, TOKENS.bob)).status,
      200,
    );
  });

  test('in Chromium: approve from the diff, follow a chain, verify a proof (and see a tampered one fail), live updates, phone width', {
    skip: existsSync(CHROMIUM) || process.env.CI ? undefined : NO_CHROMIUM,
    timeout: 180_000,
  }, async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--ignore-certificate-errors',
      ],
    });
    const problems: string[] = [];
    const open = async (viewport: { width: number; height: number }, tokenValue: string) => {
      const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport, deviceScaleFactor: 1 });
      const page = await context.newPage();
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
      });
      await page.goto(`${s.url}/console/`);
      await page.getByLabel('Bearer token').fill(tokenValue);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('#who').waitFor();
      return page;
    };
    const shot = (page: import('playwright-core').Page, name: string, fullPage = false) =>
      page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });
    try {
      const page = await open({ width: 1100, height: 720 }, TOKENS.bob);
      await page.locator('#live[data-state="live"]').waitFor();
      // The badge counts what waits on bob, pushed by the feed.
      await page.locator('#badge-approvals').getByText('1', { exact: true }).waitFor();

      // Approval view: the diff the server computed.
      await page.getByRole('tab', { name: /Pending approvals/ }).click();
      const card = page.locator(`[data-approval="${approvalId}"]`);
      await card.getByRole('button', { name: 'Review the change' }).click();
      const review = page.locator(`[data-review="${approvalId}"]`);
      await review.waitFor();
      const replicas = review.locator('table.changes tr', { hasText: 'spec.replicas' });
      assert.match(String(await replicas.textContent()), /spec\.replicas\s*changed\s*2\s*4/);
      assert.ok((await review.locator('pre.object .line.new').count()) > 0, 'changed lines are marked');
      assert.match(String(await review.textContent()), /roll out api v2[\s\S]*alice@example\.com[\s\S]*supervised/);
      await review.getByRole('button', { name: new RegExp(APPROVAL_CHAIN) }).waitFor();
      await review.getByLabel('Reason').fill('v2 passed staging; scaling to 4 is within the plan');
      await shot(page, 'approval-diff', true);
      await review.getByRole('button', { name: 'Approve' }).click();
      await page.locator('#status').getByText(`Approved approval ${approvalId}.`).waitFor();
      await page.locator('#badge-approvals').waitFor({ state: 'hidden' });
      // The agent's retry, carrying the approval, now passes.
      const retry = await admit(
        rolloutReview(annotations('roll out api v2', { id: APPROVAL_CHAIN, depth: 0, path: [] }, approvalId)),
      );
      assert.equal(retry.body.response.allowed, true, JSON.stringify(retry.body.response));

      // Live: a new request shows up in the open queue, and the badge counts it, without a reload.
      await page.getByRole('tab', { name: /Pending approvals/ }).click();
      await page.locator('#panel-approvals').getByText('No approvals are waiting.').waitFor();
      const fresh = await admit(rolloutReview(annotations('scale api to 8 for the campaign'), 8));
      const freshId = fresh.body.response.auditAnnotations.approval as string;
      await page.locator(`[data-approval="${freshId}"]`).waitFor();
      await page.locator('#badge-approvals').getByText('1', { exact: true }).waitFor();
      await shot(page, 'approvals-live');

      // Chain view: three hops, the refusals marked, the breaker the chain tripped.
      await page.getByRole('tab', { name: 'Chains' }).click();
      await page.getByLabel('Chain (trace) id').fill(THREE_HOPS);
      await page.getByRole('button', { name: 'Open chain' }).click();
      const tree = page.locator(`[data-chain="${THREE_HOPS}"]`);
      await tree.waitFor();
      const scaler = tree.locator('li.node[data-agent="scaler"]');
      const release = scaler.locator('li.node[data-agent="release"]');
      const reader = release.locator('li.node[data-agent="reader"]');
      await reader.waitFor();
      assert.equal(await scaler.locator(':scope > ul.hops > li.hop').count(), 3);
      assert.equal(await scaler.locator(':scope > ul.hops > li.hop.refused').count(), 2);
      assert.equal(await release.locator(':scope > ul.hops > li.hop.refused').count(), 1);
      assert.match(String(await reader.textContent()), /refused[\s\S]*chain/);
      assert.match(
        String(await page.locator('#panel-chains ul.breakers').textContent()),
        /agent scaler: closed → open/,
      );
      await shot(page, 'chain');

      // Proof: verified in the page against a signed checkpoint, then tampered with.
      const size = (await get<{ size: number }>('/v1/ledger/head', TOKENS.root)).body.size;
      const entry = size - 1;
      await page.getByRole('tab', { name: 'Ledger' }).click();
      await page.getByLabel('Check ledger entry #').fill(String(entry));
      await page.getByRole('button', { name: 'Verify in this browser' }).click();
      const proof = page.locator('#proof');
      // The server also signs a checkpoint every 10 s: the entry may be covered already.
      await proof
        .getByText(new RegExp(`No signed checkpoint covers entry ${entry} yet|Verified against checkpoint`))
        .first()
        .waitFor();
      const sign = proof.getByRole('button', { name: /Sign a checkpoint now/ });
      if (await sign.isVisible()) await sign.click();
      const keyId = (await get<{ keyId: string }>('/v1/ledger/pubkey', TOKENS.root)).body.keyId;
      await proof.getByText(new RegExp(`Verified against checkpoint \\d+, signed by key ${keyId}`)).waitFor();
      assert.equal(await proof.getAttribute('data-verified'), 'true');
      await shot(page, 'proof-verified');

      // Tampering: a flipped hash in the path, an edited entry, a forged signature; each fails here.
      const tamper = async (label: string, edit: (b: Record<string, unknown>) => void, expect: RegExp) => {
        await page.route('**/v1/review/proof/**', async (route) => {
          const res = await route.fetch();
          const body = (await res.json()) as Record<string, unknown>;
          edit(body);
          await route.fulfill({ response: res, json: body });
        });
        // A fresh box, so the verdict awaited below is this check's, not the previous one's.
        await page.evaluate('document.getElementById("proof").replaceChildren()');
        await page.getByLabel('Check ledger entry #').fill(String(entry === 0 ? 0 : entry - 1));
        await page.getByRole('button', { name: 'Verify in this browser' }).click();
        await proof.getByText(expect).first().waitFor();
        assert.equal(await proof.getAttribute('data-verified'), 'false', label);
        await page.unroute('**/v1/review/proof/**');
      };
      await tamper(
        'path',
        (b) => {
          const p = b.proof as string[];
          p[0] = (p[0] as string).replace(/^./, (c) => (c === '0' ? '1' : '0'));
        },
        /Not verified: The Merkle path does not lead/,
      );
      await tamper(
        'entry',
        (b) =>
          void (b.data = (b.data as string)
            .replace('"decision":"deny"', '"decision":"allow"')
            .replace('"kind":"', '"kind":"x')),
        /Not verified: The Merkle path does not lead/,
      );
      await tamper(
        'signature',
        (b) => {
          const c = b.checkpoint as { signature: string };
          const sig = Buffer.from(c.signature, 'base64');
          sig[0] = (sig[0] as number) ^ 1;
          c.signature = sig.toString('base64');
        },
        /Not verified: The checkpoint’s Ed25519 signature does not verify/,
      );
      await shot(page, 'proof-tampered');

      // A server that served its own key with a checkpoint it signed would pass the checks above:
      // a pinned key id (published elsewhere) holds it to the real one.
      await page.getByLabel(/Key id you trust/).fill('ffffffffffffffff');
      await proof.getByRole('button', { name: 'Save' }).click();
      await proof.getByText(`Not verified: The key ${keyId} is not the one you trust (ffffffffffffffff)`).waitFor();
      await page.getByLabel(/Key id you trust/).fill(keyId);
      await proof.getByRole('button', { name: 'Save' }).click();
      await proof.getByText(new RegExp(`Verified against checkpoint \\d+, signed by key ${keyId}`)).waitFor();
      await proof.getByText(`The key is the one you trust (${keyId})`).waitFor();

      // Drift: the detector's finding, attributed, with the CLI's revert and codify.
      await page.getByRole('tab', { name: 'Drift' }).click();
      const finding = page.locator('[data-drift="deployments.apps:shop/api"]');
      await finding.waitFor();
      assert.match(String(await finding.textContent()), /spec\.replicas/);
      await finding.getByText('Revert or codify (CLI)').click();
      await finding.getByText(/--respond revert/).waitFor();
      await finding.getByText(/--respond codify/).waitFor();
      await shot(page, 'drift');

      // Expansion: what approving adds, and that this server has no cluster view.
      await page.getByRole('tab', { name: 'Boundary expansions' }).click();
      await page.getByRole('button', { name: 'What would this add?' }).click();
      const exp = page.locator('[data-expansion-review]');
      await exp.locator('ul.widening').getByText('new namespace payments').waitFor();
      await exp.locator('svg.graph .node.namespace.added').getByText('new: payments').waitFor();
      await exp.getByText(/^no cluster view/).waitFor();
      await shot(page, 'expansion');

      // Breakers, live: a reset made elsewhere shows without a reload.
      await page.getByRole('tab', { name: /Breakers/ }).click();
      const row = page.locator('[data-breaker="agent:scaler"]');
      await row.getByText('open', { exact: true }).waitFor();
      assert.equal(
        (await post('/v1/breakers/reset', { target: 'scaler', reason: 'deletes were a bad plan; fixed' }, TOKENS.root))
          .status,
        200,
      );
      await row.getByText('half-open', { exact: true }).waitFor();
      await shot(page, 'breakers-live');
      await page.context().close();

      // Phone width: the same review, readable without sideways scrolling of the page.
      const phone = await open({ width: 390, height: 844 }, TOKENS.bob);
      await phone.getByRole('tab', { name: /Pending approvals/ }).click();
      await phone.locator(`[data-approval="${freshId}"]`).getByRole('button', { name: 'Review the change' }).click();
      await phone.locator(`[data-review="${freshId}"] table.changes`).waitFor();
      const overflow = await phone.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
      assert.ok(overflow <= 0, `the page itself does not scroll sideways on a phone (${overflow}px)`);
      await shot(phone, 'phone-approval');
      await phone.getByRole('tab', { name: 'Chains' }).click();
      await phone.getByLabel('Chain (trace) id').fill(THREE_HOPS);
      await phone.getByRole('button', { name: 'Open chain' }).click();
      await phone.locator('li.node[data-agent="reader"]').waitFor();
      assert.ok((await phone.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth')) <= 0);
      await shot(phone, 'phone-chain');
      await phone.context().close();

      // An agent's token: no live feed, and the review views refuse it.
      const agent = await open({ width: 1280, height: 860 }, TOKENS.releaseAgent);
      await agent.getByText(`Signed in as agent ${SA('release')}`).waitFor();
      assert.equal(await agent.locator('#live').isHidden(), true, 'no feed for an agent');
      await agent.getByRole('tab', { name: 'Chains' }).click();
      await agent.getByLabel('Chain (trace) id').fill(THREE_HOPS);
      await agent.getByRole('button', { name: 'Open chain' }).click();
      await agent
        .locator('#panel-chains')
        .getByText(/403: only a human may do this/)
        .waitFor();
      await agent.getByRole('tab', { name: 'Drift' }).click();
      await agent
        .locator('#panel-drift')
        .getByText(/403: only a human may do this/)
        .waitFor();
      await agent.getByRole('tab', { name: 'Ledger' }).click();
      await agent.locator('#panel-ledger tbody tr').first().waitFor();
      assert.equal(await agent.locator('#proof').count(), 0, 'no proof panel for an agent');
      await agent.context().close();

      assert.deepEqual(problems, [], 'no script errors or CSP violations');
    } finally {
      await browser.close();
    }
  });
});
