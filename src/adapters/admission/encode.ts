// Decision → AdmissionReview response. Translation only.
import type { Decision } from '../../engine/decision.ts';

export interface AdmissionOutcome {
  readonly decision: Decision;
  readonly ledgerIndex?: number;
  readonly approvalId?: string;
}

const MAX_MESSAGE = 4000;

/** What a kubectl user reads: the reasons, each with its rule id, and how to proceed. */
export function admissionMessage(o: AdmissionOutcome): string {
  const d = o.decision;
  const head =
    d.outcome === 'pending'
      ? `Tether: a human must approve this first (approval ${o.approvalId ?? '?'}). `
      : d.outcome === 'deny'
        ? 'Tether refused: '
        : '';
  const body = d.reasons.map((r) => `[${r.rule}] ${r.message}`).join(' ');
  const tail =
    d.outcome === 'pending'
      ? ` Once approved, retry the same change with annotation tether.dev/approval=${o.approvalId ?? '<id>'} (or retry it unchanged).`
      : '';
  const text = `${head}${body}${tail}`;
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text;
}

export function encodeAdmissionResponse(uid: string, o: AdmissionOutcome): Record<string, unknown> {
  const d = o.decision;
  const allowed = d.outcome === 'allow';
  const auditAnnotations: Record<string, string> = { decision: d.outcome, 'policy-version': d.policyVersion };
  if (o.ledgerIndex !== undefined) auditAnnotations['ledger-index'] = String(o.ledgerIndex);
  if (d.governed && d.agent) auditAnnotations.agent = d.agent.name;
  if (d.reasons.length) auditAnnotations.rules = d.reasons.map((r) => r.rule).join(',');
  if (o.approvalId) auditAnnotations.approval = o.approvalId;
  const response: Record<string, unknown> = { uid, allowed, auditAnnotations };
  if (!allowed) response.status = { code: 403, reason: 'Forbidden', message: admissionMessage(o) };
  if (d.warnings.length) response.warnings = d.warnings.map((w) => `tether [${w.rule}]: ${w.message}`.slice(0, 512));
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}
