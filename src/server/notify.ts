// Notifications to configured webhooks: JSON, or Slack-compatible ({ text }). Best effort:
// a slow or failing receiver never delays a decision.
import type { ResolvedConfig } from './config.ts';

export type NotificationEvent =
  | 'approval.pending'
  | 'breaker.trip'
  | 'agent.unregistered'
  | 'expansion.pending'
  | 'audit.undecided'
  | 'drift.found'
  | 'owner.inactive'
  | 'owner.restored'
  | 'owner.attestation-due';

export interface Notice {
  readonly event: NotificationEvent;
  readonly text: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

export class Notifier {
  readonly #targets: ResolvedConfig['notifications'];
  readonly #onError: (e: Error, url: string) => void;
  readonly #inflight = new Set<Promise<void>>();

  constructor(targets: ResolvedConfig['notifications'], onError: (e: Error, url: string) => void) {
    this.#targets = targets;
    this.#onError = onError;
  }

  send(n: Notice): void {
    for (const t of this.#targets) {
      if (t.events && !t.events.includes(n.event)) continue;
      const body =
        t.format === 'slack'
          ? { text: `:rotating_light: *Tether* ${n.text}` }
          : { source: 'tether', event: n.event, text: n.text, detail: n.detail, time: new Date().toISOString() };
      const p = fetch(t.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
      })
        .then((r) => {
          if (!r.ok) throw new Error(`HTTP ${r.status}`);
        })
        // Webhook URLs carry their credential in the path (Slack): logs name the host only.
        .catch((e: Error) => this.#onError(e, new URL(t.url).origin))
        .finally(() => this.#inflight.delete(p));
      this.#inflight.add(p);
    }
  }

  /** Waits for notifications in flight (shutdown, tests). */
  async flush(): Promise<void> {
    await Promise.all([...this.#inflight]);
  }
}
