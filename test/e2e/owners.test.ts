// End-to-end: an identity provider deactivates an owner over SCIM; the real kube-apiserver then
// refuses their agent's next kubectl write (within seconds), another owner's agent keeps working,
// and reactivation restores it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { https } from '../support/https.ts';
import { harnessBinary } from './harness.ts';
import { HUMAN_TOKENS, type TetherEnv, startTetherEnv } from './tether-env.ts';

const missing = harnessBinary()
  ? undefined
  : '*** END-TO-END OWNER SCENARIO SKIPPED: the kube-apiserver harness is not built (scripts/build-harness.sh) ***';
if (missing) console.warn(`\n${missing}\n`);

const SCIM_TOKEN = 'e2e-scim-token-000000000000000000000000';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const OWNERS = [
  'alice@example.com',
  'carol@example.com',
  'dave@example.com',
  'erin@example.com',
  'platform@example.com',
];

const withIntent = (summary: string, body: Record<string, unknown>) =>
  JSON.stringify({ ...body, metadata: { annotations: { 'tether.dev/intent': JSON.stringify({ summary }) } } });

/** Polls until `probe` says yes; fails when `ms` passes first. Returns how long it took. */
async function within(ms: number, what: string, probe: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('end to end: owners from the directory', { skip: missing, timeout: 600_000 }, () => {
  let env: TetherEnv;
  const ids: Record<string, string> = {};
  const scim = async (method: string, path: string, body: unknown) => {
    const r = await https<{ id: string; active?: boolean }>(`${env.url}/scim/v2${path}`, {
      ca: readFileSync(env.caFile, 'utf8'),
      method,
      token: SCIM_TOKEN,
      raw: JSON.stringify(body),
      headers: { 'content-type': 'application/scim+json' },
    });
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
    return r.body;
  };
  const scalerWrite = (replicas: number) =>
    env.kubectl('scaler', [
      'patch',
      'deployment/web',
      '-n',
      'shop',
      '--type=merge',
      '-p',
      withIntent(`scale to ${replicas}`, { spec: { replicas } }),
    ]);
  const otherOwnersWrite = (n: number) =>
    env.kubectl(
      'mcp',
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: 'flags',
          namespace: 'shop',
          annotations: { 'tether.dev/intent': JSON.stringify({ summary: `flag ${n}` }) },
        },
        data: { n: String(n) },
      }),
    );

  before(async () => {
    env = await startTetherEnv({ scimToken: SCIM_TOKEN });
    // The identity provider's initial sync (Entra's create-user shape).
    for (const userName of OWNERS)
      ids[userName] = (
        await scim('POST', '/Users', {
          schemas: [USER],
          userName,
          externalId: `ext-${userName}`,
          active: true,
          emails: [{ primary: true, type: 'work', value: userName }],
        })
      ).id;
  });
  after(async () => {
    await env?.close();
  });

  test('deactivation stops the owner’s agent within 5 s; another owner’s agent keeps working; reactivation restores it', async () => {
    const first = await scalerWrite(2);
    assert.equal(first.code, 0, first.stderr);
    assert.equal((await otherOwnersWrite(1)).code, 0);

    assert.equal(
      (
        await scim('PATCH', `/Users/${ids['alice@example.com']}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
        })
      ).active,
      false,
    );
    let refusal = '';
    const tookMs = await within(5000, 'scaler-bot refused after its owner was deactivated', async () => {
      const r = await scalerWrite(3);
      refusal = r.stderr;
      return r.code !== 0;
    });
    assert.match(
      refusal,
      /\[accountability\/owner-inactive\] agent scaler-bot has no live owner: alice@example\.com is deactivated in the directory/,
    );
    console.log(
      `# owner deactivated → agent refused by the API server after ${tookMs} ms (first write after the SCIM PATCH)`,
    );

    const other = await otherOwnersWrite(2);
    assert.equal(other.code, 0, `another owner's agent still works: ${other.stderr}`);
    const breakers = await env.api<{ breakers: { key: string; state: string }[] }>('/v1/breakers');
    assert.ok(
      !breakers.breakers.some((b) => b.key === 'scaler-bot' && b.state !== 'closed'),
      'breakers stay as they were',
    );
    const owned = await env.api<{ leaf: { detail?: { event?: string } } }[]>('/v1/ledger?kind=owner&agent=scaler-bot');
    assert.equal(owned.at(-1)?.leaf.detail?.event, 'owner-inactive');

    await scim('PATCH', `/Users/${ids['alice@example.com']}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', value: { active: true } }],
    });
    await within(5000, 'scaler-bot works again after reactivation', async () => (await scalerWrite(4)).code === 0);
  });

  test("tether why on an object changed under approval: agent, owner, class, intent, approver, policy and the real API server's audit event, every proof verified", async () => {
    const change = (extra: Record<string, string> = {}) =>
      env.kubectl('release', [
        'patch',
        'deployment/api',
        '-n',
        'shop',
        '--type=merge',
        '-p',
        JSON.stringify({
          metadata: {
            annotations: {
              'tether.dev/intent': JSON.stringify({ summary: 'roll out v2 with two replicas' }),
              ...extra,
            },
          },
          spec: { replicas: 2 },
        }),
      ]);
    const pending = await change();
    const id = /approval ([A-Za-z0-9_-]+)\)/.exec(pending.stderr)?.[1];
    assert.ok(id, pending.stderr);
    const approve = await env.tether(
      ['approvals', 'approve', id, '--reason', 'change ticket CHG-2001'],
      HUMAN_TOKENS.bob,
    );
    assert.equal(approve.code, 0, approve.stderr);
    const retry = await change({ 'tether.dev/approval': id });
    assert.equal(retry.code, 0, retry.stderr);

    type Why = {
      changes: {
        agent: string;
        owner: string;
        authorityClass: string;
        intent?: { summary: string };
        policyVersion: string;
        approvals: { verdicts: { leaf: { actor: string } }[] }[];
        audit: unknown[];
      }[];
    };
    let why: Why | undefined;
    await within(30_000, 'the audit event of the approved change reaches the ledger', async () => {
      why = await env.api<Why>(`/v1/why?object=${encodeURIComponent('deployment/shop/api')}`);
      return (why.changes.at(-1)?.audit.length ?? 0) > 0;
    });
    const last = why?.changes.at(-1);
    assert.deepEqual(
      [last?.agent, last?.owner, last?.authorityClass, last?.intent?.summary],
      ['release-bot', 'dave@example.com', 'supervised', 'roll out v2 with two replicas'],
    );
    assert.equal(last?.approvals[0]?.verdicts[0]?.leaf.actor, 'bob@example.com');
    const cli = await env.tether(['why', 'deployment/shop/api'], HUMAN_TOKENS.alice);
    assert.equal(cli.code, 0, `every proof holds: ${cli.stdout}${cli.stderr}`);
    assert.match(cli.stdout, /update by agent release-bot \(supervised\), owner dave@example\.com/);
    assert.match(cli.stdout, /approved by bob@example\.com: change ticket CHG-2001 \[#\d+ ✓\]/);
    assert.match(cli.stdout, /audit event [0-9a-f-]{36} \(tether-and-audit\) \[#\d+ ✓\]/);
  });
});
