// Protocol breadth through the gateway with @modelcontextprotocol/server-everything as upstream,
// driven by the official SDK client over HTTP: tools filtered per agent, progress, resources,
// prompts, completion, logging, sampling and elicitation relayed; intent required; a supervised
// agent's call held for approval, approved through the Governor, and retried; every call in the ledger.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type CallToolResult,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  type LoggingMessageNotification,
} from '@modelcontextprotocol/sdk/types.js';
import { exportForAccessAnalysis, resolveGatewayConfig } from '../../../src/adapters/mcp-gateway/gateway.ts';
import { parseGatewayConfig as parseAccessGatewayConfig } from '../../../src/analysis/access/gateway-grants.ts';
import { startTestGateway, type TestGateway } from './support/gateway-harness.ts';
import { everythingOverStdio } from './support/upstreams.ts';

const TOKENS = { op: 'op-token-0123456789', careful: 'careful-token-0123456789', watcher: 'watcher-token-0123456789' };

const agent = (name: string, clientId: string, cls: string, verbs: string) => `
apiVersion: tether.dev/v1alpha1
kind: Agent
metadata: { name: ${name} }
spec:
  owner: { id: olivia@example.com }
  approvers: [erin@example.com]
  authorityClass: ${cls}
  identities: [{ kind: MCPClient, clientId: ${clientId} }]
  boundary:
    namespaces: [shop]
    rules: [{ apiGroups: [mcp.tether.dev], resources: [tools], verbs: [${verbs}], clusterScope: true }]
`;

const POLICY = [
  agent('op-bot', 'op', 'autonomous', 'get, call, delete'),
  agent('careful-bot', 'careful', 'supervised', 'get, call'),
  agent('watch-bot', 'watcher', 'advisory', 'get, call'),
].join('---\n');

const text = (r: unknown) => (r as CallToolResult).content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
const settle = () => new Promise((r) => setTimeout(r, 150));

