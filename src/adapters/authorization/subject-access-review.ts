// SubjectAccessReview (authorization.k8s.io/v1) ⇄ Action/Decision. Translation only.
// Tether only ever restricts: "allowed by Tether" is answered as no opinion, so RBAC still decides.
import type { Action } from '../../engine/action.ts';
import type { Decision } from '../../engine/decision.ts';
import { DecodeError, optionalString, requireObject, requireString, stringArray } from '../shared/decode-error.ts';

/** Verbs admission sees (and decides, with budgets): the authorizer leaves them to admission. */
const ADMISSION_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

export type AuthorizationRequest =
  | { readonly kind: 'resource'; readonly action: Action }
  | { readonly kind: 'left-to-admission' | 'non-resource'; readonly username: string };

export function decodeSubjectAccessReview(body: unknown): AuthorizationRequest {
  const sar = requireObject(body, 'SubjectAccessReview');
  if (sar.apiVersion !== 'authorization.k8s.io/v1' && sar.apiVersion !== 'authorization.k8s.io/v1beta1') {
    throw new DecodeError('apiVersion', `must be authorization.k8s.io/v1, got ${JSON.stringify(sar.apiVersion)}`);
  }
  if (sar.kind !== 'SubjectAccessReview')
    throw new DecodeError('kind', `must be SubjectAccessReview, got ${JSON.stringify(sar.kind)}`);
  const spec = requireObject(sar.spec, 'spec');
  const username = requireString(spec.user, 'spec.user');
  const groups = stringArray(spec.groups ?? spec.group, 'spec.groups');
  if (spec.nonResourceAttributes !== undefined) return { kind: 'non-resource', username };
  const ra = requireObject(spec.resourceAttributes, 'spec.resourceAttributes');
  const verb = requireString(ra.verb, 'spec.resourceAttributes.verb');
  if (ADMISSION_VERBS.has(verb)) return { kind: 'left-to-admission', username };
  return {
    kind: 'resource',
    action: {
      source: 'authorization',
      subject: { username, groups, uid: optionalString(spec.uid, 'spec.uid') },
      verb,
      target: {
        group: optionalString(ra.group, 'spec.resourceAttributes.group') ?? '',
        version: optionalString(ra.version, 'spec.resourceAttributes.version') ?? '',
        resource: requireString(ra.resource, 'spec.resourceAttributes.resource'),
        subresource: optionalString(ra.subresource, 'spec.resourceAttributes.subresource') || undefined,
        namespace: optionalString(ra.namespace, 'spec.resourceAttributes.namespace') || undefined,
        name: optionalString(ra.name, 'spec.resourceAttributes.name') || undefined,
      },
    },
  };
}

/** The reason goes into the audit event (authorization.k8s.io/reason): it carries the ledger index for correlation. */
export function encodeSubjectAccessReview(
  decision: Decision | undefined,
  ledgerIndex?: number,
): Record<string, unknown> {
  const denied = decision !== undefined && decision.outcome !== 'allow';
  const status: Record<string, unknown> = { allowed: false };
  if (denied) {
    status.denied = true;
    status.reason =
      `tether${ledgerIndex !== undefined ? ` ledger #${ledgerIndex}` : ''}: ${decision.reasons.map((r) => `[${r.rule}] ${r.message}`).join(' ')}`.slice(
        0,
        2000,
      );
  } else if (decision?.governed && ledgerIndex !== undefined) {
    status.reason = `tether ledger #${ledgerIndex}: no objection`;
  }
  return { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', status };
}
