// With webhookClientAuth, only the API server (holding the client certificate tether
// webhook-config issued) may post reviews and audit events; the human API keeps its tokens.
// Every attack is played against both places the webhooks answer: the main port and the webhook
// port's threads (listen.webhookPort).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { after, before, test } from 'node:test';
import { issueWebhookClientCertificate } from '../../src/server/tls.ts';
import { admissionReview, deploymentObject } from '../support/admission.ts';
import { https } from '../support/https.ts';
import { tempDir } from '../store/backends.ts';
import { SA, startTestServer, TOKENS } from './start.ts';

let s: Awaited<ReturnType<typeof startTestServer>>;
before(async () => {
  s = await startTestServer(`sqlite:${join(tempDir(), 't.db')}`, {
    webhookClientAuth: true,
    webhooks: { port: 0, threads: 2 },
  });
});
after(async () => s?.close());

const PORTS = ['main port', 'webhook port'] as const;
const base = (where: (typeof PORTS)[number]) => (where === 'main port' ? s.url : (s.webhookUrl as string));

const review = () =>
  admissionReview({
    username: SA('scaler'),
    resource: 'deployments',
    namespace: 'shop',
    name: 'web',
    object: deploymentObject('web', 2),
    oldObject: deploymentObject('web', 1),
  });

for (const where of PORTS)
  test(`${where}: a review without the client certificate is refused before it is read, and nothing is recorded`, async () => {
    const size = await s.store.ledgerSize();
    const r = await https<{ message: string }>(`${base(where)}/admission`, { ca: s.caPem, body: review() });
    assert.equal(r.status, 401);
    assert.match(r.body.message, /client certificate/);
    const audit = await https(`${base(where)}/audit`, {
      ca: s.caPem,
      body: { apiVersion: 'audit.k8s.io/v1', kind: 'EventList', items: [] },
    });
    assert.equal(audit.status, 401);
    assert.equal(await s.store.ledgerSize(), size);
  });

for (const where of PORTS)
  test(`${where}: a certificate from another CA is refused; the one tether webhook-config issues is accepted`, async () => {
    const stranger = await issueWebhookClientCertificate(tempDir('other-ca-'));
    assert.equal(
      (await https(`${base(where)}/admission`, { ca: s.caPem, body: review(), cert: stranger.cert, key: stranger.key }))
        .status,
      401,
    );
    const apiserver = await issueWebhookClientCertificate(join(s.dataDir, 'tls'));
    const r = await https<{ response: { allowed: boolean } }>(`${base(where)}/admission`, {
      ca: s.caPem,
      body: review(),
      cert: apiserver.cert,
      key: apiserver.key,
    });
    assert.equal(r.status, 200);
    assert.equal(typeof r.body.response.allowed, 'boolean');
  });

test('the human API still authenticates with bearer tokens, without a client certificate', async () => {
  assert.equal((await https(`${s.url}/v1/whoami`, { ca: s.caPem, token: TOKENS.alice })).status, 200);
  assert.equal((await https(`${s.url}/healthz`, { ca: s.caPem })).status, 200);
  // The webhook port serves the webhooks and nothing else: no token opens the human API there.
  assert.equal((await https(`${s.webhookUrl}/v1/whoami`, { ca: s.caPem, token: TOKENS.alice })).status, 404);
});

/** One raw HTTP/1.1 request over TLS, so the request target is sent exactly as an attacker writes it. */
function rawPost(target: string, body: unknown, at = s.url): Promise<number> {
  const url = new URL(at);
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port), ca: s.caPem, servername: 'localhost' }, () => {
      socket.end(
        `POST ${target} HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(data)}\r\nconnection: close\r\n\r\n${data}`,
      );
    });
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
    socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
    socket.on('error', reject);
  });
}

for (const where of PORTS)
  test(`${where}: attacker: webhook paths spelled with escapes, fragments or absolute form still need the certificate`, async () => {
    const size = await s.store.ledgerSize();
    const forged = {
      apiVersion: 'audit.k8s.io/v1',
      kind: 'EventList',
      items: [
        {
          auditID: 'forged',
          stage: 'ResponseComplete',
          verb: 'get',
          user: { username: SA('scaler') },
          objectRef: { resource: 'secrets', namespace: 'shop', name: 'db' },
          responseStatus: { code: 200 },
          stageTimestamp: new Date().toISOString(),
        },
      ],
    };
    const targets: [string, unknown][] = [
      ['/%61udit', forged],
      ['/%61dmission', review()],
      ['/admissio%6E', review()],
      ['/admission#x', review()],
      ['http://x/admission', review()],
      [
        '/%61uthorize',
        {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: { user: SA('scaler'), resourceAttributes: { verb: 'get', resource: 'secrets', namespace: 'shop' } },
        },
      ],
      ['/audit?x=1', forged],
      ['//audit', forged],
    ];
    for (const [target, body] of targets) {
      const status = await rawPost(target, body, base(where));
      assert.ok(status === 401 || status === 404 || status === 400, `${target} answered ${status}`);
    }
    // At least the router-decoded spellings reached a webhook route and were refused for the certificate.
    assert.equal(await rawPost('/%61dmission', review(), base(where)), 401);
    assert.equal(await s.store.ledgerSize(), size, 'nothing was recorded');
  });
