// Issue 12, items 5, 8 and 9, played against a real `tether serve` over HTTPS: an approval's
// digest over a Secret cannot be brute-forced from what the API serves; dry runs and decision-API
// questions leave the approval for the real write; an approval binds the intent the approver saw.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeAdmissionReview } from '../../src/adapters/admission/decode.ts';
import { actionDigest } from '../../src/engine/digest.ts';
import { admissionReview, deploymentObject } from '../support/admission.ts';
import { https } from '../support/https.ts';
import { tempDir } from '../store/backends.ts';
import { SA, startTestServer, testPolicy, TOKENS } from './start.ts';

interface Review {
  response: {
    allowed: boolean;
    status?: { message: string };
    warnings?: string[];
    auditAnnotations: Record<string, string>;
  };
}
interface Approval {
  id: string;
  agent: string;
  actionDigest: string;
  usesLeft: number;
  status: string;
}

const intent = (summary: string) => ({ 'tether.dev/intent': JSON.stringify({ summary }) });

/** The test policy, with the supervised `release` agent also allowed to update Secrets in shop. */
function policy(): Record<string, unknown>[] {
  return testPolicy().map((d) => {
    const md = d.metadata as { name: string };
    if (d.kind !== 'Agent' || md.name !== 'release') return d;
    const spec = d.spec as Record<string, unknown>;
    const boundary = spec.boundary as { rules: unknown[] };
    return {
      ...d,
      spec: {
        ...spec,
        boundary: {
          ...boundary,
          rules: [...boundary.rules, { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'update'] }],
        },
      },
    };
  });
}

const secret = (pin: string) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'door', namespace: 'shop', annotations: intent('rotate the door PIN') },
  type: 'Opaque',
  stringData: { pin },
});
const secretReview = (pin: string) =>
  admissionReview({
    username: SA('release'),
    group: '',
    resource: 'secrets',
    namespace: 'shop',
    name: 'door',
    object: secret(pin),
    oldObject: secret('0000'),
  });

let s: Awaited<ReturnType<typeof startTestServer>>;
const post = <T>(path: string, body: unknown, token?: string) =>
  https<T>(`${s.url}${path}`, { ca: s.caPem, body, token });
const get = <T>(path: string, token?: string) => https<T>(`${s.url}${path}`, { ca: s.caPem, token });
const admit = (review: Record<string, unknown>) => post<Review>('/admission', review);

before(async () => {
  s = await startTestServer(`sqlite:${join(tempDir(), 't.db')}`, { policy: policy() });
});
after(async () => s?.close());

describe('item 5: approval digests over Secret content', () => {
  test('attacker: brute-forcing a 4-digit PIN from GET /v1/approvals no longer works', async () => {
    const pending = await admit(secretReview('4821'));
    assert.equal(pending.body.response.allowed, false);
    const id = pending.body.response.auditAnnotations.approval as string;
    const listed = await get<Approval[]>('/v1/approvals?agent=release', TOKENS.root);
    const served = listed.body.find((a) => a.id === id)?.actionDigest;
    assert.ok(served, 'the approval is listed');
    const one = await get<Approval>(`/v1/approvals/${id}`, TOKENS.root);
    // Every view a human (or the console) reads the request through: the lists, the review queue and detail.
    const views = [
      listed,
      one,
      await get('/v1/review/approvals', TOKENS.root),
      await get(`/v1/review/approvals/${id}`, TOKENS.root),
    ];
    for (const v of views) assert.equal(v.status, 200, v.text);
    const hexes = new Set(views.flatMap((v) => v.text.match(/[0-9a-f]{64}/g) ?? []));
    // The attack, as written: hash every candidate Secret exactly as the engine does and compare with all that was served.
    const action = decodeAdmissionReview(secretReview('0000')).action;
    let found: string | undefined;
    for (let n = 0; n < 10_000 && !found; n++) {
      const pin = String(n).padStart(4, '0');
      if (hexes.has(actionDigest({ ...action, object: secret(pin) }).slice('sha256:'.length))) found = pin;
    }
    assert.equal(found, undefined, `the PIN fell to a brute force: ${found}`);
    assert.match(served, /^hmac-sha256:[0-9a-f]{64}$/);
    assert.equal(one.body.actionDigest, served, 'the same approval shows the same digest everywhere');
  });

  test('attacker: the decision API answer carries no invertible digest and no effects', async () => {
    const r = await post<Record<string, unknown> & { actionDigest?: string; approval?: { actionDigest: string } }>(
      '/v1/decide',
      {
        verb: 'update',
        target: { group: '', resource: 'secrets', namespace: 'shop', name: 'door' },
        object: secret('7777'),
        intent: 'rotate the door PIN',
      },
      TOKENS.releaseAgent,
    );
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.effects, undefined);
    const action = decodeAdmissionReview(secretReview('7777')).action;
    const plain = actionDigest({
      ...action,
      subject: { username: SA('release'), groups: [] },
      intent: { summary: 'rotate the door PIN' },
    });
    assert.ok(!r.text.includes(plain.slice('sha256:'.length)), 'no served field is the plain digest of the Secret');
    for (const d of [r.body.actionDigest, r.body.approval?.actionDigest]) if (d) assert.match(d, /^hmac-sha256:/);
  });
});

