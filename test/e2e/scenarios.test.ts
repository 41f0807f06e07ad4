// End-to-end: kubectl, as humans and agents, against a real kube-apiserver that calls Tether.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { mcpServerBinary, startGateway } from './gateway-process.ts';
import { harnessBinary } from './harness.ts';
import {
  GATEWAY_AGENT_TOKEN,
  HUMAN_TOKENS,
  RELEASE_AGENT_TOKEN,
  SCALER_AGENT_TOKEN,
  type TetherEnv,
  agentsYaml,
  startTetherEnv,
} from './tether-env.ts';

const missing = harnessBinary()
  ? undefined
  : '*** END-TO-END SCENARIOS SKIPPED: the kube-apiserver harness is not built (needs Go; run scripts/build-harness.sh) ***';
if (missing) console.warn(`\n${missing}\n`);

/** A POST to a webhook from someone who is not the API server: no client certificate. */
async function fetchWithoutClientCert(url: string, caFile: string): Promise<number> {
  const { https } = await import('../support/https.ts');
  const { readFileSync } = await import('node:fs');
  return (await https(url, { ca: readFileSync(caFile, 'utf8'), body: {} })).status;
}

const intentPatch = (replicas: number, summary: string, extra: Record<string, string> = {}) =>
  JSON.stringify({
    metadata: { annotations: { 'tether.dev/intent': JSON.stringify({ summary }), ...extra } },
    spec: { replicas },
  });

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Entry {
  index: number;
  leaf: {
    kind: string;
    agent?: string;
    decision?: string;
    verb?: string;
    auditId?: string;
    rules?: string[];
    target?: { resource: string; name?: string };
    detail?: Record<string, unknown>;
  };
}

