// With webhookClientAuth, only the API server (holding the client certificate tether
// webhook-config issued) may post reviews and audit events; the human API keeps its tokens.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { issueWebhookClientCertificate } from '../../src/server/tls.ts';
import { admissionReview, deploymentObject } from '../support/admission.ts';
import { https } from '../support/https.ts';
import { tempDir } from '../store/backends.ts';
import { SA, startTestServer, TOKENS } from './start.ts';

let s: Awaited<ReturnType<typeof startTestServer>>;
before(async () => {
  s = await startTestServer(`sqlite:${join(tempDir(), 't.db')}`, { webhookClientAuth: true });
});
after(async () => s?.close());

const review = () =>
  admissionReview({ username: SA('scaler'), resource: 'deployments', namespace: 'shop', name: 'web', object: deploymentObject('web', 2), oldObject: deploymentObject('web', 1) });

test('a review without the client certificate is refused before it is read, and nothing is recorded', async () => {
  const size = await s.store.ledgerSize();
  const r = await https<{ message: string }>(`${s.url}/admission`, { ca: s.caPem, body: review() });
  assert.equal(r.status, 401);
  assert.match(r.body.message, /client certificate/);
  const audit = await https(`${s.url}/audit`, { ca: s.caPem, body: { apiVersion: 'audit.k8s.io/v1', kind: 'EventList', items: [] } });
  assert.equal(audit.status, 401);
  assert.equal(await s.store.ledgerSize(), size);
});

test('a certificate from another CA is refused; the one tether webhook-config issues is accepted', async () => {
  const stranger = await issueWebhookClientCertificate(tempDir('other-ca-'));
  assert.equal((await https(`${s.url}/admission`, { ca: s.caPem, body: review(), cert: stranger.cert, key: stranger.key })).status, 401);
  const apiserver = await issueWebhookClientCertificate(join(s.dataDir, 'tls'));
  const r = await https<{ response: { allowed: boolean } }>(`${s.url}/admission`, { ca: s.caPem, body: review(), cert: apiserver.cert, key: apiserver.key });
  assert.equal(r.status, 200);
  assert.equal(typeof r.body.response.allowed, 'boolean');
});

test('the human API still authenticates with bearer tokens, without a client certificate', async () => {
  assert.equal((await https(`${s.url}/v1/whoami`, { ca: s.caPem, token: TOKENS.alice })).status, 200);
  assert.equal((await https(`${s.url}/healthz`, { ca: s.caPem })).status, 200);
});
