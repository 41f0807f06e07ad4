// What an operator watches on the gateway: sessions held and refused at the cap, idle ones
// reaped, stdio upstream processes running and refused at their cap, token exchanges, and where a
// call's time goes (the gateway's own, the upstream's). Registered in the registry
// the composition gives (`tether serve`'s /metrics), or in one of the gateway's own.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface GatewayCounts {
  readonly sessions: number;
  readonly upstreamProcesses: number;
}

export function createGatewayMetrics(counts: () => GatewayCounts, registry = new Registry()) {
  return {
    registry,
    sessions: new Gauge({
      name: 'tether_gateway_sessions',
      help: 'MCP sessions the gateway holds.',
      registers: [registry],
      collect() {
        this.set(counts().sessions);
      },
    }),
    upstreamProcesses: new Gauge({
      name: 'tether_gateway_upstream_processes',
      help: 'stdio upstream MCP server processes running.',
      registers: [registry],
      collect() {
        this.set(counts().upstreamProcesses);
      },
    }),
    refused: new Counter({
      name: 'tether_gateway_refused_total',
      help: 'Sessions refused because a cap was reached (sessions or upstream processes).',
      labelNames: ['cap'] as const,
      registers: [registry],
    }),
    reaped: new Counter({
      name: 'tether_gateway_sessions_reaped_total',
      help: 'Idle sessions closed by the gateway.',
      registers: [registry],
    }),
    tokenExchanges: new Counter({
      name: 'tether_gateway_token_exchanges_total',
      help: 'RFC 8693 token exchanges for upstreams: issued, or refused (the upstream then stays unreachable).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    governanceSeconds: new Histogram({
      name: 'tether_gateway_governance_seconds',
      help: 'Time from a tools/call arriving to it going upstream: translation and the decision durably recorded.',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers: [registry],
    }),
    // Beside the gateway's own time: a slow call is then the gateway's or the tool's, per server.
    upstreamSeconds: new Histogram({
      name: 'tether_gateway_upstream_seconds',
      help: 'Time from a tools/call going upstream to its answer or failure (for a task: until it is created), by server.',
      labelNames: ['server'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5, 10, 60],
      registers: [registry],
    }),
  };
}
export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;

/** Slots for stdio upstream processes, shared by every session of one gateway. */
export class ProcessBudget {
  readonly limit: number;
  #used = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get used(): number {
    return this.#used;
  }

  get free(): number {
    return this.limit - this.#used;
  }

  tryAcquire(): boolean {
    if (this.#used >= this.limit) return false;
    this.#used++;
    return true;
  }

  release(): void {
    this.#used = Math.max(0, this.#used - 1);
  }
}
