// Spans for decisions and gateway tool calls, with the OpenTelemetry API only: until the server
// installs an SDK (src/server/tracing.ts, off unless an OTLP endpoint is configured) the API's
// no-op tracer answers and nothing is recorded.
//
// Trace context continues from what Tether already carries: the `traceparent` header of any HTTP
// request (decision API, webhooks when the API server traces), MCP `_meta.traceparent` for tool
// calls, and the `tether.dev/traceparent` annotation the gateway stamps on the objects a tool
// writes, which the admission webhook reads back when the API server calls it for that write.
import {
  type Attributes,
  type Context,
  context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { FastifyInstance } from 'fastify';
import type { Action } from '../engine/action.ts';
import type { Decision } from '../engine/decision.ts';

/** The annotation that carries the gateway's outgoing span to the admission webhook. */
export const TRACEPARENT_ANNOTATION = 'tether.dev/traceparent';

// GenAI / MCP semantic-convention names (Development status, so they live in the unstable
// "incubating" entry point of @opentelemetry/semantic-conventions; copied here as plain strings).
const ATTR_MCP_METHOD_NAME = 'mcp.method.name';
const ATTR_MCP_SESSION_ID = 'mcp.session.id';
const ATTR_GEN_AI_TOOL_NAME = 'gen_ai.tool.name';
const ATTR_GEN_AI_OPERATION_NAME = 'gen_ai.operation.name';
const ATTR_JSONRPC_REQUEST_ID = 'jsonrpc.request.id';
const ATTR_ERROR_TYPE = 'error.type';

export const propagator = new W3CTraceContextPropagator();
const tracer = () => trace.getTracer('tether');

const fromCarrier = (carrier: Record<string, unknown>, parent: Context = ROOT_CONTEXT): Context =>
  propagator.extract(parent, carrier, {
    get: (c, k) => (typeof c[k] === 'string' ? (c[k] as string) : undefined),
    keys: (c) => Object.keys(c),
  });

/** `{ traceparent }` for a span, to put in headers, `_meta` or an annotation; empty when nothing is recorded. */
export function traceparentOf(span: Span): { traceparent?: string } {
  if (!span.isRecording()) return {};
  const out: Record<string, string> = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), out, { set: (c, k, v) => void (c[k] = v) });
  return out.traceparent ? { traceparent: out.traceparent } : {};
}

/** Every request runs in the context its `traceparent` header names, so the spans it makes continue that trace. */
export function traceRequests(app: FastifyInstance): void {
  app.addHook('onRequest', (req, _reply, done) => {
    if (typeof req.headers.traceparent !== 'string') return done();
    context.with(fromCarrier(req.headers as Record<string, unknown>), done);
  });
}

function annotations(o: unknown): Record<string, unknown> | undefined {
  const md = (o as { metadata?: { annotations?: unknown } } | undefined)?.metadata;
  return typeof md?.annotations === 'object' && md.annotations !== null
    ? (md.annotations as Record<string, unknown>)
    : undefined;
}

/**
 * Where a decision's span hangs: the active span (a gateway call, a request with `traceparent`), else
 * the traceparent the gateway stamped on the object — only when this write set it, so an old one
 * left on the object never ties a later, unrelated write into a finished trace.
 */
function parentFor(action: Action): Context {
  const active = context.active();
  if (trace.getSpan(active)?.spanContext()) return active;
  const stamped = annotations(action.object)?.[TRACEPARENT_ANNOTATION];
  if (typeof stamped !== 'string' || stamped === annotations(action.oldObject)?.[TRACEPARENT_ANNOTATION]) return active;
  return fromCarrier({ traceparent: stamped });
}

function decisionAttributes(action: Action, d: Decision, ledgerIndex: number | undefined): Attributes {
  const agent = d.governed && 'agent' in d && d.agent ? d.agent : undefined;
  const t = action.target;
  return {
    'tether.source': action.source,
    'tether.subject': action.subject.username,
    'tether.verb': action.verb,
    'tether.target': `${t.group ? `${t.group}/` : ''}${t.resource}${t.subresource ? `/${t.subresource}` : ''}${t.namespace ? ` ${t.namespace}` : ''}${t.name ? `/${t.name}` : ''}`,
    'tether.outcome': d.outcome,
    'tether.rule_ids': [...new Set(d.reasons.map((r) => r.rule))],
    ...(agent
      ? { 'tether.agent': agent.name, 'tether.owner': agent.owner, 'tether.authority_class': agent.authorityClass }
      : {}),
    ...(ledgerIndex === undefined ? {} : { 'tether.ledger.index': ledgerIndex }),
    ...(action.chain ? { 'tether.chain.id': action.chain.id, 'tether.chain.depth': action.chain.depth } : {}),
    ...(action.tool ? { [ATTR_GEN_AI_TOOL_NAME]: action.tool.name } : {}),
    ...(action.dryRun ? { 'tether.dry_run': true } : {}),
  };
}