describe('server-everything through the gateway', () => {
  let gw: TestGateway;

  before(async () => {
    gw = await startTestGateway({
      policy: POLICY,
      gateway: {
        auth: { keys: Object.entries(TOKENS).map(([clientId, token]) => ({ clientId, token })) },
        servers: [everythingOverStdio()],
      },
    });
  });
  after(async () => gw?.close());

  test('tools/list is per agent: an advisory agent sees the read-only tools; mutating tools offer an intent argument', async () => {
    const op = (await (await gw.connect(TOKENS.op)).listTools()).tools;
    const watcher = (await (await gw.connect(TOKENS.watcher)).listTools()).tools.map((t) => t.name);
    assert.ok(op.some((t) => t.name === 'toggle-simulated-logging'));
    assert.ok(watcher.includes('echo') && watcher.includes('trigger-long-running-operation'));
    assert.ok(!watcher.includes('toggle-simulated-logging') && !watcher.includes('gzip-file-as-resource'));
    assert.ok(watcher.length < op.length);
    const toggle = op.find((t) => t.name === 'toggle-simulated-logging');
    assert.ok(toggle && 'intent' in (toggle.inputSchema.properties ?? {}));
    assert.ok(!('intent' in (op.find((t) => t.name === 'echo')?.inputSchema.properties ?? {})));
  });

  test('an advisory agent calling a mutating tool anyway gets the engine’s actionable refusal', async () => {
    const r = await (await gw.connect(TOKENS.watcher)).callTool({
      name: 'toggle-subscriber-updates',
      arguments: { intent: 'watch updates' },
    });
    assert.equal(r.isError, true);
    assert.match(text(r), /Tether refused this call to toggle-subscriber-updates; nothing was sent to the tool\./);
    assert.match(
      text(r),
      /watch-bot is advisory: it may read and propose, not call tools\.mcp\.tether\.dev everything\/toggle-subscriber-updates\. The change was recorded as a proposal .*\[authority\/advisory-proposal\]/,
    );
  });

  test('a mutating call without intent is refused and says how to declare it; with the intent argument it goes through', async () => {
    const client = await gw.connect(TOKENS.op);
    const refused = await client.callTool({ name: 'toggle-simulated-logging', arguments: {} });
    assert.equal(refused.isError, true);
    assert.match(
      text(refused),
      /op-bot must say why before it may call tools\.mcp\.tether\.dev everything\/toggle-simulated-logging: declare intent .*MCP _meta "tether\.dev\/intent".*\[intent\/missing\]/,
    );

    const logs: LoggingMessageNotification['params'][] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params));
    await client.setLoggingLevel('debug');
    const ok = await client.callTool({
      name: 'toggle-simulated-logging',
      arguments: { intent: 'see what the server logs' },
    });
    assert.equal(ok.isError, undefined);
    assert.match(text(ok), /Started simulated, random-leveled logging/);
    for (let i = 0; i < 20 && logs.length === 0; i++) await settle();
    assert.ok(logs.length > 0, 'the upstream’s log message reached the agent');
    await client.callTool({
      name: 'toggle-simulated-logging',
      arguments: {},
      _meta: { 'tether.dev/intent': { summary: 'quiet again' } },
    });
  });

  test('the metrics split a forwarded call into the gateway’s own time and the upstream’s, per server; a refused call has no upstream part', async () => {
    const counts = async () => {
      const text = await gw.mounted.metrics.registry.metrics();
      const count = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
      return {
        governance: count(/^tether_gateway_governance_seconds_count (\S+)$/m),
        upstream: count(/^tether_gateway_upstream_seconds_count\{server="everything"\} (\S+)$/m),
      };
    };
    const before = await counts();
    const echoed = await (await gw.connect(TOKENS.op)).callTool({ name: 'echo', arguments: { message: 'timed' } });
    assert.match(text(echoed), /timed/);
    const refused = await (await gw.connect(TOKENS.watcher)).callTool({
      name: 'toggle-subscriber-updates',
      arguments: { intent: 'watch updates' },
    });
    assert.equal(refused.isError, true);
    const now = await counts();
    assert.deepEqual(
      { governance: now.governance - before.governance, upstream: now.upstream - before.upstream },
      { governance: 1, upstream: 1 },
    );
  });

  test('progress notifications pass through under the agent’s own token', async () => {
    const client = await gw.connect(TOKENS.op);
    const progress: { progress: number; total?: number }[] = [];
    const r = await client.callTool(
      { name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 3 } },
      undefined,
      { onprogress: (p) => void progress.push(p) },
    );
    assert.match(text(r), /Long running operation completed/);
    // All of them, the last one too: the gateway relays progress before the result it precedes.
    assert.deepEqual(progress, [
      { progress: 1, total: 3 },
      { progress: 2, total: 3 },
      { progress: 3, total: 3 },
    ]);
  });

  test('cancelling a call cancels it upstream and is recorded', async () => {
    const client = await gw.connect(TOKENS.op);
    const ac = new AbortController();
    setTimeout(() => ac.abort('changed my mind'), 300);
    await assert.rejects(
      client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 5, steps: 5 } }, undefined, {
        signal: ac.signal,
      }),
    );
    await settle();
    const last = (await gw.store.queryLedger({ kind: 'tool-result', agent: 'op-bot' })).at(-1);
    assert.equal(last?.leaf.detail?.status, 'cancelled');
  });

  test('resources, resource templates and prompts are relayed; reads and gets go to the server that listed them', async () => {
    const client = await gw.connect(TOKENS.watcher);
    const resources = await client.listResources();
    assert.ok(resources.resources.length > 0);
    const first = resources.resources[0];
    assert.ok(first);
    const read = await client.readResource({ uri: first.uri });
    assert.equal(read.contents[0]?.uri, first.uri);
    const templates = await client.listResourceTemplates();
    assert.ok(templates.resourceTemplates.length > 0);
    const prompts = await client.listPrompts();
    assert.ok(prompts.prompts.some((p) => p.name === 'simple-prompt'));
    const prompt = await client.getPrompt({ name: 'simple-prompt' });
    assert.ok(prompt.messages.length > 0);
    const completion = await client.complete({
      ref: { type: 'ref/prompt', name: 'completable-prompt' },
      argument: { name: 'department', value: 'Eng' },
    });
    assert.deepEqual(completion.completion.values, ['Engineering']);
    await assert.rejects(client.getPrompt({ name: 'no-such-prompt' }), /Unknown prompt: no-such-prompt/);
  });

  test('sampling and elicitation requests from the upstream reach the agent and their answers go back', async () => {
    const client = await gw.connect(TOKENS.op, { capabilities: { sampling: {}, elicitation: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => ({
      role: 'assistant',
      model: 'test-model',
      content: {
        type: 'text',
        text: `sampled: ${(req.params.messages[0]?.content as { text?: string } | undefined)?.text}`,
      },
    }));
    client.setRequestHandler(ElicitRequestSchema, async () => ({
      action: 'accept',
      content: {
        name: 'Ada',
        check: true,
        firstLine: 'It was a dark night',
        integer: 3,
        number: 1.5,
        untitledSingleSelectEnum: 'Red',
      },
    }));
    let tools = (await client.listTools()).tools.map((t) => t.name);
    for (let i = 0; i < 20 && !tools.includes('trigger-sampling-request'); i++) {
      await settle();
      tools = (await client.listTools()).tools.map((t) => t.name);
    }
    assert.ok(
      tools.includes('trigger-sampling-request'),
      'tools the upstream offers only to sampling clients appear: it was offered the agent’s capabilities',
    );
    const sampled = await client.callTool({
      name: 'trigger-sampling-request',
      arguments: { prompt: 'hello', intent: 'try sampling' },
    });
    assert.match(text(sampled), /sampled: Resource trigger-sampling-request context: hello/);
    const elicited = await client.callTool({
      name: 'trigger-elicitation-request',
      arguments: { intent: 'try elicitation' },
    });
    assert.match(text(elicited), /Ada/);
  });

  test('a supervised agent’s call is held for approval; approved through the Governor, the exact retry goes through once', async () => {
    const client = await gw.connect(TOKENS.careful);
    // A data: URI, so the tool fetches nothing from the network.
    const args = { name: 'hello.gz', data: 'data:text/plain;base64,aGVsbG8gd29ybGQ=', outputType: 'resource' };
    const call = { name: 'gzip-file-as-resource', arguments: { ...args, intent: 'compress the greeting' } };
    const pending = await client.callTool(call);
    assert.equal(pending.isError, true);
    assert.match(text(pending), /Tether is holding this call to gzip-file-as-resource for a human's approval/);
    assert.match(
      text(pending),
      /careful-bot is supervised: call tools\.mcp\.tether\.dev everything\/gzip-file-as-resource needs a human's approval/,
    );
    assert.match(text(pending), /approvers: .*erin@example\.com/);
    const approvalId = (pending._meta?.['tether.dev/approval'] as { ids: string[] } | undefined)?.ids[0];
    assert.ok(approvalId);
    assert.match(
      text(pending),
      new RegExp(`retry exactly this call .* with _meta \\{"tether.dev/approval":"${approvalId}"\\}`),
    );

    const again = await client.callTool({ ...call, _meta: { 'tether.dev/approval': approvalId } });
    assert.equal(again.isError, true, 'not approved yet');

    const approved = await gw.governor.approve(approvalId, 'erin@example.com', 'a greeting is harmless');
    assert.ok(approved.ok);
    const otherArgs = await client.callTool({
      name: call.name,
      arguments: { ...call.arguments, name: 'other.gz' },
      _meta: { 'tether.dev/approval': approvalId },
    });
    assert.equal(otherArgs.isError, true, 'the approval binds to the exact arguments');
    assert.match(text(otherArgs), new RegExp(`approval ${approvalId} does not apply: it approves a different action`));

    // The intent is part of what is approved: the approver was shown why (issue 12, item 9).
    const otherIntent = await client.callTool({
      ...call,
      arguments: { ...args, intent: 'compress it, as approved' },
      _meta: { 'tether.dev/approval': approvalId },
    });
    assert.equal(otherIntent.isError, true, 'another intent is another request');
    assert.match(
      text(otherIntent),
      new RegExp(`approval ${approvalId} does not apply: it approves a different action`),
    );
    const retried = await client.callTool({ ...call, _meta: { 'tether.dev/approval': approvalId } });
    assert.equal(retried.isError, undefined, text(retried));
    assert.equal(((retried as CallToolResult).content[0] as { type: string }).type, 'resource');

    const reused = await client.callTool({ ...call, _meta: { 'tether.dev/approval': approvalId } });
    assert.equal(reused.isError, true, 'an approval is used once');
    assert.match(text(reused), new RegExp(`approval ${approvalId} does not apply: it was already used`));
  });

  test('the gateway tells the access analysis which agent could call which tool, in its input format', async () => {
    const exported = await exportForAccessAnalysis(
      resolveGatewayConfig(
        {
          auth: { keys: [{ clientId: 'x', token: TOKENS.op }] },
          servers: [{ ...everythingOverStdio(), runAs: { callerIdentity: true } }],
        },
        'gw',
      ),
      gw.governor.policy,
      { info: () => undefined, warn: () => undefined, error: () => undefined },
    );
    const reparsed = parseAccessGatewayConfig(JSON.stringify(exported), 'export');
    assert.deepEqual(reparsed.problems, []);
    const grant = (agent: string) => exported.grants.find((g) => g.agent === agent)?.tools ?? [];
    assert.ok(grant('op-bot').includes('toggle-simulated-logging'));
    assert.ok(grant('watch-bot').includes('echo') && !grant('watch-bot').includes('toggle-simulated-logging'));
  });

  test('every call is in the ledger: the tool-result leaf links its decision and keeps intent, chain, status and latency', async () => {
    const client = await gw.connect(TOKENS.op);
    await client.callTool({
      name: 'get-sum',
      arguments: { a: 2, b: 3 },
      _meta: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    });
    await settle();
    const results = await gw.store.queryLedger({ kind: 'tool-result', agent: 'op-bot' });
    const sum = results.findLast((e) => e.leaf.tool?.name === 'get-sum');
    assert.ok(sum);
    const detail = sum.leaf.detail as { status: string; decisions: number[]; latencyMs: number; upstreamMs: number };
    assert.equal(detail.status, 'ok');
    assert.ok(detail.latencyMs >= detail.upstreamMs && detail.upstreamMs > 0);
    assert.equal(sum.leaf.chain?.id, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.match(sum.leaf.tool?.argumentsDigest ?? '', /^sha256:[0-9a-f]{64}$/);
    const [decision] = await gw.store.entries(detail.decisions[0] as number, (detail.decisions[0] as number) + 1);
    assert.equal(decision?.leaf.kind, 'decision');
    assert.equal(decision?.leaf.decision, 'allow');
    assert.deepEqual(decision?.leaf.tool, sum.leaf.tool);
    assert.equal(decision?.leaf.verb, 'get');

    const refused = results.find((e) => e.leaf.detail?.status === 'refused');
    assert.ok(refused, 'refused calls are recorded too');
    assert.deepEqual(refused.leaf.rules, ['intent/missing']);
    const withIntent = results.find((e) => e.leaf.intent?.summary === 'see what the server logs');
    assert.ok(withIntent?.leaf.intentDigest);
  });
});
