// The web console against a real `tether serve` (HTTPS, SQLite): plain HTTP checks of how it is
// served, then a real Chromium (playwright-core) signing in, reading and approving through the UI.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { CONSOLE_CSP } from '../../src/adapters/console/route.ts';
import { admissionReview, deploymentObject } from '../support/admission.ts';
import { https } from '../support/https.ts';
import { SA, startTestServer, TOKENS } from '../server/start.ts';
import { tempDir } from '../store/backends.ts';
import { join } from 'node:path';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = '/tmp/tether-console.png';
const NO_CHROMIUM = `${CHROMIUM} is missing: the browser half of the console tests is SKIPPED (apt-get install chromium)`;
if (!existsSync(CHROMIUM)) console.warn(`\n${'!'.repeat(78)}\n${NO_CHROMIUM}\n${'!'.repeat(78)}\n`);

type Server = Awaited<ReturnType<typeof startTestServer>>;
interface Review {
  response: { allowed: boolean; auditAnnotations: Record<string, string> };
}

describe('web console', () => {
  let s: Server;
  const get = <T>(path: string, token?: string) => https<T>(`${s.url}${path}`, { ca: s.caPem, token });

  before(async () => {
    s = await startTestServer(`sqlite:${join(tempDir(), 'tether.db')}`);
  });
  after(async () => {
    await s?.close();
  });

  test('served without a token, with a strict CSP; only its own files, no traversal', async () => {
    const page = await get('/console/');
    assert.equal(page.status, 200);
    assert.match(page.text, /<title>Tether console<\/title>/);
    const { headers } = await headersOf(`${s.url}/console/`, s.caPem);
    assert.equal(headers['content-security-policy'], CONSOLE_CSP);
    assert.match(CONSOLE_CSP, /default-src 'self'/);
    assert.match(String(headers['content-type']), /^text\/html/);
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.match(
      String((await headersOf(`${s.url}/console/app.js`, s.caPem)).headers['content-type']),
      /^text\/javascript/,
    );
    assert.match(
      String((await headersOf(`${s.url}/console/style.css`, s.caPem)).headers['content-type']),
      /^text\/css/,
    );

    const redirect = await headersOf(`${s.url}/console`, s.caPem);
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.location, '/console/');

    // Sent as written (a URL object would resolve the dots client-side before the server saw them).
    for (const path of [
      '/console/../package.json',
      '/console/..%2fpackage.json',
      '/console/%2e%2e%2fpackage.json',
      '/console/..%5cpackage.json',
      '/console/README.md',
      '/console/.',
      '/console/route.ts',
    ]) {
      const r = await rawGet(s.port, path, s.caPem);
      assert.ok(r.status === 404 || r.status === 400, `${path}: ${r.status}`);
      assert.doesNotMatch(r.body, /"name": "tether"/, path);
    }
    assert.equal((await get('/v1/agents')).status, 401, 'the API still needs a token');
  });

  test('in Chromium: sign in, read, approve with a reason; an agent token sees the refusal', {
    // CI installs Chromium (.ci/run): there a missing browser is a failure, not a skip.
    skip: existsSync(CHROMIUM) || process.env.CI ? undefined : NO_CHROMIUM,
    timeout: 120_000,
  }, async () => {
    const object = deploymentObject('api', 4, { 'tether.dev/intent': JSON.stringify({ summary: 'roll out v2' }) });
    const review = (obj: unknown) =>
      admissionReview({
        username: SA('release'),
        resource: 'deployments',
        namespace: 'shop',
        name: 'api',
        object: obj,
        oldObject: deploymentObject('api', 2),
      });
    const pending = await https<Review>(`${s.url}/admission`, { ca: s.caPem, body: review(object) });
    assert.equal(pending.body.response.allowed, false);
    const approvalId = pending.body.response.auditAnnotations.approval as string;
    assert.ok(approvalId);
    // A second one, for the agent to fail on.
    const second = await https<Review>(`${s.url}/admission`, {
      ca: s.caPem,
      body: review(deploymentObject('api', 7, { 'tether.dev/intent': JSON.stringify({ summary: 'scale to 7' }) })),
    });
    const secondId = second.body.response.auditAnnotations.approval as string;
    assert.ok(secondId);

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
    try {
      const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('console', (m) => {
        // The browser logs every non-2xx response (the 403 below is expected); CSP violations say "Refused to …".
        if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
      });

      await page.goto(`${s.url}/console/`);
      await page.getByLabel('Bearer token').fill(TOKENS.bob);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByText('Signed in as bob@example.com').waitFor();
      assert.ok(!page.url().includes(TOKENS.bob), 'the token never enters the URL');
      assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing in localStorage');

      // Agents, and one agent's explanation.
      const agents = page.locator('#panel-agents');
      for (const name of ['scaler', 'release', 'reader', 'trial'])
        await agents.getByRole('button', { name, exact: true }).waitFor();
      assert.match(String(await agents.locator('tbody').textContent()), /alice@example\.com[\s\S]*supervised/);
      await agents.getByRole('button', { name: 'release', exact: true }).click();
      await agents.locator('pre.explain').waitFor();
      assert.ok(((await agents.locator('pre.explain').textContent()) ?? '').length > 20);

      // Pending approvals: a reason is required, then approve.
      await page.getByRole('tab', { name: 'Pending approvals' }).click();
      const card = page.locator(`[data-approval="${approvalId}"]`);
      await card.waitFor();
      assert.match(String(await card.textContent()), /roll out v2|release/);
      assert.match(String(await card.textContent()), /bob@example\.com/);
      await card.getByRole('button', { name: 'Approve' }).click();
      await card.getByText('A reason is required.').waitFor();
      await card.getByLabel('Reason').fill('checked the rollout plan');
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      await card.getByRole('button', { name: 'Approve' }).click();
      await page.locator('#status').getByText(`Approved approval ${approvalId}.`).waitFor();
      await card.waitFor({ state: 'detached' });

      // The other tabs render.
      await page.getByRole('tab', { name: 'Boundary expansions' }).click();
      await page.locator('#panel-expansions').getByText('No boundary expansions are waiting.').waitFor();
      await page.getByRole('tab', { name: 'Breakers' }).click();
      await page.locator('#panel-breakers').getByText('Kill switch').waitFor();
      await page.getByRole('tab', { name: 'Ledger' }).click();
      const firstRow = page.locator('#panel-ledger tbody tr').first();
      await firstRow.waitFor();
      assert.match(
        String(await firstRow.textContent()),
        /approval[\s\S]*bob@example\.com/,
        'newest first: bob’s approval on top',
      );

      // Through the API: approved, and the ledger names bob.
      const approval = await https<{ status: string; approvedBy: string[] }>(`${s.url}/v1/approvals/${approvalId}`, {
        ca: s.caPem,
        token: TOKENS.root,
      });
      assert.equal(approval.body.status, 'approved');
      assert.deepEqual(approval.body.approvedBy, ['bob@example.com']);
      const ledger = await https<{ leaf: { kind: string; actor?: string } }[]>(
        `${s.url}/v1/ledger?kind=approval&actor=bob@example.com`,
        { ca: s.caPem, token: TOKENS.root },
      );
      assert.ok(
        ledger.body.some((e) => e.leaf.kind === 'approval' && e.leaf.actor === 'bob@example.com'),
        JSON.stringify(ledger.body),
      );

      // The agent's own token: it can sign in and read, but approving is refused, inline.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('Bearer token').fill(TOKENS.releaseAgent);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByText(`Signed in as agent ${SA('release')}`).waitFor();
      await page.getByRole('tab', { name: 'Pending approvals' }).click();
      const theirs = page.locator(`[data-approval="${secondId}"]`);
      await theirs.getByLabel('Reason').fill('self-service');
      await theirs.getByRole('button', { name: 'Approve' }).click();
      await theirs
        .getByRole('alert')
        .getByText(/403: only a human may do this: agent identities never approve/)
        .waitFor();
      const still = await https<{ status: string }>(`${s.url}/v1/approvals/${secondId}`, {
        ca: s.caPem,
        token: TOKENS.root,
      });
      assert.equal(still.body.status, 'pending');

      assert.deepEqual(problems, [], 'no script errors or CSP violations');
    } finally {
      await browser.close();
    }
  });
});

async function headersOf(
  url: string,
  ca: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request(url, { ca }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** GET with the path exactly as given: no client-side normalisation of `..` or `.`. */
async function rawGet(port: number, path: string, ca: string): Promise<{ status: number; body: string }> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
