// The three value sets the chart is tested with (lint, template, server-side apply, e2e).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { tempDir } from '../store/backends.ts';

/** One replica may keep its ledger and digest keys in its data volume. */
const OWN_KEYS = { ledger: { signingKey: { existingSecret: '' } }, digestKey: { existingSecret: '' } } as const;

export const VALUE_SETS = {
  /** One replica on SQLite, the chart's own CA; its keys in its own volume. */
  sqlite: {
    store: { type: 'sqlite' },
    replicaCount: 1,
    ...OWN_KEYS,
    agents: { serviceAccountNamespaces: ['agents'], usernames: ['ci-bot@example.com'] },
  },
  /**
   * Two replicas on PostgreSQL; tokens, ledger key and a notification webhook from Secrets; ServiceMonitor;
   * OTLP; reviews served by webhook threads on their own port.
   */
  postgres: {
    webhook: { threads: 2 },
    store: { type: 'postgres', postgres: { existingSecret: 'tether-postgres', key: 'url' } },
    replicaCount: 2,
    agents: { serviceAccountNamespaces: ['agents', 'ml'], groups: ["bots'quoted"], usernamePrefixes: ['oidc:agent-'] },
    tokens: {
      existingSecret: 'tether-tokens',
      entries: [
        { key: 'alice', human: 'alice@example.com' },
        { key: 'scaler', agentUsername: 'system:serviceaccount:agents:scaler-bot' },
      ],
    },
    ledger: { signingKey: { existingSecret: 'tether-ledger-key', key: 'ledger-signing-key.pem' } },
    notifications: [
      { secretName: 'tether-slack', key: 'url', format: 'slack', events: ['approval.pending', 'breaker.trip'] },
    ],
    serviceMonitor: { enabled: true },
    otel: { endpoint: 'http://otel-collector.observability:4318' },
  },
  /** cert-manager issues the serving certificate and injects the CA bundle. */
  certManager: {
    tls: { mode: 'cert-manager' },
    store: { type: 'sqlite' },
    replicaCount: 1,
    ...OWN_KEYS,
    serviceMonitor: { enabled: true },
  },
} as const;

export type ValueSetName = keyof typeof VALUE_SETS;

/** A values file for `helm template -f`. */
export function valuesFile(values: unknown, dir = tempDir('tether-values-')): string {
  const file = join(dir, 'values.yaml');
  writeFileSync(file, stringify(values));
  return file;
}