type Decided = { readonly decision: Decision; readonly ledgerIndex?: number };

/** A span around one decision: agent, owner, class, outcome, rule ids, ledger index. */
export async function traceDecision<R extends Decided>(action: Action, decide: () => Promise<R>): Promise<R> {
  return tracer().startActiveSpan(
    `tether.decide ${action.source}`,
    { kind: SpanKind.INTERNAL },
    parentFor(action),
    async (span) => {
      try {
        const r = await decide();
        if (span.isRecording()) span.setAttributes(decisionAttributes(action, r.decision, r.ledgerIndex));
        return r;
      } catch (e) {
        span.recordException(e as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
        throw e;
      } finally {
        span.end();
      }
    },
  );
}

/** Decisions made several at once (a tool call's operations) get one span each, under the caller's span. */
export async function traceDecisions<R extends Decided & { readonly position: number }>(
  actions: readonly Action[],
  decide: () => Promise<R[]>,
): Promise<R[]> {
  const started = actions.map((a) =>
    tracer().startSpan(`tether.decide ${a.source}`, { kind: SpanKind.INTERNAL }, parentFor(a)),
  );
  try {
    const results = await decide();
    for (const r of results) {
      const span = started[r.position];
      if (span?.isRecording())
        span.setAttributes(decisionAttributes(actions[r.position] as Action, r.decision, r.ledgerIndex));
    }
    return results;
  } finally {
    for (const s of started) s.end();
  }
}

export interface ToolCallSpanInfo {
  readonly tool: string;
  readonly requestId?: string | number;
  readonly sessionId?: string;
  readonly meta?: Readonly<Record<string, unknown>>;
}

/** The gateway's SERVER span for an agent's tools/call, continuing the agent's `_meta.traceparent`. */
export async function traceToolCall<R>(info: ToolCallSpanInfo, call: () => Promise<R>): Promise<R> {
  const parent =
    info.meta && typeof info.meta.traceparent === 'string'
      ? fromCarrier(info.meta as Record<string, unknown>)
      : context.active();
  const attributes: Attributes = {
    [ATTR_MCP_METHOD_NAME]: 'tools/call',
    [ATTR_GEN_AI_TOOL_NAME]: info.tool,
    [ATTR_GEN_AI_OPERATION_NAME]: 'execute_tool',
    ...(info.requestId === undefined ? {} : { [ATTR_JSONRPC_REQUEST_ID]: String(info.requestId) }),
    ...(info.sessionId ? { [ATTR_MCP_SESSION_ID]: info.sessionId } : {}),
  };
  return tracer().startActiveSpan(
    `tools/call ${info.tool}`,
    { kind: SpanKind.SERVER, attributes },
    parent,
    async (span) => {
      try {
        const r = await call();
        if ((r as { isError?: boolean } | undefined)?.isError) {
          span.setAttribute(ATTR_ERROR_TYPE, 'tool_error');
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
        return r;
      } catch (e) {
        span.setAttribute(ATTR_ERROR_TYPE, (e as Error).name || 'Error');
        span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
        throw e;
      } finally {
        span.end();
      }
    },
  );
}

/**
 * The gateway's CLIENT span for the forwarded call to an upstream MCP server. `send` gets the
 * span's `{ traceparent }` (empty while tracing is off) to put in `_meta` and on written objects.
 */
export async function traceUpstreamCall<R>(
  server: string,
  tool: string,
  send: (carrier: { traceparent?: string }) => Promise<R>,
): Promise<R> {
  const attributes: Attributes = {
    [ATTR_MCP_METHOD_NAME]: 'tools/call',
    [ATTR_GEN_AI_TOOL_NAME]: tool,
    'tether.upstream': server,
  };
  return tracer().startActiveSpan(`tools/call ${tool}`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      const r = await send(traceparentOf(span));
      if ((r as { isError?: boolean } | undefined)?.isError) span.setAttribute(ATTR_ERROR_TYPE, 'tool_error');
      return r;
    } catch (e) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
      throw e;
    } finally {
      span.end();
    }
  });
}
