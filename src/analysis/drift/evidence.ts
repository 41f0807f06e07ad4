// The evidence sources attribution reads besides managedFields: Tether's own ledger and the
// API server's audit events. Both are narrow interfaces so any store or log can feed them.
import type { LedgerLeaf } from '../../ledger/leaf.ts';

/** An object as the ledger and audit events name it (REST resource, not kind). */
export interface EvidenceTarget {
  readonly group: string;
  readonly resource: string;
  readonly namespace?: string;
  readonly name: string;
}

/**
 * Tether's ledger, read side: every leaf whose target is this object or one of its subresources
 * (a scale decision targets deployments/scale), of any kind; attribution picks what it needs.
 */
export interface LedgerEvidence {
  decisionsFor(target: EvidenceTarget): Promise<readonly LedgerLeaf[]>;
}

/** audit.k8s.io/v1 Event, the fields attribution reads (the API server sends more). */
export interface AuditEvent {
  readonly kind?: 'Event';
  readonly apiVersion?: string;
  readonly level: string;
  readonly auditID: string;
  readonly stage: string;
  readonly requestURI: string;
  readonly verb: string;
  readonly user: {
    readonly username?: string;
    readonly uid?: string;
    readonly groups?: readonly string[];
    readonly extra?: Readonly<Record<string, readonly string[]>>;
  };
  readonly impersonatedUser?: { readonly username?: string; readonly groups?: readonly string[] };
  readonly sourceIPs?: readonly string[];
  readonly userAgent?: string;
  readonly objectRef?: {
    readonly resource?: string;
    readonly namespace?: string;
    readonly name?: string;
    readonly uid?: string;
    readonly apiGroup?: string;
    readonly apiVersion?: string;
    readonly resourceVersion?: string;
    readonly subresource?: string;
  };
  readonly responseStatus?: { readonly code?: number; readonly status?: string; readonly message?: string };
  readonly requestObject?: unknown;
  readonly responseObject?: unknown;
  /** RFC 3339 with microseconds. */
  readonly requestReceivedTimestamp?: string;
  readonly stageTimestamp?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface AuditEvidence {
  eventsFor(target: EvidenceTarget): Promise<readonly AuditEvent[]>;
}

function targetKey(t: { group: string; resource: string; namespace?: string; name: string }): string {
  return `${t.group}|${t.resource}|${t.namespace ?? ''}|${t.name}`;
}

const MUTATING = new Set(['create', 'update', 'patch', 'delete', 'apply']);

/**
 * Audit evidence over events already in memory (from the audit sink, a log file or a test).
 * Keeps only completed, successful writes to named objects: that is all attribution needs.
 */
export function auditEvidenceFromEvents(events: Iterable<AuditEvent>): AuditEvidence {
  const byTarget = new Map<string, AuditEvent[]>();
  for (const e of events) {
    const ref = e.objectRef;
    if (!ref?.resource || !ref.name || !MUTATING.has(e.verb)) continue;
    if (e.stage !== 'ResponseComplete') continue;
    const code = e.responseStatus?.code;
    if (code !== undefined && (code < 200 || code >= 300)) continue;
    const key = targetKey({
      group: ref.apiGroup ?? '',
      resource: ref.resource,
      ...(ref.namespace ? { namespace: ref.namespace } : {}),
      name: ref.name,
    });
    const list = byTarget.get(key) ?? [];
    list.push(e);
    byTarget.set(key, list);
  }
  return {
    async eventsFor(target) {
      return byTarget.get(targetKey(target)) ?? [];
    },
  };
}

/**
 * Parses what the API server writes: the log backend's JSON lines (one Event a line) or the
 * webhook backend's EventList bodies. Lines that are not events are counted, not fatal.
 */
export function parseAuditLog(text: string): { events: AuditEvent[]; skipped: number } {
  const events: AuditEvent[] = [];
  let skipped = 0;
  const take = (v: unknown): void => {
    const o = v as { kind?: string; items?: unknown[]; auditID?: string };
    if (o?.kind === 'EventList' && Array.isArray(o.items)) for (const i of o.items) take(i);
    else if (o && typeof o.auditID === 'string') events.push(o as AuditEvent);
    else skipped++;
  };
  const trimmed = text.trim();
  if (trimmed.startsWith('{') && trimmed.includes('"EventList"') && !trimmed.includes('\n{')) {
    try {
      take(JSON.parse(trimmed));
      return { events, skipped };
    } catch {
      // fall through to line-by-line
    }
  }
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      take(JSON.parse(line));
    } catch {
      skipped++;
    }
  }
  return { events, skipped };
}