describe('item 8: dry runs and questions consume nothing', () => {
  test('attacker: a dry-run admission and a /v1/decide question leave the approval for the real write', async () => {
    const object = deploymentObject('api', 4, intent('roll out v2'));
    const review = (dryRun = false) =>
      admissionReview({
        username: SA('release'),
        resource: 'deployments',
        namespace: 'shop',
        name: 'api',
        object,
        oldObject: deploymentObject('api', 2),
        dryRun,
      });
    const pending = await admit(review());
    const id = pending.body.response.auditAnnotations.approval as string;
    assert.ok(id);
    assert.equal(
      (await post(`/v1/approvals/${id}/approve`, { reason: 'release 2 is tested' }, TOKENS.bob)).status,
      200,
    );

    const dry = await admit(review(true));
    assert.equal(dry.body.response.allowed, true, JSON.stringify(dry.body));
    assert.equal(
      (await get<Approval>(`/v1/approvals/${id}`, TOKENS.root)).body.usesLeft,
      1,
      'the dry run used nothing',
    );

    const question = await post<{ outcome: string; reasons: { rule: string; message: string }[] }>(
      '/v1/decide',
      {
        verb: 'update',
        target: { group: 'apps', resource: 'deployments', namespace: 'shop', name: 'api' },
        object,
        oldObject: deploymentObject('api', 2),
        intent: { summary: 'roll out v2' },
      },
      TOKENS.releaseAgent,
    );
    assert.equal(question.body.outcome, 'allow', question.text);
    assert.ok(
      question.body.reasons.some(
        (r) => r.rule === 'approval/used' && r.message.includes(`would be allowed by approval ${id}`),
      ),
    );
    assert.equal(
      (await get<Approval>(`/v1/approvals/${id}`, TOKENS.root)).body.usesLeft,
      1,
      'the question used nothing',
    );

    assert.equal((await admit(review())).body.response.allowed, true, 'the real write still finds its approval');
    assert.equal((await get<Approval>(`/v1/approvals/${id}`, TOKENS.root)).body.usesLeft, 0);
    assert.equal((await admit(review())).body.response.allowed, false, 'and only once');
  });
});

describe('item 9: the approval binds the intent and Tether annotations the approver saw', () => {
  const review = (annotations: Record<string, string>) =>
    admissionReview({
      username: SA('release'),
      resource: 'deployments',
      namespace: 'shop',
      name: 'config',
      object: deploymentObject('config', 3, annotations),
      oldObject: deploymentObject('config', 2),
    });

  test('attacker: a request whose intent says something else does not use the approval', async () => {
    const shown = intent('rotate config for release 1.2');
    const pending = await admit(review(shown));
    const id = pending.body.response.auditAnnotations.approval as string;
    assert.equal(
      (await post(`/v1/approvals/${id}/approve`, { reason: 'release 1.2 needs it' }, TOKENS.bob)).status,
      200,
    );

    const other = await admit(review({ ...intent('scale down the competition'), 'tether.dev/approval': id }));
    assert.equal(other.body.response.allowed, false, 'another intent is another request');
    assert.match(other.body.response.status?.message ?? '', /approves a different action/);
    const noted = await admit(review({ ...shown, 'tether.dev/ticket': 'CHG-666', 'tether.dev/approval': id }));
    assert.equal(noted.body.response.allowed, false, 'another tether.dev annotation is another request');

    const same = await admit(review({ ...shown, 'tether.dev/approval': id }));
    assert.equal(
      same.body.response.allowed,
      true,
      'the request the approver saw passes, carrying the approval annotation',
    );
  });
});
