// Decision spans (src/common/tracing.ts) with the real SDK and an in-memory exporter: where each span
// hangs, what it says, and that an old traceparent left on an object ties nothing to a finished trace.
// The export path over OTLP is covered end to end in test/e2e/tracing.test.ts.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import Fastify from 'fastify';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import {
  propagator,
  TRACEPARENT_ANNOTATION,
  traceDecision,
  traceRequests,
  traceToolCall,
  traceUpstreamCall,
} from '../../src/common/tracing.ts';
import type { Action } from '../../src/engine/action.ts';
import type { Decision } from '../../src/engine/decision.ts';
import { startTracing } from '../../src/server/tracing.ts';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
before(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(propagator);
  trace.setGlobalTracerProvider(provider);
});
after(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
});

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';
const configMap = (traceparent?: string) => ({
  metadata: { name: 'x', namespace: 'shop', annotations: traceparent ? { [TRACEPARENT_ANNOTATION]: traceparent } : {} },
});

const action = (over: Partial<Action> = {}): Action => ({
  source: 'admission',
  subject: { username: 'system:serviceaccount:agents:k8s-mcp', groups: [] },
  verb: 'update',
  target: { group: '', version: 'v1', resource: 'configmaps', namespace: 'shop', name: 'x' },
  ...over,
});

const decided = (outcome: 'allow' | 'deny') => ({
  decision: {
    outcome,
    governed: true,
    agent: { name: 'k8s-mcp', owner: 'platform@example.com', authorityClass: 'autonomous', mode: 'enforce' },
    reasons: [{ rule: 'boundary/namespace', message: 'x' }],
    effects: [],
  } as unknown as Decision,
  ledgerIndex: 7,
});

test('a decision span carries agent, owner, class, outcome, rule ids and ledger index', async () => {
  exporter.reset();
  await traceDecision(action(), async () => decided('deny'));
  const [span] = exporter.getFinishedSpans();
  assert.equal(span?.name, 'tether.decide admission');
  assert.deepEqual(
    {
      agent: span?.attributes['tether.agent'],
      owner: span?.attributes['tether.owner'],
      cls: span?.attributes['tether.authority_class'],
      outcome: span?.attributes['tether.outcome'],
      rules: span?.attributes['tether.rule_ids'],
      index: span?.attributes['tether.ledger.index'],
    },
    {
      agent: 'k8s-mcp',
      owner: 'platform@example.com',
      cls: 'autonomous',
      outcome: 'deny',
      rules: ['boundary/namespace'],
      index: 7,
    },
  );
});

test('admission continues the trace the gateway stamped on the object it writes', async () => {
  exporter.reset();
  await traceDecision(action({ verb: 'create', object: configMap(`00-${TRACE}-${SPAN}-01`) }), async () =>
    decided('allow'),
  );
  const [span] = exporter.getFinishedSpans();
  assert.equal(span?.spanContext().traceId, TRACE);
  assert.equal(span?.parentSpanContext?.spanId, SPAN);
});

test('a traceparent the write did not set (left by an earlier one) starts a trace of its own', async () => {
  exporter.reset();
  const old = `00-${TRACE}-${SPAN}-01`;
  await traceDecision(action({ object: configMap(old), oldObject: configMap(old) }), async () => decided('allow'));
  const [span] = exporter.getFinishedSpans();
  assert.notEqual(span?.spanContext().traceId, TRACE);
  assert.equal(span?.parentSpanContext, undefined);
});

test('a malformed stamped traceparent is ignored, not trusted', async () => {
  exporter.reset();
  await traceDecision(action({ verb: 'create', object: configMap(`00-${'0'.repeat(32)}-${SPAN}-01`) }), async () =>
    decided('allow'),
  );
  const [span] = exporter.getFinishedSpans();
  assert.equal(span?.parentSpanContext, undefined);
});

test('a tool call: server span from _meta, decisions and the upstream client span beneath it, its traceparent handed on', async () => {
  exporter.reset();
  let handedOn: { traceparent?: string } = {};
  await traceToolCall(
    { tool: 'pods_list', requestId: 3, meta: { traceparent: `00-${TRACE}-${SPAN}-01` } },
    async () => {
      await traceDecision(action({ source: 'mcp' }), async () => decided('allow'));
      return traceUpstreamCall('kubernetes', 'pods_list', async (tp) => {
        handedOn = tp;
        return { content: [] };
      });
    },
  );
  const spans = exporter.getFinishedSpans();
  const server = spans.find((s) => s.name === 'tools/call pods_list' && s.kind === 1);
  const client = spans.find((s) => s.name === 'tools/call pods_list' && s.kind === 2);
  const decision = spans.find((s) => s.name === 'tether.decide mcp');
  assert.equal(server?.parentSpanContext?.spanId, SPAN);
  assert.equal(server?.attributes['mcp.method.name'], 'tools/call');
  assert.equal(server?.attributes['gen_ai.tool.name'], 'pods_list');
  assert.equal(decision?.parentSpanContext?.spanId, server?.spanContext().spanId);
  assert.equal(client?.parentSpanContext?.spanId, server?.spanContext().spanId);
  assert.equal(handedOn.traceparent, `00-${TRACE}-${client?.spanContext().spanId}-01`);
});

test('a request carrying traceparent: its decisions continue that trace (decision API, webhooks when the API server traces)', async () => {
  exporter.reset();
  const app = Fastify();
  // Routes are registered before the hook, as in src/server/server.ts.
  app.post('/v1/decide', async () =>
    traceDecision(action({ source: 'api' }), async () => decided('allow')).then(() => ({ ok: true })),
  );
  traceRequests(app);
  const r = await app.inject({
    method: 'POST',
    url: '/v1/decide',
    headers: { traceparent: `00-${TRACE}-${SPAN}-01` },
    payload: {},
  });
  assert.equal(r.statusCode, 200);
  const [span] = exporter.getFinishedSpans();
  assert.equal(span?.spanContext().traceId, TRACE);
  assert.equal(span?.parentSpanContext?.spanId, SPAN);
  await app.close();
});

test('off unless an OTLP endpoint is configured', () => {
  assert.equal(startTracing({}).enabled, false);
  assert.equal(
    startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' }).enabled,
    false,
  );
  assert.equal(
    startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_EXPORTER: 'none' }).enabled,
    false,
  );
});
