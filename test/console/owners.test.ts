// The console's Owners view in a real Chromium against a real `tether serve`: orphans shown, the
// owner attests through the form (another person is refused), "why" answers with proven entries,
// and an agent token gets no owners view at all.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { admissionReview, deploymentObject } from '../support/admission.ts';
import { https } from '../support/https.ts';
import { SA, startTestServer, testPolicy, TOKENS } from '../server/start.ts';
import { tempDir } from '../store/backends.ts';

const CHROMIUM = '/usr/bin/chromium';
const NO_CHROMIUM = `${CHROMIUM} is missing: the console owners test is SKIPPED (apt-get install chromium)`;

const lapsed = {
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

describe('console: owners', {
  skip: existsSync(CHROMIUM) || process.env.CI ? undefined : NO_CHROMIUM,
  timeout: 120_000,
}, () => {
  let s: Awaited<ReturnType<typeof startTestServer>>;
  before(async () => {
    s = await startTestServer(`sqlite:${join(tempDir(), 'tether.db')}`, { policy: [...testPolicy(), lapsed] });
    // An approved change to shop/api for "why".
    const object = deploymentObject('api', 4, { 'tether.dev/intent': JSON.stringify({ summary: 'roll out v2' }) });
    const review = () =>
      admissionReview({
        username: SA('release'),
        resource: 'deployments',
        namespace: 'shop',
        name: 'api',
        object,
        oldObject: deploymentObject('api', 2),
      });
    const pending = await https<{ response: { auditAnnotations: Record<string, string> } }>(`${s.url}/admission`, {
      ca: s.caPem,
      body: review(),
    });
    const id = pending.body.response.auditAnnotations.approval as string;
    assert.equal(
      (
        await https(`${s.url}/v1/approvals/${id}/approve`, {
          ca: s.caPem,
          token: TOKENS.bob,
          body: { reason: 'release window' },
        })
      ).status,
      200,
    );
    await https(`${s.url}/admission`, { ca: s.caPem, body: review() });
  });
  after(async () => {
    await s?.close();
  });

  test('orphans, attestation by the owner only, why with proofs, read-only for agents', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--ignore-certificate-errors'],
    });
    try {
      const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
      });
      const signIn = async (token: string, who: string) => {
        await page.goto(`${s.url}/console/`);
        await page.getByLabel('Bearer token').fill(token);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByText(who).waitFor();
        await page.getByRole('tab', { name: 'Owners' }).click();
      };
      const panel = page.locator('#panel-owners');
      const row = panel.locator('tr[data-agent="lapsed"]');

      await signIn(TOKENS.alice, 'Signed in as alice@example.com');
      await panel.getByText(/1 agent\(s\) without a live owner may not act: lapsed \(attestation-lapsed\)/).waitFor();
      await row.getByLabel('Attest lapsed until').fill('2099-01-01');
      await row.getByLabel('Why you still answer for lapsed').fill('not mine to attest');
      await row.getByRole('button', { name: 'Attest' }).click();
      await row.getByText(/only the owner \(bob@example\.com\) attests/).waitFor();

      await page.getByRole('button', { name: 'Sign out' }).click();
      await signIn(TOKENS.bob, 'Signed in as bob@example.com');
      const soon = new Date(Date.now() + 60 * 86_400_000).toISOString().slice(0, 10);
      await row.getByLabel('Attest lapsed until').fill(soon);
      await row.getByLabel('Why you still answer for lapsed').fill('canary analysis continues');
      await row.getByRole('button', { name: 'Attest' }).click();
      await page
        .locator('#status')
        .getByText(/Ownership of lapsed attested until .* \(ledger #\d+\)\./)
        .waitFor();
      await panel.getByText('Every agent has a live owner.').waitFor();
      assert.equal(await row.locator('.pill').textContent(), 'live');

      await panel.getByLabel('Object (kind/namespace/name)').fill('deployment/shop/api');
      await panel.getByRole('button', { name: 'Answer' }).click();
      await panel.getByText(/by release \(supervised\), owner alice@example\.com/).waitFor();
      await panel.getByText(/Approval .*: approved by bob@example\.com — “release window” — #\d+ ✓ proven/).waitFor();
      await panel.getByText(/Checked against signed checkpoint \d+ \(signature valid\)/).waitFor();

      await page.getByRole('button', { name: 'Sign out' }).click();
      await signIn(TOKENS.releaseAgent, `Signed in as agent ${SA('release')}`);
      await panel.getByText(/Could not load: (403: )?only a human may do this/).waitFor();
      assert.equal(await panel.getByRole('button', { name: 'Attest' }).count(), 0, 'agents get no owners view');
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });
});
