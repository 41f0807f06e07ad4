// OpenTelemetry end to end: an agent's tool call goes agent → Tether gateway → kubernetes-mcp-server →
// the real kube-apiserver → Tether's admission webhook, and both Tether processes export their spans
// over OTLP to an in-process receiver. One trace, parent to child: the agent's span, the gateway's
// tools/call server span, its decision and its client span to kubernetes-mcp-server, and the
// admission decision for the write that server made (carried through the API server by the
// tether.dev/traceparent annotation).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../support/otlp-receiver.ts';
import { mcpServerBinary, startGateway } from './gateway-process.ts';
import { harnessBinary } from './harness.ts';
import { GATEWAY_AGENT_TOKEN, type TetherEnv, startTetherEnv } from './tether-env.ts';

const skip = !harnessBinary()
  ? 'the kube-apiserver harness is not built'
  : !mcpServerBinary()
    ? 'kubernetes-mcp-server is not installed'
    : undefined;

async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 30_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve()
      .then(probe)
      .catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('traces across agent → gateway → kubernetes-mcp-server → API server → admission', { skip }, () => {
  let receiver: OtlpReceiver;
  let env: TetherEnv;
  before(async () => {
    receiver = await startOtlpReceiver();
    // tether serve (started by the environment) inherits these; the BatchSpanProcessor exports every second.
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
    process.env.OTEL_SERVICE_NAME = 'tether';
    env = await startTetherEnv();
  });
  after(async () => {
    await env?.close();
    await receiver?.close();
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  });

  test('one trace, each hop the child of the one before, with the agent, owner, class, outcome, rules and ledger index', async () => {
    const gateway = await startGateway(env, { OTEL_SERVICE_NAME: 'tether-gateway' });
    const client = new Client({ name: 'ops-bot', version: '1.0.0' });
    // The agent's own span: what its framework would send along.
    const traceId = randomBytes(16).toString('hex');
    const agentSpan = randomBytes(8).toString('hex');
    try {
      await client.connect(
        new StreamableHTTPClientTransport(gateway.url, {
          requestInit: { headers: { authorization: `Bearer ${GATEWAY_AGENT_TOKEN}` } },
        }),
      );
      const manifest =
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: traced-settings\n  namespace: shop\ndata:\n  mode: traced\n';
      const r = (await client.callTool({
        name: 'resources_create_or_update',
        arguments: { resource: manifest, intent: 'trace a tool call end to end' },
        _meta: { traceparent: `00-${traceId}-${agentSpan}-01` },
      })) as { isError?: boolean; content: { text?: string }[] };
      assert.ok(!r.isError, `${r.content.map((c) => c.text).join('\n')}\n${gateway.log()}`);
    } finally {
      await client.close().catch(() => undefined);
      // SIGTERM: the gateway flushes its spans as it shuts down.
      await gateway.stop();
    }

    const inTrace = () => receiver.spans.filter((s) => s.traceId === traceId);
    const admission = await waitFor('the admission decision span', () =>
      inTrace().find((s) => s.name === 'tether.decide admission'),
    );
    const spans = inTrace();
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const server = spans.find((s) => s.service === 'tether-gateway' && s.kind === 2) as ReceivedSpan;
    assert.ok(server, `the gateway's server span: ${JSON.stringify(spans.map((s) => [s.service, s.name, s.kind]))}`);
    assert.equal(server.name, 'tools/call resources_create_or_update');
    assert.equal(server.parentSpanId, agentSpan, 'continues the agent’s trace context from _meta');
    assert.equal(server.attributes['mcp.method.name'], 'tools/call');
    assert.equal(server.attributes['gen_ai.tool.name'], 'resources_create_or_update');

    const gatewayDecision = spans.find(
      (s) => s.service === 'tether-gateway' && s.name === 'tether.decide mcp',
    ) as ReceivedSpan;
    assert.equal(gatewayDecision?.parentSpanId, server.spanId, 'the decision is a child of the tool call');
    assert.equal(gatewayDecision.attributes['tether.agent'], 'ops-bot');
    assert.equal(gatewayDecision.attributes['tether.owner'], 'erin@example.com');
    assert.equal(gatewayDecision.attributes['tether.authority_class'], 'autonomous');
    assert.equal(gatewayDecision.attributes['tether.outcome'], 'allow');
    assert.ok(Array.isArray(gatewayDecision.attributes['tether.rule_ids']));
    assert.equal(typeof gatewayDecision.attributes['tether.ledger.index'], 'number');

    const upstream = spans.find((s) => s.service === 'tether-gateway' && s.kind === 3) as ReceivedSpan;
    assert.equal(
      upstream?.parentSpanId,
      server.spanId,
      'the call to kubernetes-mcp-server is a child of the tool call',
    );
    assert.equal(upstream.attributes['tether.upstream'], 'kubernetes');

    // kubernetes-mcp-server → API server → admission webhook: the write's decision hangs under the gateway's client span.
    assert.equal(admission.service, 'tether');
    assert.equal(
      admission.parentSpanId,
      upstream.spanId,
      'admission continues from the span that carried the call to kubernetes-mcp-server',
    );
    assert.equal(admission.attributes['tether.agent'], 'k8s-mcp');
    assert.equal(admission.attributes['tether.outcome'], 'allow');
    assert.equal(typeof admission.attributes['tether.ledger.index'], 'number');
    // The whole chain, walked from admission back to the agent.
    const chain: string[] = [];
    for (let s: ReceivedSpan | undefined = admission; s; s = byId.get(s.parentSpanId))
      chain.push(`${s.service}:${s.name}`);
    assert.deepEqual(chain, [
      'tether:tether.decide admission',
      'tether-gateway:tools/call resources_create_or_update',
      'tether-gateway:tools/call resources_create_or_update',
    ]);
    assert.equal(byId.get(byId.get(admission.parentSpanId)?.parentSpanId ?? '')?.parentSpanId, agentSpan);
  });
});
