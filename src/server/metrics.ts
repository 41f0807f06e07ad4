import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Store } from '../store/store.ts';

/** Tether's Prometheus metrics, in one registry per server. State gauges are read from the store at scrape time, so every replica reports the shared truth. */
export function createMetrics(store: Store) {
  const registry = new Registry();
  return {
    registry,
    decisions: new Counter({
      name: 'tether_decisions_total',
      help: 'Decisions by outcome, first rule, authority class and enforcement point.',
      labelNames: ['outcome', 'rule', 'class', 'source'] as const,
      registers: [registry],
    }),
    decisionSeconds: new Histogram({
      name: 'tether_decision_duration_seconds',
      help: 'Time to decide and record one action, store included.',
      labelNames: ['source'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers: [registry],
    }),
    reviewSeconds: new Histogram({
      name: 'tether_review_duration_seconds',
      help: 'Time from an approval request to a human verdict.',
      labelNames: ['verdict'] as const,
      buckets: [10, 60, 300, 900, 3600, 14400, 86400],
      registers: [registry],
    }),
    breakerOpen: new Gauge({
      name: 'tether_breaker_open',
      help: '1 while a breaker is open, 0.5 half-open, 0 closed.',
      labelNames: ['scope', 'key'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const b of await store.breakers())
          this.set({ scope: b.scope, key: b.key }, b.state === 'open' ? 1 : b.state === 'half-open' ? 0.5 : 0);
      },
    }),
    pendingApprovals: new Gauge({
      name: 'tether_pending_approvals',
      help: 'Approval requests waiting for a human.',
      registers: [registry],
      async collect() {
        this.set(await store.count('approvals', { status: 'pending' }));
      },
    }),
    storeSeconds: new Histogram({
      name: 'tether_store_duration_seconds',
      help: 'Store latency by operation.',
      labelNames: ['op'] as const,
      buckets: [0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25],
      registers: [registry],
    }),
    undecided: new Counter({
      name: 'tether_audit_undecided_total',
      help: 'Agent actions seen by audit that reached the cluster without a Tether decision.',
      registers: [registry],
    }),
    policyVersion: new Gauge({
      name: 'tether_policy_info',
      help: 'The policy version in force (label), always 1.',
      labelNames: ['version'] as const,
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

/** The same store, timing every call into the store latency histogram by operation. */
export function instrumentStore(store: Store, metrics: Metrics): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      return (...args: unknown[]) => {
        const result = value.apply(target, args);
        if (!(result instanceof Promise)) return result;
        const end = metrics.storeSeconds.startTimer({ op: prop });
        return result.finally(end);
      };
    },
  });
}
