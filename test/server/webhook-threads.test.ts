// The webhook port (listen.webhookPort): threads of their own serve the webhooks, while every
// decision is still the main thread's. Whatever port a review reaches, it gets the same answer, the
// same ledger entry, the same limits — and bad input there loses nothing either.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { admissionReview, deploymentObject } from '../support/admission.ts';
import { https } from '../support/https.ts';
import { ConfigError, loadConfig } from '../../src/server/config.ts';
import { openStore } from '../../src/store/open.ts';
import { stringify } from 'yaml';
import { tempDir } from '../store/backends.ts';
import { SA, startTestServer } from './start.ts';

let s: Awaited<ReturnType<typeof startTestServer>>;
before(async () => {
  s = await startTestServer(`sqlite:${join(tempDir(), 't.db')}`, {
    webhooks: { port: 0, threads: 2 },
    policy: undefined,
  });
});
after(async () => s?.close());

const intent = { 'tether.dev/intent': JSON.stringify({ summary: 'follow traffic' }) };
const review = (name: string, replicas = 2, username = SA('scaler')) =>
  admissionReview({
    username,
    resource: 'deployments',
    namespace: 'shop',
    name,
    object: deploymentObject(name, replicas, intent),
    oldObject: deploymentObject(name, 1),
  });

type Answer = {
  response: { allowed: boolean; auditAnnotations: Record<string, string>; status?: { message: string } };
};
const post = (url: string, body: unknown, ca = s.caPem) => https<Answer>(`${url}/admission`, { ca, body });

test('the webhook port answers as the main port does, and records the decision in the one ledger', async () => {
  const size = await s.store.ledgerSize();
  const viaThreads = await post(s.webhookUrl as string, review('web-a', 5, SA('reader')));
  const viaMain = await post(s.url, review('web-a', 5, SA('reader')));
  assert.equal(viaThreads.status, 200);
  assert.equal(viaThreads.body.response.allowed, false);
  assert.equal(viaThreads.body.response.allowed, viaMain.body.response.allowed);
  assert.equal(viaThreads.body.response.auditAnnotations.rules, viaMain.body.response.auditAnnotations.rules);
  assert.equal(Number(viaThreads.body.response.auditAnnotations['ledger-index']), size);
  assert.equal(Number(viaMain.body.response.auditAnnotations['ledger-index']), size + 1);
  const [leaf] = await s.store.entries(size, size + 1);
  assert.equal(leaf?.leaf.kind, 'proposal');
  assert.equal(leaf?.leaf.agent, 'reader');
});

test('attacker: a burst spread over the threads cannot spend a budget twice', async () => {
  // scaler may make 3 mutations an hour: 12 at once, each on a connection of its own.
  const answers = await Promise.all(
    Array.from({ length: 12 }, (_, i) => post(s.webhookUrl as string, review(`burst-${i}`))),
  );
  assert.ok(answers.every((a) => a.status === 200));
  const allowed = answers.filter((a) => a.body.response.allowed);
  assert.equal(allowed.length, 3);
  for (const a of answers.filter((x) => !x.body.response.allowed))
    assert.match(a.body.response.status?.message ?? '', /budget/);
});

test('attacker: bad bodies on the webhook port get a precise 4xx, record nothing, and stop nothing', async () => {
  const url = `${s.webhookUrl}/admission`;
  const size = await s.store.ledgerSize();
  const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
  const cases: [string, { raw?: string; body?: unknown; headers?: Record<string, string> }, number, RegExp][] = [
    ['not JSON', { raw: '{"apiVersion":' }, 400, /JSON/i],
    ['nested 5,000 deep', { raw: deep }, 400, /deep|nest/i],
    ['too large', { raw: JSON.stringify({ pad: 'x'.repeat(300 * 1024) }) }, 413, /large|limit/i],
    ['not a review', { body: { kind: 'Pod' } }, 400, /request|apiVersion|kind/],
    ['no request.uid', { body: { ...review('x'), request: { operation: 'UPDATE' } } }, 400, /request\./],
  ];
  for (const [what, opts, status, message] of cases) {
    const r = await https<{ message: string }>(url, { ca: s.caPem, ...opts });
    assert.equal(r.status, status, `${what}: ${r.text}`);
    assert.match(r.body.message, message, what);
  }
  assert.equal(await s.store.ledgerSize(), size, 'nothing was recorded');
  const after = await post(s.webhookUrl as string, review('still-serving', 2, SA('reader')));
  assert.equal(after.status, 200);
});

