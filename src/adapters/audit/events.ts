// audit.k8s.io/v1 EventList → the facts Tether records. Translation only.
import type { Action, Target } from '../../engine/action.ts';
import { DecodeError, optionalString, requireObject, requireString, stringArray } from '../shared/decode-error.ts';

export interface AuditFact {
  readonly auditId: string;
  readonly stage: string;
  readonly action: Action;
  readonly code?: number;
  /** The ledger entry of Tether's admission or authorization decision, when the API server passed it on. */
  readonly ledgerIndex?: number;
  readonly decidedByTether: boolean;
  readonly responseObject?: unknown;
  readonly time?: string;
}

const LEDGER_ANNOTATION = /\/ledger-index$/;
const REASON_INDEX = /tether ledger #(\d+)/;

/** RFC 3339, as the API server writes it; anything else refuses the whole list before a word of it is recorded. */
function timestamp(v: unknown, path: string): string | undefined {
  const t = optionalString(v, path);
  if (t !== undefined && !Number.isFinite(Date.parse(t)))
    throw new DecodeError(path, `must be an RFC 3339 time, got ${JSON.stringify(t)}`);
  return t;
}

/** Every item is decoded before anything is recorded: a list is taken whole or refused whole. */
export function decodeAuditEventList(body: unknown): AuditFact[] {
  const list = requireObject(body, 'EventList');
  if (list.apiVersion !== 'audit.k8s.io/v1')
    throw new DecodeError('apiVersion', `must be audit.k8s.io/v1, got ${JSON.stringify(list.apiVersion)}`);
  if (list.kind !== 'EventList') throw new DecodeError('kind', `must be EventList, got ${JSON.stringify(list.kind)}`);
  if (!Array.isArray(list.items)) throw new DecodeError('items', 'must be an array');
  const out: AuditFact[] = [];
  list.items.forEach((raw, i) => {
    const at = `items[${i}]`;
    const ev = requireObject(raw, at);
    const ref = ev.objectRef === undefined ? undefined : requireObject(ev.objectRef, `${at}.objectRef`);
    if (!ref) return; // non-resource requests (/healthz, /version) carry no object
    const user = requireObject(ev.user, `${at}.user`);
    const annotations = (ev.annotations ?? {}) as Record<string, string>;
    let ledgerIndex: number | undefined;
    for (const [k, v] of Object.entries(annotations)) {
      if (LEDGER_ANNOTATION.test(k)) ledgerIndex = Number(v);
      else if (k === 'authorization.k8s.io/reason') {
        const m = REASON_INDEX.exec(v);
        if (m) ledgerIndex = Number(m[1]);
      }
    }
    const target: Target = {
      group: optionalString(ref.apiGroup, `${at}.objectRef.apiGroup`) ?? '',
      version: optionalString(ref.apiVersion, `${at}.objectRef.apiVersion`) ?? '',
      resource: requireString(ref.resource, `${at}.objectRef.resource`),
      subresource: optionalString(ref.subresource, `${at}.objectRef.subresource`) || undefined,
      namespace: optionalString(ref.namespace, `${at}.objectRef.namespace`) || undefined,
      name: optionalString(ref.name, `${at}.objectRef.name`) || undefined,
    };
    const status = ev.responseStatus as { code?: number } | undefined;
    out.push({
      auditId: requireString(ev.auditID, `${at}.auditID`),
      stage: requireString(ev.stage, `${at}.stage`),
      code: typeof status?.code === 'number' ? status.code : undefined,
      ledgerIndex: Number.isFinite(ledgerIndex) ? ledgerIndex : undefined,
      decidedByTether: ledgerIndex !== undefined,
      responseObject: ev.responseObject,
      time: timestamp(ev.stageTimestamp, `${at}.stageTimestamp`),
      action: {
        source: 'audit',
        subject: {
          username: requireString(user.username, `${at}.user.username`),
          groups: stringArray(user.groups, `${at}.user.groups`),
          uid: optionalString(user.uid, `${at}.user.uid`),
        },
        verb: requireString(ev.verb, `${at}.verb`),
        target,
        requestId: requireString(ev.auditID, `${at}.auditID`),
      },
    });
  });
  return out;
}
