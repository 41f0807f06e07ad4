// OpenTelemetry export: the official SDK sends the spans src/common/tracing.ts makes over OTLP/HTTP
// (protobuf). Off unless OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set
// (OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn it off again). Metrics stay on /metrics.
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { propagator } from '../common/tracing.ts';

export interface Tracing {
  readonly enabled: boolean;
  /** Exports what is buffered and stops (shutdown). */
  shutdown(): Promise<void>;
}

let installed: { provider: TracerProvider; users: number } | undefined;

/** Starts exporting when the environment names an OTLP endpoint; one provider per process. */
export function startTracing(env: NodeJS.ProcessEnv = process.env, version = '0.0.0'): Tracing {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint || env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none')
    return { enabled: false, shutdown: async () => undefined };
  if (!installed) {
    // The exporter reads OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout) itself, as every OTel SDK does.
    const provider = new TracerProvider({
      resource: resourceFromAttributes({
        [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME || 'tether',
        [ATTR_SERVICE_VERSION]: version,
      }),
      spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter(), scheduledDelayMillis: 1000 })],
    });
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(propagator);
    trace.setGlobalTracerProvider(provider);
    installed = { provider, users: 0 };
  }
  installed.users++;
  let stopped = false;
  return {
    enabled: true,
    async shutdown() {
      if (stopped || !installed) return;
      stopped = true;
      await installed.provider.forceFlush().catch(() => undefined);
      if (--installed.users > 0) return;
      await installed.provider.shutdown().catch(() => undefined);
      trace.disable();
      context.disable();
      propagation.disable();
      installed = undefined;
    },
  };
}