test('audit events posted to the webhook port are recorded by the main thread', async () => {
  const r = await https<{ recorded: number; undecided: number }>(`${s.webhookUrl}/audit`, {
    ca: s.caPem,
    body: {
      apiVersion: 'audit.k8s.io/v1',
      kind: 'EventList',
      items: [
        {
          auditID: 'a-1',
          stage: 'ResponseComplete',
          verb: 'delete',
          user: { username: SA('scaler') },
          objectRef: { resource: 'deployments', apiGroup: 'apps', namespace: 'shop', name: 'web' },
          responseStatus: { code: 200 },
          stageTimestamp: new Date().toISOString(),
        },
      ],
    },
  });
  assert.equal(r.status, 200);
  assert.equal(r.body.recorded, 1);
  assert.equal(r.body.undecided, 1, 'a delete Tether never decided is reported');
});

test('closing answers the reviews in flight on the webhook port, each durably recorded first', async () => {
  const file = join(tempDir(), 'close.db');
  const t = await startTestServer(`sqlite:${file}`, { webhooks: { port: 0, threads: 2 } });
  let closing: Promise<void> | undefined;
  const inFlight = Array.from({ length: 16 }, (_, i) =>
    post(t.webhookUrl as string, review(`closing-${i}`, 2, SA('reader')), t.caPem).then(
      (a) => {
        closing ??= t.close(); // the first answer starts the shutdown: the others are on their way
        return a;
      },
      (e: Error) => e,
    ),
  );
  const answers = await Promise.all(inFlight);
  await (closing ?? t.close());
  const answered = answers.filter((a): a is Awaited<ReturnType<typeof post>> => !(a instanceof Error));
  assert.ok(answered.length > 0);
  for (const a of answered) assert.ok(a.status === 200 || a.status === 503, `answered ${a.status}`);
  for (const e of answers.filter((a) => a instanceof Error)) assert.match(String(e), /ECONNREFUSED|ECONNRESET|socket/);
  // Every review answered 200 names a ledger entry that survived the shutdown.
  const store = await openStore(`sqlite:${file}`);
  const size = await store.ledgerSize();
  await store.close();
  for (const a of answered.filter((x) => x.status === 200))
    assert.ok(Number(a.body.response.auditAnnotations['ledger-index']) < size);
});

test('configuration: listen.webhookPort turns the webhook port on; a bad one is refused with its path', () => {
  const dir = tempDir('webhook-config-');
  const file = join(dir, 'tether.yaml');
  writeFileSync(file, stringify({ dataDir: dir }));
  assert.equal(loadConfig(file).webhooks, undefined, 'off unless asked for');
  writeFileSync(file, stringify({ dataDir: dir, listen: { webhookPort: 9443 } }));
  assert.deepEqual(loadConfig(file).webhooks, { port: 9443, threads: availableParallelism() });
  writeFileSync(file, stringify({ dataDir: dir, listen: { webhookPort: 9443 }, webhookThreads: 3 }));
  assert.deepEqual(loadConfig(file).webhooks, { port: 9443, threads: 3 });
  for (const bad of [{ listen: { webhookPort: 70000 } }, { listen: { webhookPort: 9443 }, webhookThreads: 0 }]) {
    writeFileSync(file, stringify({ dataDir: dir, ...bad }));
    assert.throws(
      () => loadConfig(file),
      (e: Error) => e instanceof ConfigError && /webhookPort|webhookThreads/.test(e.message),
    );
  }
});