describe('end to end with a real kube-apiserver', { skip: missing, timeout: 600_000 }, () => {
  let env: TetherEnv;

  before(async () => {
    env = await startTetherEnv();
  });
  after(async () => {
    await env?.close();
  });

  const ledger = (query: string) => env.api<Entry[]>(`/v1/ledger?${query}&limit=1000`);

  test("1. an advisory agent is refused with Tether's message; the admin's identical command never reaches Tether", async () => {
    const before = (await ledger('')).length;
    const r = await env.kubectl('triage', ['scale', 'deployment/web', '-n', 'shop', '--replicas=3']);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /admission webhook "agents\.tether\.dev" denied the request: Tether refused: .*\[authority\/advisory-proposal\] triage-bot is advisory/,
    );
    const afterAgent = (await ledger('')).length;
    assert.ok(afterAgent > before, 'the refusal is in the ledger');
    const proposals = await env.api<{ agent: string }[]>('/v1/proposals?agent=triage-bot');
    assert.ok(proposals.length >= 1, 'and recorded as a proposal');

    const forged = await fetchWithoutClientCert(`${env.url}/admission`, env.caFile);
    assert.equal(forged, 401, 'only the API server, with its client certificate, may post reviews');
    const admin = await env.kubectl('admin', ['scale', 'deployment/web', '-n', 'shop', '--replicas=3']);
    assert.equal(admin.code, 0, admin.stderr);
    const decisions = (await ledger('kind=decision')).filter(
      (e) => e.leaf.target?.name === 'web' && e.leaf.decision === 'allow' && !e.leaf.agent,
    );
    assert.equal(decisions.length, 0, 'matchConditions kept the admin away from Tether');
  });

  test('2. an autonomous agent works inside its boundary, is refused past it, trips its breaker, and works again after its owner resets it', async () => {
    const patch = (replicas: number) =>
      env.kubectl('scaler', [
        'patch',
        'deployment/web',
        '-n',
        'shop',
        '--type=merge',
        '-p',
        intentPatch(replicas, `scale to ${replicas} for the evening peak`),
      ]);
    // kubectl scale cannot carry an annotation: the agent declares its intent first.
    const noWhy = await env.kubectl('scaler', ['scale', 'deployment/web', '-n', 'shop', '--replicas=4']);
    assert.match(noWhy.stderr, /\[intent\/missing\]/);
    await env.api('/v1/intents', SCALER_AGENT_TOKEN, {
      intent: { summary: 'evening peak', trigger: 'alert:HighLatency' },
      ttlSeconds: 300,
    });
    const scaled = await env.kubectl('scaler', ['scale', 'deployment/web', '-n', 'shop', '--replicas=4']);
    assert.equal(scaled.code, 0, scaled.stderr);
    assert.equal((await patch(5)).code, 0);
    const tooMany = await patch(50);
    assert.match(tooMany.stderr, /\[boundary\/condition\] .*at most 10 replicas/);
    assert.notEqual((await patch(60)).code, 0);
    const open = await patch(6);
    assert.match(open.stderr, /\[breaker\/open\] scaler-bot's circuit breaker is open/);

    const byOther = await env.tether(['breakers', 'reset', 'scaler-bot', '--reason', 'not mine'], HUMAN_TOKENS.bob);
    assert.notEqual(byOther.code, 0);
    assert.match(byOther.stderr, /403/);
    const reset = await env.tether(
      ['breakers', 'reset', 'scaler-bot', '--reason', 'condition tightened in the agent prompt'],
      HUMAN_TOKENS.alice,
    );
    assert.equal(reset.code, 0, reset.stderr);
    assert.match(reset.stdout, /half-open/);
    assert.equal((await patch(6)).code, 0, 'works again');
    assert.equal((await patch(7)).code, 0);
    const budget = await patch(8);
    assert.match(budget.stderr, /\[budget\/mutations\] scaler-bot has used 4 of 4 mutations allowed per 1h/);
  });

  test('3. a supervised change is pending until a human approves; the retry carrying the approval passes; the agent cannot approve itself', async () => {
    const change = (extra: Record<string, string> = {}) =>
      env.kubectl('release', [
        'patch',
        'deployment/api',
        '-n',
        'shop',
        '--type=merge',
        '-p',
        intentPatch(2, 'roll out v2 with two replicas', extra),
      ]);
    const pending = await change();
    assert.notEqual(pending.code, 0);
    const id = /approval ([A-Za-z0-9_-]+)\)/.exec(pending.stderr)?.[1];
    assert.ok(id, pending.stderr);
    const list = await env.tether(['approvals', 'list', '-o', 'json'], HUMAN_TOKENS.bob);
    assert.ok((JSON.parse(list.stdout) as { id: string }[]).some((a) => a.id === id));

    const self = await env.tether(['approvals', 'approve', id, '--reason', 'I am sure'], RELEASE_AGENT_TOKEN);
    assert.notEqual(self.code, 0);
    assert.match(self.stderr, /403 only a human may do this/);
    const approve = await env.tether(
      ['approvals', 'approve', id, '--reason', 'change ticket CHG-1234'],
      HUMAN_TOKENS.bob,
    );
    assert.equal(approve.code, 0, approve.stderr);

    const retry = await change({ 'tether.dev/approval': id });
    assert.equal(retry.code, 0, retry.stderr);
    const replicas = await env.kubectl('admin', [
      'get',
      'deployment/api',
      '-n',
      'shop',
      '-o',
      'jsonpath={.spec.replicas}',
    ]);
    assert.equal(replicas.stdout, '2');
  });

  test("4. an agent's read of a Secret is refused by the authorization webhook; audit events line up with the ledger by index and auditID", async () => {
    const r = await env.kubectl('triage', ['get', 'secret', 'db-password', '-n', 'shop']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /forbidden.*tether ledger #\d+: \[boundary\/rule\] triage-bot may not get secrets/i);
    const index = Number(/tether ledger #(\d+)/.exec(r.stderr)?.[1]);
    const audited = await waitFor('the audit event of the refused read', async () =>
      (await ledger('kind=audit&agent=triage-bot')).find((e) => e.leaf.detail?.decisionIndex === index),
    );
    assert.equal(audited.leaf.verb, 'get');
    assert.ok(audited.leaf.auditId);
    const scaled = await waitFor('audit of an admitted change', async () =>
      (await ledger('kind=audit&agent=scaler-bot')).find((e) => typeof e.leaf.detail?.decisionIndex === 'number'),
    );
    const [decision] = await env.api<Entry[]>(`/v1/ledger?from=${scaled.leaf.detail?.decisionIndex}&limit=1`);
    assert.equal(decision?.leaf.agent, 'scaler-bot');
    const all = JSON.stringify(await ledger(''));
    assert.doesNotMatch(all, /hunter2/, 'no Secret data in the ledger');
  });

  test('5. an identity that matches the agent selector but has no Agent is refused as unregistered', async () => {
    const r = await env.kubectl('rogue', ['scale', 'deployment/web', '-n', 'shop', '--replicas=2']);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /\[accountability\/unregistered-agent\] system:serviceaccount:agents:rogue-bot counts as an agent/,
    );
    const read = await env.kubectl('rogue', ['get', 'deployments', '-n', 'shop']);
    assert.notEqual(read.code, 0, 'its reads too');
  });

  test('6. widening an Agent with kubectl apply stays pending until approved; narrowing applies at once', async () => {
    const inPayments = () =>
      env.kubectl('scaler', [
        'patch',
        'deployment/ledger',
        '-n',
        'payments',
        '--type=merge',
        '-p',
        intentPatch(1, 'reconcile'),
      ]);
    await env.kubectl('admin', ['apply', '-f', '-'], agentsYaml(['shop', 'payments']));
    const pending = await waitFor('the expansion request', async () =>
      (await env.api<{ id: string; agent: string; summary: string }[]>('/v1/expansions?status=pending')).find(
        (x) => x.agent === 'scaler-bot',
      ),
    );
    assert.match(pending.summary, /new namespace payments/);
    const status = async () =>
      (
        await env.kubectl('admin', [
          'get',
          'agent',
          'scaler-bot',
          '-o',
          'jsonpath={.status.enforced} {.status.pendingExpansion.id}',
        ])
      ).stdout;
    await waitFor(
      'the Agent status to show the pending widening',
      async () => (await status()) === `false ${pending.id}`,
    );
    // Budget: scenario 2 spent scaler's mutations, so look at the namespace rule alone.
    assert.match((await inPayments()).stderr, /boundary\/namespace/);
    const approve = await env.tether(
      ['expansions', 'approve', pending.id, '--reason', 'payments on-call asked for it'],
      HUMAN_TOKENS.root,
    );
    assert.equal(approve.code, 0, approve.stderr);
    await waitFor(
      'the wider boundary to be enforced',
      async () => !/boundary\/namespace/.test((await inPayments()).stderr),
    );
    await waitFor('the Agent status to show it enforced', async () => (await status()).trim() === 'true');
    await env.kubectl('admin', ['apply', '-f', '-'], agentsYaml(['shop']));
    await waitFor('the narrower boundary to be enforced at once', async () =>
      /boundary\/namespace/.test((await inPayments()).stderr),
    );
  });

  test('7. with Tether stopped, the admin and controllers are unaffected while agents are refused', async () => {
    await env.stopTether();
    try {
      const admin = await env.kubectl('admin', ['scale', 'deployment/web', '-n', 'shop', '--replicas=1']);
      assert.equal(admin.code, 0, admin.stderr);
      const human = await env.kubectl('alice', ['auth', 'can-i', 'list', 'pods', '-n', 'shop']);
      assert.match(human.stdout + human.stderr, /no|yes/, 'a human is answered by RBAC, not blocked');
      const agentWrite = await env.kubectl('scaler', [
        'patch',
        'deployment/web',
        '-n',
        'shop',
        '--type=merge',
        '-p',
        intentPatch(2, 'x'),
      ]);
      assert.notEqual(agentWrite.code, 0);
      // Whichever webhook the API server asks first (authorization, then admission) fails closed.
      assert.match(
        agentWrite.stderr,
        /failed calling webhook "agents\.tether\.dev"|\/authorize\?timeout=3s.*connection refused/,
      );
      const agentRead = await env.kubectl('scaler', ['get', 'deployments', '-n', 'shop']);
      assert.notEqual(agentRead.code, 0, 'reads fail closed for agents too');
    } finally {
      await env.startTether();
    }
  });

  test('8. an agent → Tether gateway → kubernetes-mcp-server → this API server → Tether admission: both decisions in the ledger under one chain', {
    skip: mcpServerBinary() ? undefined : 'kubernetes-mcp-server is not installed (npm ci installs it)',
  }, async () => {
    const gateway = await startGateway(env);
    const client = new Client({ name: 'ops-bot', version: '1.0.0' });
    try {
      await client.connect(
        new StreamableHTTPClientTransport(gateway.url, {
          requestInit: { headers: { authorization: `Bearer ${GATEWAY_AGENT_TOKEN}` } },
        }),
      );
      const manifest =
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shop-settings\n  namespace: shop\ndata:\n  mode: fast\n';
      const r = (await client.callTool({
        name: 'resources_create_or_update',
        arguments: { resource: manifest, intent: 'switch the shop to fast mode for the sale' },
      })) as {
        isError?: boolean;
        content: { text?: string }[];
      };
      assert.ok(!r.isError, `${r.content.map((c) => c.text).join('\n')}\n${gateway.log()}`);
      const annotation = await env.kubectl('admin', [
        'get',
        'configmap',
        'shop-settings',
        '-n',
        'shop',
        '-o',
        'jsonpath={.metadata.annotations.tether\\.dev/chain}',
      ]);
      const chain = JSON.parse(annotation.stdout) as { id: string; depth: number; path: string[] };
      assert.deepEqual([chain.depth, chain.path], [1, ['ops-bot']]);
      const decisions = await ledger('kind=decision');
      const atGateway = decisions.find(
        (e) =>
          e.leaf.agent === 'ops-bot' &&
          (e.leaf as { source?: string }).source === 'mcp' &&
          (e.leaf as { chain?: { id: string } }).chain?.id === chain.id,
      );
      const atAdmission = decisions.find(
        (e) =>
          e.leaf.agent === 'k8s-mcp' &&
          (e.leaf as { source?: string }).source === 'admission' &&
          (e.leaf as { chain?: { id: string } }).chain?.id === chain.id,
      );
      assert.equal(atGateway?.leaf.decision, 'allow', 'the gateway decided the tool call');
      assert.equal(
        atAdmission?.leaf.decision,
        'allow',
        'the admission webhook decided the write, under the same chain',
      );
      assert.equal(
        (atAdmission?.leaf as { intent?: { summary: string } } | undefined)?.intent?.summary,
        'switch the shop to fast mode for the sale',
      );
    } finally {
      await client.close().catch(() => undefined);
      await gateway.stop();
    }
  });

  test('the ledger verifies at the end of the run', async () => {
    const r = await env.tether(['ledger', 'verify', '--store', env.storeUrl, '--data-dir', env.dataDir]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^ok: /);
  });
});
